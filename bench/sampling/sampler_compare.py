"""policy.sampler=torch (our PyTorch loop) vs policy.sampler=vllm (a vLLM engine) on SmolLM2-135M-Instruct.

Same prompts, same max_tokens, temperature 1, through LocalBackend.sample (what policy_sample runs):
tokens/s at batch 1, 8 and 32 for each sampler, and the machine's compute limit for comparison
(measured fp32 matmul FLOP/s divided by 2 x parameters per token; attention and sampling ignored).
Each measurement is one call after the first (loading) call, and after a warm-up call of the same batch
unless WARMUP=0; the samplers take turns batch by batch, REPEATS times (tokens/s over the turns:
on a shared machine the load moves between two calls, so the turns spread it over both). The vLLM server runs with OMP_NUM_THREADS
when it is set (else GEPA_RL_TORCH_THREADS, else every core), as the torch loop does.
Run: PYTHONPATH=trainer .venv/bin/python bench/sampling/sampler_compare.py   (BATCHES=1,8,32 MAX_TOKENS=64 SAMPLERS=torch,vllm WARMUP=1 REPEATS=1)
"""
import os
import sys
import tempfile
import time

import torch

from gepa_rl_trainer.backends.local import LocalBackend

BATCHES = [int(x) for x in os.environ.get("BATCHES", "1,8,32").split(",")]
MAX_TOKENS = int(os.environ.get("MAX_TOKENS", "64"))
SAMPLERS = os.environ.get("SAMPLERS", "torch,vllm").split(",")
WARMUP = os.environ.get("WARMUP", "1") == "1"  # a warm-up call at each batch before the measured one
REPEATS = int(os.environ.get("REPEATS", "1"))  # measured calls per sampler and batch, the samplers in turn
BASE = {"backend": "local", "base_model": "smollm2-135m-instruct", "lora_rank": 0}


def run(b, sampler, batch):
    prompts = [[{"role": "user", "content": f"Write a short story about the number {i}."}] for i in range(batch)]
    req = {"model": dict(BASE, sampler=sampler), "checkpoint": None, "prompts": prompts, "num_samples": 1, "return_texts": False,
           "sampling": {"max_tokens": MAX_TOKENS, "temperature": 1.0, "top_p": 1.0, "seed": 0}, "blob_dir": tempfile.mkdtemp()}
    t0 = time.time()
    res = b.sample(req)
    dt = time.time() - t0
    return sum(sum(r) for r in res["num_tokens"]), dt


def matmul_flops() -> float:
    a, w = torch.randn(256, 2048), torch.randn(2048, 2048)
    a @ w
    n, t0 = 0, time.time()
    while time.time() - t0 < 2.0:
        a @ w
        n += 1
    return n * 2 * 256 * 2048 * 2048 / (time.time() - t0)


def main():
    b = LocalBackend()
    params = sum(p.numel() for p in b.live_model(BASE, None).model.parameters())
    flops = matmul_flops()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  SmolLM2-135M fp32, max_tokens={MAX_TOKENS}, temperature 1, torch threads {torch.get_num_threads()}")
    print(f"compute limit: {flops / 1e9:.1f} GFLOP/s fp32 matmul / (2 x {params / 1e6:.0f}M params) = {flops / (2 * params):.0f} tokens/s")
    rates = {}
    for sampler in SAMPLERS:
        t0 = time.time()
        run(b, sampler, 1)  # loads (vLLM: starts the engine)
        print(f"{sampler}: first call (load + batch 1) {time.time() - t0:.1f}s")
    # batch by batch, each sampler in turn: the two measurements of a batch are minutes apart at most,
    # so a change of the shared machine's load shifts both (the ratio is what to read)
    for batch in BATCHES:
        if WARMUP:
            for sampler in SAMPLERS:
                run(b, sampler, batch)
        toks_dt = {sampler: [0, 0.0] for sampler in SAMPLERS}
        for rep in range(REPEATS):
            for sampler in SAMPLERS:
                toks, dt = run(b, sampler, batch)
                toks_dt[sampler][0] += toks
                toks_dt[sampler][1] += dt
                print(f"{sampler:>5} batch {batch:>2}: {toks:>5} tokens in {dt:6.2f}s = {toks / dt:6.1f} tokens/s ({100 * toks / dt / (flops / (2 * params)):.0f}% of the limit)  load {open('/proc/loadavg').read().split()[0]}")
        for sampler in SAMPLERS:
            rates[(sampler, batch)] = toks_dt[sampler][0] / toks_dt[sampler][1]
        if REPEATS > 1:
            print(f"batch {batch:>2} over {REPEATS} turns: " + ", ".join(f"{sm} {rates[(sm, batch)]:.1f} tokens/s" for sm in SAMPLERS))
    flops_end = matmul_flops()
    print(f"compute limit again at the end: {flops_end / 1e9:.1f} GFLOP/s = {flops_end / (2 * params):.0f} tokens/s")
    if "torch" in SAMPLERS and "vllm" in SAMPLERS:
        print("vllm / torch: " + ", ".join(f"batch {n} {rates[('vllm', n)] / rates[('torch', n)]:.2f}x" for n in BATCHES))
    if b._vllm is not None:
        b._vllm.stop()


if __name__ == "__main__":
    sys.exit(main())
