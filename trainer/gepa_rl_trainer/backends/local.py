"""Local backend: PyTorch + transformers + peft, CPU by default, CUDA when present.

sample(req) and train_step(req) follow the contract in src/types.ts (PolicySampleRequest/Result,
TrainStepRequest/Result). Tensor names carry their shape: tokens_BT, logprobs_T, advantages_D.
"""
from __future__ import annotations

import json
import math
import os
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .. import blobs
from .. import checkpoints as ckpts
from ..datums import chat_prompt_ids, training_examples
from ..errors import InvalidRequest, NonFiniteLoss
from ..losses import cross_entropy_loss, entropy_sum, policy_loss, sampling_log_softmax
from ..models import ModelNotFound, load_model, load_tokenizer

SAMPLE_BATCH = int(os.environ.get("GEPA_RL_SAMPLE_BATCH", "32"))
TRAIN_MICROBATCH = int(os.environ.get("GEPA_RL_TRAIN_MICROBATCH", "8"))


def _device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def _dtype(device: torch.device):
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def _require(req: dict, *fields: str):
    for f in fields:
        if f not in req or req[f] is None:
            raise InvalidRequest(f"request is missing field {f!r} (got keys {sorted(req)})")


@dataclass
class Live:
    key: str  # model + lora config
    checkpoint: str | None
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer | None = None
    optim_key: str | None = None


def _model_key(model_ref: dict) -> str:
    return json.dumps(
        {k: model_ref.get(k) for k in ("base_model", "lora_rank", "lora_alpha", "lora_target_modules")}, sort_keys=True
    )


def clip_grad_norm(params, grad_clip: float) -> float:
    """The gradient norm before clipping; clipped to grad_clip when grad_clip > 0, untouched when 0
    (as Tinker's AdamParams.grad_clip_norm; tinker-cookbook does not clip)."""
    if grad_clip > 0:
        return float(torch.nn.utils.clip_grad_norm_(params, grad_clip))
    return float(torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None]))


class LocalBackend:
    def __init__(self, heartbeat: Callable[[str], None] | None = None):
        self.device = _device()
        self.dtype = _dtype(self.device)
        self._lock = threading.Lock()
        self._tokenizers: dict[str, object] = {}
        self._live: Live | None = None
        self.heartbeat = heartbeat or (lambda _msg: None)
        threads = os.environ.get("GEPA_RL_TORCH_THREADS")
        if threads:
            torch.set_num_threads(int(threads))

    # ----------------------------------------------------------------------------- models
    def tokenizer(self, base_model: str):
        if base_model not in self._tokenizers:
            tok = load_tokenizer(base_model)
            if tok.pad_token_id is None:
                tok.pad_token = tok.eos_token
            self._tokenizers[base_model] = tok
        return self._tokenizers[base_model]

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
            from peft import LoraConfig, PeftModel, get_peft_model

            if checkpoint is not None:
                model = PeftModel.from_pretrained(model, checkpoint, is_trainable=True)
            else:
                cfg = LoraConfig(
                    r=rank,
                    lora_alpha=float(model_ref.get("lora_alpha") or rank),
                    target_modules=list(model_ref.get("lora_target_modules") or ["q_proj", "v_proj"]),
                    lora_dropout=0.0,
                    bias="none",
                    task_type="CAUSAL_LM",
                )
                # LoRA A matrices are random: draw them from a generator seeded by the model key, not
                # from the process-global RNG, so the same run starts from the same adapter whatever
                # the worker did before (a rebuilt and a cached model give identical training).
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(zlib.crc32(_model_key(model_ref).encode()))
                    model = get_peft_model(model, cfg)
        elif checkpoint is not None:
            from safetensors.torch import load_model as load_weights

            # strict: a checkpoint of another architecture fails here, naming the missing/unexpected keys;
            # tied weights (embed_tokens = lm_head) are stored once and restored to both
            try:
                load_weights(model, str(Path(checkpoint) / "model.safetensors"), strict=True, device="cpu")
            except (RuntimeError, FileNotFoundError) as e:
                raise InvalidRequest(f"checkpoint {checkpoint} does not fit model {base_model!r} with lora_rank=0: {e}") from e
        model.to(self.device)
        model.eval()
        return Live(key=_model_key(model_ref), checkpoint=checkpoint, model=model)

    def live_model(self, model_ref: dict, checkpoint: str | None) -> Live:
        """The cached live model if it matches (model, checkpoint); otherwise rebuilt from the checkpoint."""
        key = _model_key(model_ref)
        if self._live is None or self._live.key != key or self._live.checkpoint != checkpoint:
            self._live = None
            self._live = self._build(model_ref, checkpoint)
        return self._live

    # ----------------------------------------------------------------------------- sampling
    def _prompt_ids(self, tok, messages: list[dict]) -> list[int]:
        return chat_prompt_ids(tok, messages)

    def sample(self, req: dict) -> dict:
        _require(req, "model", "num_samples", "sampling", "blob_dir")
        t0 = time.time()
        model_ref = req["model"]
        prompts = req.get("prompts")
        if prompts is None:
            if not req.get("prompts_ref"):
                raise InvalidRequest("request needs `prompts` or `prompts_ref` (got neither)")
            prompts = blobs.read_json(req["prompts_ref"])
        if not isinstance(prompts, list) or not all(isinstance(p, list) for p in prompts):
            raise InvalidRequest(f"prompts must be a list of chat-message lists (got {type(prompts).__name__})")
        n = int(req["num_samples"])
        if n < 1:
            raise InvalidRequest(f"num_samples must be >= 1 (got {n})")
        sp = req["sampling"]
        max_tokens = int(sp.get("max_tokens", 256))
        temperature = float(sp.get("temperature", 1.0))
        top_p = float(sp.get("top_p", 1.0))
        seed = int(sp.get("seed", 0))

        with self._lock:
            tok = self.tokenizer(model_ref["base_model"])
            live = self.live_model(model_ref, req.get("checkpoint"))
            model = live.model
            ctx = int(getattr(model.config, "max_position_embeddings", 2048))
            prompt_ids_P = [self._prompt_ids(tok, p) for p in prompts]
            for i, ids in enumerate(prompt_ids_P):
                if len(ids) + max_tokens > ctx:
                    raise InvalidRequest(
                        f"prompt {i} is {len(ids)} tokens; with max_tokens={max_tokens} it exceeds the model's context of {ctx} tokens"
                    )
            seqs = [(p, s) for p in range(len(prompt_ids_P)) for s in range(n)]
            rollouts: list[dict] = []
            for c in range(0, len(seqs), SAMPLE_BATCH):
                chunk = seqs[c : c + SAMPLE_BATCH]
                rollouts += self._generate(model, tok, prompt_ids_P, chunk, max_tokens, temperature, top_p, seed * 1_000_003 + c)
                self.heartbeat(f"sampled {min(c + SAMPLE_BATCH, len(seqs))}/{len(seqs)}")

        # the distribution the logprobs are of: train_step scores the learner under the same one
        blob = {"model": model_ref, "checkpoint": req.get("checkpoint"), "sampling": {"temperature": temperature, "top_p": top_p}, "rollouts": rollouts}
        ref = blobs.write_json(req["blob_dir"], blob)
        num_tokens = [[0] * n for _ in prompt_ids_P]
        texts = [[""] * n for _ in prompt_ids_P]
        for r in rollouts:
            num_tokens[r["prompt_index"]][r["sample_index"]] = len(r["token_ids"])
            texts[r["prompt_index"]][r["sample_index"]] = r["text"]
        return {
            "rollouts_ref": ref,
            "num_tokens": num_tokens,
            "texts": texts if req.get("return_texts") else None,
            "seconds": time.time() - t0,
        }

    @torch.no_grad()
    def _generate(self, model, tok, prompt_ids_P, chunk, max_tokens, temperature, top_p, seed) -> list[dict]:
        pad = tok.pad_token_id
        eos = tok.eos_token_id
        width = max(len(prompt_ids_P[p]) for p, _ in chunk)
        B = len(chunk)
        tokens_BT = torch.full((B, width), pad, dtype=torch.long)
        mask_BT = torch.zeros((B, width), dtype=torch.long)
        for b, (p, _) in enumerate(chunk):
            ids = prompt_ids_P[p]
            tokens_BT[b, width - len(ids) :] = torch.tensor(ids)
            mask_BT[b, width - len(ids) :] = 1
        tokens_BT, mask_BT = tokens_BT.to(self.device), mask_BT.to(self.device)
        greedy = temperature <= 0
        gen = torch.Generator(device=self.device).manual_seed(seed % (2**63))
        # Own loop with a KV cache: seeded by a private generator (reproducible, no global RNG), and
        # the logprob recorded is that of the distribution actually sampled from.
        # Rows are left-padded: each row's first real token is position 0, as when it is sampled alone
        # and as the learner (right-padded) sees it. Without these position ids the prefill would
        # count the pads and every shorter row would be sampled from a shifted, wrong distribution.
        positions_BT = (mask_BT.cumsum(dim=1) - 1).clamp(min=0)
        out = model(input_ids=tokens_BT, attention_mask=mask_BT, position_ids=positions_BT, use_cache=True, logits_to_keep=1)
        past = out.past_key_values
        logits_BV = out.logits[:, -1, :].float()
        positions_B = mask_BT.sum(dim=1)  # next position id per row: the decode steps continue from there
        done_B = torch.zeros(B, dtype=torch.bool, device=self.device)
        new_tokens: list[torch.Tensor] = []
        new_logprobs: list[torch.Tensor] = []
        for _ in range(max_tokens):
            logp_BV = sampling_log_softmax(logits_BV, temperature, top_p)
            if greedy:
                next_B = logp_BV.argmax(dim=-1)
            else:
                next_B = torch.multinomial(logp_BV.exp(), 1, generator=gen).squeeze(-1)
            lp_B = logp_BV.gather(-1, next_B[:, None]).squeeze(-1)
            next_B = torch.where(done_B, torch.full_like(next_B, pad), next_B)
            new_tokens.append(next_B)
            new_logprobs.append(lp_B)
            done_B = done_B | (next_B == eos)
            if bool(done_B.all()):
                break
            mask_BT = torch.cat([mask_BT, torch.ones((B, 1), dtype=mask_BT.dtype, device=self.device)], dim=1)
            out = model(
                input_ids=next_B[:, None],
                attention_mask=mask_BT,
                position_ids=positions_B[:, None],
                past_key_values=past,
                use_cache=True,
            )
            positions_B = positions_B + 1
            past = out.past_key_values
            logits_BV = out.logits[:, -1, :].float()
        toks_BT = torch.stack(new_tokens, dim=1).cpu() if new_tokens else torch.zeros((B, 0), dtype=torch.long)
        lps_BT = torch.stack(new_logprobs, dim=1).cpu() if new_logprobs else torch.zeros((B, 0))
        result = []
        for b, (p, s) in enumerate(chunk):
            ids: list[int] = []
            lps: list[float] = []
            stop = "length"
            for t in range(toks_BT.shape[1]):
                tid = int(toks_BT[b, t])
                ids.append(tid)
                lps.append(max(float(lps_BT[b, t]), -1e4))
                if tid == eos:
                    stop = "stop"
                    break
            result.append(
                {
                    "prompt_index": p,
                    "sample_index": s,
                    "prompt_token_ids": list(prompt_ids_P[p]),
                    "token_ids": ids,
                    "logprobs": lps,
                    "text": tok.decode(ids, skip_special_tokens=True),
                    "stop_reason": stop,
                }
            )
        return result

    # ----------------------------------------------------------------------------- training
    def _optimizer(self, live: Live, optim: dict) -> torch.optim.Optimizer:
        key = json.dumps({k: optim.get(k) for k in ("learning_rate", "beta1", "beta2", "eps", "weight_decay")}, sort_keys=True)
        if live.optimizer is None:
            params = [p for p in live.model.parameters() if p.requires_grad]
            live.optimizer = torch.optim.AdamW(
                params,
                lr=float(optim["learning_rate"]),
                betas=(float(optim.get("beta1", 0.9)), float(optim.get("beta2", 0.95))),
                eps=float(optim.get("eps", 1e-8)),
                weight_decay=float(optim.get("weight_decay", 0.0)),
            )
            if live.checkpoint is not None and (Path(live.checkpoint) / "optimizer.pt").is_file():
                live.optimizer.load_state_dict(torch.load(Path(live.checkpoint) / "optimizer.pt", map_location=self.device))
        for g in live.optimizer.param_groups:  # constant LR, but a new phase may change it
            g["lr"] = float(optim["learning_rate"])
        live.optim_key = key
        return live.optimizer

    def train_step(self, req: dict) -> dict:
        _require(req, "run_id", "step", "model", "checkpoint_root", "loss", "optim")
        t0 = time.time()
        step, root, out_dir, keep, reused = ckpts.step_target(req, t0)
        if reused is not None:
            return reused
        loss_name = req["loss"]
        if loss_name not in ("importance_sampling", "ppo", "cross_entropy"):
            raise InvalidRequest(f"unknown loss {loss_name!r} (expected importance_sampling, ppo or cross_entropy)")
        model_ref = req["model"]
        with self._lock:
            tok = self.tokenizer(model_ref["base_model"])
            data = training_examples(req, tok)
            if not data:
                raise InvalidRequest("nothing to train on: every example has zero advantage or no completion tokens")
            live = self.live_model(model_ref, req.get("checkpoint_in"))
            opt = self._optimizer(live, req["optim"])
            model = live.model
            model.train()
            opt.zero_grad(set_to_none=True)
            n_seq = len(data)
            total_tokens = sum(len(d["completion"]) for d in data)
            sums = {"loss": 0.0, "entropy": 0.0, "kl1": 0.0, "kl2": 0.0, "kl_n": 0}
            try:
                for c in range(0, n_seq, TRAIN_MICROBATCH):
                    self._accumulate(model, tok, data[c : c + TRAIN_MICROBATCH], loss_name, sums)
                    self.heartbeat(f"train step {step}: {min(c + TRAIN_MICROBATCH, n_seq)}/{n_seq}")
                params = [p for p in model.parameters() if p.requires_grad]
                grad_norm = clip_grad_norm(params, float(req["optim"].get("grad_clip", 0.0)))
                if not math.isfinite(sums["loss"]) or not math.isfinite(grad_norm):
                    raise NonFiniteLoss(
                        f"step {step}: loss={sums['loss']} grad_norm={grad_norm} is not finite; no checkpoint written, "
                        f"the last good checkpoint is {req.get('checkpoint_in')}"
                    )
                opt.step()
            except BaseException:
                # a NaN loss, a heartbeat cancel, an error mid-step: the cache may hold half-updated
                # state, so the retry rebuilds from checkpoint_in instead of stepping twice
                opt.zero_grad(set_to_none=True)
                self._live = None
                raise
            opt.zero_grad(set_to_none=True)
            model.eval()
            metrics = {
                "loss": sums["loss"],
                "entropy": sums["entropy"] / max(total_tokens, 1),
                "kl_sample_train_v1": sums["kl1"] / max(sums["kl_n"], 1),
                "kl_sample_train_v2": sums["kl2"] / max(sums["kl_n"], 1),
                "grad_norm": grad_norm,
                "tokens": total_tokens,
                "learning_rate": float(req["optim"]["learning_rate"]),
            }
            try:
                self._save(live, out_dir, req, metrics, keep)
            except BaseException:
                self._live = None  # weights and Adam state have moved past checkpoint_in: never reuse them
                raise
            live.checkpoint = str(out_dir)
        ckpts.record(root, step, out_dir, metrics, keep)
        ckpts.prune_superseded(root, req.get("checkpoint_in"), out_dir, step)
        return {"checkpoint_out": str(out_dir), "metrics": metrics, "reused": False, "seconds": time.time() - t0}

    def _forward_logprobs(self, model, tok, batch) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The learner's view of a batch: one forward over the right-padded sequences (prompt +
        completion; positions 0.. as for a lone sequence), then per example the log-probabilities of
        its completion tokens under the distribution they were sampled from (its temperature and
        top_p): (logp_T of the targets, logp_TV over the vocabulary)."""
        pad = tok.pad_token_id
        seqs = [d["prompt"] + d["completion"] for d in batch]
        width = max(len(s) for s in seqs)
        B = len(batch)
        tokens_BT = torch.full((B, width), pad, dtype=torch.long)
        mask_BT = torch.zeros((B, width), dtype=torch.long)
        for b, s in enumerate(seqs):
            tokens_BT[b, : len(s)] = torch.tensor(s)
            mask_BT[b, : len(s)] = 1
        tokens_BT, mask_BT = tokens_BT.to(self.device), mask_BT.to(self.device)
        # logits only from the first position that predicts a completion token on (the prompts' own
        # next-token logits are never used: less compute and memory over long prompts)
        start = min(len(d["prompt"]) for d in batch) - 1
        logits_BTV = model(input_ids=tokens_BT, attention_mask=mask_BT, logits_to_keep=width - start).logits
        rows = []
        for b, d in enumerate(batch):
            P, C = len(d["prompt"]), len(d["completion"])
            target_T = tokens_BT[b, P : P + C]
            logits_TV = logits_BTV[b, P - 1 - start : P - 1 - start + C]
            logp_TV = sampling_log_softmax(logits_TV, d.get("temperature", 1.0), d.get("top_p", 1.0), keep_X=target_T)
            rows.append((logp_TV.gather(-1, target_T[:, None]).squeeze(-1), logp_TV))
        return rows

    def _accumulate(self, model, tok, batch, loss_name, sums):
        total = None
        for d, (lp_T, logp_TV) in zip(batch, self._forward_logprobs(model, tok, batch)):
            C = len(d["completion"])
            with torch.no_grad():
                sums["entropy"] += float(entropy_sum(logp_TV))
            if loss_name == "cross_entropy":
                term = cross_entropy_loss(lp_T)
            else:
                old_T = torch.tensor(d["logprobs"], dtype=lp_T.dtype, device=lp_T.device)
                term = policy_loss(loss_name, lp_T, old_T, d["advantage"])
                with torch.no_grad():
                    diff_T = old_T - lp_T
                    sums["kl1"] += float(diff_T.sum())
                    sums["kl2"] += float((0.5 * diff_T**2).sum())
                    sums["kl_n"] += C
            total = term if total is None else total + term
        total.backward()
        sums["loss"] += float(total.detach())

    def _save(self, live: Live, out_dir: Path, req: dict, metrics: dict, keep: bool):
        with ckpts.writing(out_dir, int(req["step"])) as tmp:
            if int(req["model"].get("lora_rank") or 0) > 0:
                live.model.save_pretrained(str(tmp))
            else:
                from safetensors.torch import save_model as save_weights

                save_weights(live.model, str(tmp / "model.safetensors"))  # stores tied tensors once
            torch.save(live.optimizer.state_dict(), tmp / "optimizer.pt")
            meta = {
                "run_id": req["run_id"],
                "step": int(req["step"]),
                "model": req["model"],
                "checkpoint_in": req.get("checkpoint_in"),
                "loss": req["loss"],
                "keep": keep,
                "metrics": metrics,
            }
            ckpts.commit(tmp, out_dir, meta)
