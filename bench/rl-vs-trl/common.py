"""Shared setup of the RL-vs-TRL benchmark: the same model, problems, group size, batch and steps."""
import os
import random

MODEL_DIR = os.environ.get("BENCH_MODEL_DIR", os.path.join(os.path.dirname(__file__), ".model"))
STEPS = int(os.environ.get("BENCH_STEPS", "3"))
GROUPS = int(os.environ.get("BENCH_GROUPS", "4"))  # problems per step
GROUP_SIZE = int(os.environ.get("BENCH_GROUP_SIZE", "4"))
MAX_TOKENS = int(os.environ.get("BENCH_MAX_TOKENS", "32"))
LR = 1e-4
LORA = {"r": 16, "alpha": 32, "targets": ["q_proj", "k_proj", "v_proj", "o_proj"]}
SYSTEM = "You are a calculator. Reply with only the number."


def problems(n, seed=0):
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rnd.randint(10, 99), rnd.randint(10, 99)
        out.append((f"What is {a} + {b}? Answer with just the number.", str(a + b)))
    return out


def reward(text, gold):
    import re

    nums = re.findall(r"-?\d+", text)
    return 1.0 if nums and nums[-1] == gold else 0.0
