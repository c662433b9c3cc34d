"""On-policy check of the local sampler with the real SmolLM2-135M-Instruct (issue 11, Must show 1).

One chunk of prompts of very different lengths is sampled together (left-padded into one batch),
then every rollout is scored by the learner exactly as train_step scores it (forward_logprobs).
Prints per row: prompt tokens, the max per-token |sampler - learner| logprob, and whether the
greedy text equals that of the prompt sampled alone.

Run: PYTHONPATH=trainer .venv/bin/python bench/sampling/onpolicy_check.py
     (TEMPERATURE=0.7 TOP_P=0.9 MAX_TOKENS=24 to change the sampling)
"""
import os
import sys
import tempfile

import torch

from gepa_rl_trainer import blobs
from gepa_rl_trainer.backends.local import LocalBackend, forward_logprobs
from gepa_rl_trainer.datums import training_examples

MODEL = {"backend": "local", "base_model": "smollm2-135m-instruct", "lora_rank": 0}
MAX_TOKENS = int(os.environ.get("MAX_TOKENS", "16"))
TEMPERATURE = float(os.environ.get("TEMPERATURE", "1.0"))
TOP_P = float(os.environ.get("TOP_P", "1.0"))
PROMPTS = [
    [{"role": "user", "content": "Hi"}],
    [{"role": "user", "content": "What is 17 + 25? Answer with a number."}],
    [{"role": "system", "content": "You are a careful math tutor. " * 6}, {"role": "user", "content": "A train leaves at 3pm and travels 120 km at 60 km/h. When does it arrive?"}],
    [{"role": "user", "content": "Summarise this text in one sentence. " + "The quick brown fox jumps over the lazy dog near the river bank. " * 12}],
]


def sample(b, prompts, temperature, seed=0):
    req = {"model": MODEL, "checkpoint": None, "prompts": prompts, "num_samples": 1, "return_texts": True,
           "sampling": {"max_tokens": MAX_TOKENS, "temperature": temperature, "top_p": TOP_P, "seed": seed}, "blob_dir": tempfile.mkdtemp()}
    return b.sample(req)


def max_diffs(b, res):
    """Per rollout: max |sampler - learner| over its tokens, the learner being train_step's scoring path."""
    tok = b.tokenizer(MODEL["base_model"])
    n = len(blobs.read_json(res["rollouts_ref"])["rollouts"])
    data = training_examples({"loss": "importance_sampling", "rollouts_ref": res["rollouts_ref"], "advantages": [1.0] * n}, tok)
    model = b.live_model(MODEL, None).model
    with torch.no_grad():
        rows = forward_logprobs(model, tok, data, b.device)
    return [(len(d["prompt"]), float((lp_T - torch.tensor(d["logprobs"])).abs().max())) for d, (lp_T, _) in zip(data, rows)]


def main():
    b = LocalBackend()
    together = sample(b, PROMPTS, 0.0)
    alone = [sample(b, [p], 0.0)["texts"][0][0] for p in PROMPTS]
    greedy = max_diffs(b, together)
    sampled = max_diffs(b, sample(b, PROMPTS, TEMPERATURE, seed=1))
    print(f"SmolLM2-135M-Instruct, {len(PROMPTS)} prompts in one chunk, max_tokens={MAX_TOKENS}, sampled at T={TEMPERATURE} top_p={TOP_P}")
    for i, ((P, dg), (_, ds)) in enumerate(zip(greedy, sampled)):
        same = together["texts"][i][0] == alone[i]
        print(f"row {i}: {P:4d} prompt tokens  max|sampler-learner| greedy {dg:.2e}  sampled {ds:.2e}  greedy text == alone: {same}")
        if not same:
            print(f"    together: {together['texts'][i][0]!r}\n    alone:    {alone[i]!r}")
    print(f"max over rows: greedy {max(d for _, d in greedy):.2e}, sampled {max(d for _, d in sampled):.2e}")


if __name__ == "__main__":
    sys.exit(main())
