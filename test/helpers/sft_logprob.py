"""Log-probability of SFT examples' completions (with EOS, tokenised exactly as train_step does) under
several checkpoints: how likely the policy is, at temperature 1, to sample each completion.
stdin: {"model": ModelRef, "checkpoints": [path | null], "examples": [{messages, completion}], "blob_dir": dir}
stdout: [[logprob per example] per checkpoint]"""
import json
import sys

import torch

from gepa_rl_trainer import blobs
from gepa_rl_trainer.backends.local import LocalBackend
from gepa_rl_trainer.datums import training_examples

req = json.load(sys.stdin)
backend = LocalBackend()
tok = backend.tokenizer(req["model"]["base_model"])
data = training_examples({"loss": "cross_entropy", "sft_examples_ref": blobs.write_json(req["blob_dir"], req["examples"])}, tok)
out = []
for ckpt in req["checkpoints"]:
    model = backend.live_model(req["model"], ckpt).model
    row = []
    for d in data:
        ids = torch.tensor([d["prompt"] + d["completion"]], device=backend.device)
        with torch.no_grad():
            logp = torch.log_softmax(model(ids).logits[0, :-1].float(), dim=-1)
        start = len(d["prompt"]) - 1
        targets = torch.tensor(d["completion"], device=backend.device)
        row.append(float(logp[torch.arange(start, start + len(targets), device=backend.device), targets].sum()))
    out.append(row)
print(json.dumps(out))
