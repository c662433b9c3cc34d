"""The local backend's live model: one model (with its LoRA adapter and Adam state) held in memory,
rebuilt from the checkpoint whenever a request names another model or checkpoint (DESIGN §4.3:
the worker may cache the live model, but must rebuild it when its cache does not match).
"""
from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import checkpoints as ckpts
from ..errors import InvalidRequest
from ..models import ModelNotFound, load_model, load_tokenizer
from ..requests import AdamSettings


def default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def default_dtype(device: torch.device):
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


@dataclass
class Live:
    key: str  # model + lora config
    checkpoint: str | None
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer | None = None
    optimizer_run: str | None = None  # the run id whose Adam state `optimizer` holds


def model_key(model_ref: dict) -> str:
    return json.dumps({k: model_ref.get(k) for k in ("base_model", "lora_rank", "lora_alpha", "lora_target_modules")}, sort_keys=True)


def _with_lora(model, model_ref: dict, rank: int, checkpoint: str | None):
    from peft import LoraConfig, PeftModel, get_peft_model

    if checkpoint is not None:
        return PeftModel.from_pretrained(model, checkpoint, is_trainable=True)
    cfg = LoraConfig(
        r=rank,
        lora_alpha=float(model_ref.get("lora_alpha") or rank),
        target_modules=list(model_ref.get("lora_target_modules") or ["q_proj", "v_proj"]),
        lora_dropout=0.0,
        bias="none",
        task_type="CAUSAL_LM",
    )
    # LoRA A matrices are random: draw them from a generator seeded by the model key, not from the
    # process-global RNG, so the same run starts from the same adapter whatever the worker did
    # before (a rebuilt and a cached model give identical training).
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(zlib.crc32(model_key(model_ref).encode()))
        return get_peft_model(model, cfg)


def _load_full_weights(model, base_model: str, checkpoint: str) -> None:
    from safetensors.torch import load_model as load_weights

    # strict: a checkpoint of another architecture fails here, naming the missing/unexpected keys;
    # tied weights (embed_tokens = lm_head) are stored once and restored to both
    try:
        load_weights(model, str(Path(checkpoint) / "model.safetensors"), strict=True, device="cpu")
    except (RuntimeError, FileNotFoundError) as e:
        raise InvalidRequest(f"checkpoint {checkpoint} does not fit model {base_model!r} with lora_rank=0: {e}") from e


class ModelCache:
    def __init__(self, device: torch.device | None = None):
        self.device = device or default_device()
        self.dtype = default_dtype(self.device)
        self._tokenizers: dict[str, object] = {}
        self.live: Live | None = None
        self.reference: Live | None = None  # the frozen weights KL(pi_theta || pi_base) is measured against
        threads = os.environ.get("GEPA_RL_TORCH_THREADS")
        if threads:
            torch.set_num_threads(int(threads))

    def tokenizer(self, base_model: str):
        if base_model not in self._tokenizers:
            tok = load_tokenizer(base_model)
            if tok.pad_token_id is None:
                tok.pad_token = tok.eos_token
            self._tokenizers[base_model] = tok
        return self._tokenizers[base_model]

    def live_model(self, model_ref: dict, checkpoint: str | None) -> Live:
        """The cached live model if it matches (model, checkpoint); otherwise rebuilt from the checkpoint."""
        key = model_key(model_ref)
        if self.live is None or self.live.key != key or self.live.checkpoint != checkpoint:
            self.live = None
            self.live = self._build(model_ref, checkpoint)
        return self.live

    def reference_model(self, model_ref: dict, checkpoint: str | None) -> Live:
        """A frozen copy of (model, checkpoint), held beside the live model (a second copy of the
        weights in memory): the base of KL(pi_theta || pi_base) when the live model cannot give it by
        disabling its adapter (full fine-tune, or a run started from a checkpoint). Never trained."""
        key = model_key(model_ref)
        if self.reference is None or self.reference.key != key or self.reference.checkpoint != checkpoint:
            self.reference = None
            self.reference = self._build(model_ref, checkpoint)
            for p in self.reference.model.parameters():
                p.requires_grad_(False)
        return self.reference

    def drop(self) -> None:
        """Forget the live model (it may hold half-updated state) and the frozen reference copy (a
        second copy of the weights): the next request rebuilds what it needs."""
        self.live = None
        self.reference = None

    def _build(self, model_ref: dict, checkpoint: str | None) -> Live:
        base_model = model_ref["base_model"]
        rank = int(model_ref.get("lora_rank") or 0)
        if checkpoint is not None and not (Path(checkpoint) / "DONE").is_file():
            raise InvalidRequest(f"checkpoint {checkpoint} does not exist or is incomplete (no DONE marker)")
        try:
            model = load_model(base_model, dtype=self.dtype)
        except ModelNotFound:
            raise
        except OSError as e:
            raise InvalidRequest(f"cannot load model {base_model!r}: {e}") from e
        if rank > 0:
            model = _with_lora(model, model_ref, rank, checkpoint)
        elif checkpoint is not None:
            _load_full_weights(model, base_model, checkpoint)
        model.to(self.device)
        model.eval()
        return Live(key=model_key(model_ref), checkpoint=checkpoint, model=model)

    def optimizer(self, live: Live, optim: AdamSettings, run_id: str, step: int) -> torch.optim.Optimizer:
        """The AdamW of `run_id`'s step `step` on the live model. Its state carries over only within
        one run: kept in memory from the run's previous step, or restored from optimizer.pt when the
        live checkpoint is an earlier step of the same run id (a resume, checkpoints.resumes_run).
        From any other checkpoint (another run's, a phase before) the weights come without their Adam
        state: a fresh optimiser, as tinker-cookbook and HF/TRL do. Every Adam setting of the request
        (learning rate, betas, eps, weight decay) is applied every step, over a restored state's."""
        if live.optimizer is None or live.optimizer_run != run_id:
            params = [p for p in live.model.parameters() if p.requires_grad]
            live.optimizer = torch.optim.AdamW(params, lr=optim.learning_rate, betas=(optim.beta1, optim.beta2), eps=optim.eps, weight_decay=optim.weight_decay)
            live.optimizer_run = run_id
            state = Path(live.checkpoint) / "optimizer.pt" if live.checkpoint is not None else None
            if state is not None and state.is_file() and ckpts.resumes_run(live.checkpoint, run_id, step):
                live.optimizer.load_state_dict(torch.load(state, map_location=self.device))
        for g in live.optimizer.param_groups:
            g["lr"] = optim.learning_rate
            g["betas"] = (optim.beta1, optim.beta2)
            g["eps"] = optim.eps
            g["weight_decay"] = optim.weight_decay
        return live.optimizer
