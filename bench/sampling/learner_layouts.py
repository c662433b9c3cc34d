"""The learner's layout, timed: one RL step's forward + backward with SmolLM2-135M-Instruct (LoRA r 16
on q,k,v,o, as bench/rl-vs-trl) in two layouts, alternated in one process on the same batch:

- whole: every sequence (prompt + completion) whole and right-padded, as TRL's GRPOTrainer and our
  trainer before (each group's prompt run group_size times, pads computed);
- ours: `forward_logprobs` (the batch's distinct prompts once, every completion packed in one row
  over their cache, no pad computed).

The batch: 4 arithmetic prompts x 4 completions with the lengths of a real bench/rl-vs-trl step
(2..32 tokens), in microbatches of 8 as train_step. Prints the seconds per step of each layout (the
median over the repetitions after a warm-up), their ratio, and the largest |logprob| difference
between the two layouts.

Run: PYTHONPATH=trainer OMP_NUM_THREADS=1 .venv/bin/python bench/sampling/learner_layouts.py   (REPS=5)
"""
import os
import random
import statistics
import time

import torch

from gepa_rl_trainer.backends.local import TRAIN_MICROBATCH, LocalBackend, forward_logprobs
from gepa_rl_trainer.datums import chat_prompt_ids

MODEL = {"backend": "local", "base_model": "smollm2-135m-instruct", "lora_rank": 16, "lora_alpha": 32, "lora_target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}
REPS = int(os.environ.get("REPS", "5"))
# completion lengths of one bench/rl-vs-trl step (its sampler's num_tokens, 16 rollouts)
LENGTHS = [2, 7, 7, 8, 8, 8, 9, 12, 14, 17, 18, 21, 25, 32, 32, 32]


def whole_logprobs(model, tok, batch):
    """Every sequence whole, right-padded, one forward (logits kept from the first completion-predicting
    position on): the log-probabilities of its completion tokens."""
    seqs = [d["prompt"] + d["completion"] for d in batch]
    width = max(len(s) for s in seqs)
    tokens = torch.full((len(seqs), width), tok.pad_token_id, dtype=torch.long)
    mask = torch.zeros_like(tokens)
    for b, s in enumerate(seqs):
        tokens[b, : len(s)] = torch.tensor(s)
        mask[b, : len(s)] = 1
    # logits only from the first position that predicts a completion token (as TRL's logits_to_keep)
    start = min(len(d["prompt"]) for d in batch) - 1
    logits = model(input_ids=tokens, attention_mask=mask, logits_to_keep=width - start).logits
    out = []
    for b, d in enumerate(batch):
        P, C = len(d["prompt"]), len(d["completion"])
        logp = torch.log_softmax(logits[b, P - 1 - start : P - 1 - start + C].float(), dim=-1)
        out.append(logp.gather(-1, torch.tensor(d["completion"])[:, None]).squeeze(-1))
    return out


def main():
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    backend = LocalBackend()
    tok = backend.tokenizer(MODEL["base_model"])
    model = backend.live_model(MODEL, None).model
    model.train()
    rng = random.Random(0)
    lengths = LENGTHS[:]
    rng.shuffle(lengths)
    prompts = [chat_prompt_ids(tok, [{"role": "system", "content": "You are a calculator. Reply with only the number."}, {"role": "user", "content": f"What is {a} + {b}? Answer with just the number."}]) for a, b in ((3, 4), (6, 9), (2, 7), (8, 1))]
    data = [{"prompt": prompts[i // 4], "completion": [rng.randrange(1000, 20000) for _ in range(n)]} for i, n in enumerate(lengths)]

    def step(layout):
        t0 = time.perf_counter()
        for c in range(0, len(data), TRAIN_MICROBATCH):
            mb = data[c : c + TRAIN_MICROBATCH]
            lps = whole_logprobs(model, tok, mb) if layout == "whole" else [lp for lp, _ in forward_logprobs(model, tok, mb, backend.device)]
            sum(lp.sum() for lp in lps).backward()
        model.zero_grad(set_to_none=True)
        return time.perf_counter() - t0

    times = {"whole": [], "ours": []}
    for rep in range(REPS + 1):
        for layout in ("whole", "ours"):
            s = step(layout)
            if rep:  # the first round is warm-up
                times[layout].append(s)
    with torch.no_grad():
        diff = max(float((a - b).abs().max()) for a, (b, _) in zip(whole_logprobs(model, tok, data), forward_logprobs(model, tok, data, backend.device)))
    w, o = statistics.median(times["whole"]), statistics.median(times["ours"])
    print(f"prompt tokens {[len(p) for p in prompts]}, completion tokens {sorted(lengths)}, microbatch {TRAIN_MICROBATCH}, {REPS} reps")
    print(f"whole sequences, right-padded: {w:.2f} s per step forward+backward")
    print(f"ours (shared prompts, packed completions): {o:.2f} s per step forward+backward")
    print(f"ratio ours/whole: {o / w:.2f}x; max |logprob difference| between the layouts {diff:.1e}")


if __name__ == "__main__":
    main()
