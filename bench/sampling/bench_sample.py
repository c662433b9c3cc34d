"""Sampling throughput of the local backend with SmolLM2-135M-Instruct (DESIGN §4.3).

Prints model load time, process RSS with the model loaded, and tokens/s at batch 1 and batch 32.
Run: PYTHONPATH=trainer .venv/bin/python bench/sampling/bench_sample.py
"""
import os
import resource
import sys
import tempfile
import time

import psutil

from gepa_rl_trainer.backends.local import LocalBackend

MODEL = {"backend": "local", "base_model": os.environ.get("MODEL", "smollm2-135m-instruct"), "lora_rank": 0}
MAX_TOKENS = int(os.environ.get("MAX_TOKENS", "64"))


def run(b, batch):
    prompts = [[{"role": "user", "content": f"Write a short story about the number {i}."}] for i in range(batch)]
    req = {"model": MODEL, "checkpoint": None, "prompts": prompts, "num_samples": 1, "return_texts": False,
           "sampling": {"max_tokens": MAX_TOKENS, "temperature": 1.0, "top_p": 1.0, "seed": 0}, "blob_dir": tempfile.mkdtemp()}
    t0 = time.time()
    res = b.sample(req)
    dt = time.time() - t0
    toks = sum(sum(r) for r in res["num_tokens"])
    return toks, dt


def main():
    t0 = time.time()
    b = LocalBackend()
    b.tokenizer(MODEL["base_model"])
    b.live_model(MODEL, None)
    load = time.time() - t0
    rss = psutil.Process().memory_info().rss / 2**20
    print(f"model {MODEL['base_model']}: load {load:.1f}s, RSS {rss:.0f} MiB, torch threads {__import__('torch').get_num_threads()}")
    run(b, 1)  # warm-up
    for batch in (1, 32):
        toks, dt = run(b, batch)
        print(f"batch {batch:>2}: {toks} tokens in {dt:.2f}s = {toks / dt:.1f} tokens/s")
    # ru_maxrss is the high-water mark (KiB on Linux), not the current RSS
    print(f"RSS now {psutil.Process().memory_info().rss / 2**20:.0f} MiB, peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
