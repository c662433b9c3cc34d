"""Shared setup of the RL-vs-TRL benchmark: the same model, problems, group size, batch and steps.

Both sides train on the same problems: ours (the real rlTraining workflow on its own stack) reads them
from a JSONL task file written here, and TRL gets the exact prompts our workflow sampled, batch by
batch, in the same order (read back from our run's blob store by ours.py)."""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.environ.get("BENCH_MODEL_DIR", os.path.join(HERE, ".model"))
STEPS = int(os.environ.get("BENCH_STEPS", "5"))
GROUPS = int(os.environ.get("BENCH_GROUPS", "4"))  # problems per step
GROUP_SIZE = int(os.environ.get("BENCH_GROUP_SIZE", "4"))
MAX_TOKENS = int(os.environ.get("BENCH_MAX_TOKENS", "32"))
# the run seed of our workflow (its batch order and sampling seeds) and TRL's seed
SEED = int(os.environ.get("BENCH_SEED", "0"))
LR = 1e-4
LORA = {"r": 16, "alpha": 32, "targets": ["q_proj", "k_proj", "v_proj", "o_proj"]}
SYSTEM = "You are a calculator. Reply with only the number."
# rows of the task file: the jsonl task keeps 80% for train, so every step gets new problems
N_PROBLEMS = max(10, (GROUPS * STEPS * 5 + 3) // 4 + 2)


def problems(n, seed=0):
    """n distinct one-digit additions. SmolLM2-135M at T=1 gets about a fifth right, so most groups of 4
    have mixed rewards (two-digit sums: ~2% right, and whole steps had every advantage zero)."""
    pairs = [(a, b) for a in range(1, 10) for b in range(1, 10)]
    if n > len(pairs):
        raise ValueError(f"at most {len(pairs)} distinct problems (asked for {n}): lower BENCH_STEPS or BENCH_GROUPS")
    return [(f"What is {a} + {b}? Answer with just the number.", str(a + b)) for a, b in random.Random(seed).sample(pairs, n)]


def reward(text, gold):
    """TRL's reward: the last integer equals the gold (our side grades with the jsonl task's `numeric`
    grader, which agrees on these replies: one plain integer)."""
    import re

    nums = re.findall(r"-?\d+", text)
    return 1.0 if nums and nums[-1] == gold else 0.0


def write_task_file(path):
    with open(path, "w") as f:
        for i, (q, a) in enumerate(problems(N_PROBLEMS)):
            f.write(json.dumps({"id": f"p{i}", "question": q, "answer": a}) + "\n")


def ours_config(task_file, output_dir, run_id, sampler="torch"):
    """The rlTraining input: the same model, LoRA, sampling, batch shape, learning rate and gradient
    clip (TRL's max_grad_norm 1.0) as trl_grpo.py. eval_every=0 and one test problem keep the start
    and end evaluations (always run by rlTraining) small; ours.py takes the end one out of the last step.
sampler: policy.sampler (torch: our decode loop; vllm: a vLLM engine, .venv-vllm)."""
    return {
        "run": {"run_id": run_id, "name": "rl-vs-trl", "seed": SEED, "output_dir": output_dir},
        "task": {"env": "jsonl", "jsonl_path": task_file, "jsonl_grader": "numeric", "n_val": 1, "n_test": 1},
        "policy": {"backend": "local", "base_model": MODEL_DIR, "lora_rank": LORA["r"], "lora_alpha": LORA["alpha"],
                   "lora_target_modules": LORA["targets"], "sampler": sampler, "max_tokens": MAX_TOKENS, "temperature": 1.0, "top_p": 1.0},
        "rl": {"n_batches": STEPS, "groups_per_batch": GROUPS, "group_size": GROUP_SIZE, "learning_rate": LR,
               "loss": "importance_sampling", "eval_every": 0, "save_every": STEPS},
        "optim": {"grad_clip": 1.0},
        "n_eval": 1,
        "system_prompt": SYSTEM,
    }


if __name__ == "__main__":
    import sys

    # common.py config <dir> <run_id> [sampler]: write the task file and the workflow input
    # (<dir>/ours-<sampler>.json) into <dir>
    _, cmd, d, run_id, *rest = sys.argv
    assert cmd == "config", cmd
    sampler = rest[0] if rest else "torch"
    task_file = os.path.join(d, "problems.jsonl")
    write_task_file(task_file)
    out = os.path.join(d, f"ours-{sampler}.json")
    with open(out, "w") as f:
        json.dump(ours_config(task_file, os.path.join(d, "runs"), run_id, sampler), f, indent=1)
    print(out)
