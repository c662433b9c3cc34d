"""Our RL phase's compute for STEPS steps: policy_sample (group_size per problem) + group-centred
advantages + one train_step (importance_sampling, LoRA) per step, through the trainer backend."""
import json
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "trainer"))
from common import GROUP_SIZE, GROUPS, LORA, LR, MAX_TOKENS, MODEL_DIR, STEPS, SYSTEM, problems, reward  # noqa: E402
from gepa_rl_trainer import blobs  # noqa: E402
from gepa_rl_trainer.backends.local import LocalBackend  # noqa: E402

model = {"backend": "local", "base_model": MODEL_DIR, "lora_rank": LORA["r"], "lora_alpha": LORA["alpha"], "lora_target_modules": LORA["targets"]}
work = tempfile.mkdtemp()
b = LocalBackend()
b.tokenizer(MODEL_DIR)
b.live_model(model, None)
data = problems(GROUPS * STEPS)
ckpt, times, trained = None, [], 0
for step in range(STEPS):
    t0 = time.time()
    batch = data[step * GROUPS : (step + 1) * GROUPS]
    prompts = [[{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}] for q, _ in batch]
    res = b.sample({"model": model, "checkpoint": ckpt, "prompts": prompts, "num_samples": GROUP_SIZE, "blob_dir": work, "return_texts": True,
                    "sampling": {"max_tokens": MAX_TOKENS, "temperature": 1.0, "top_p": 1.0, "seed": step}})
    adv = []
    for (q, gold), texts in zip(batch, res["texts"]):
        r = [reward(t, gold) for t in texts]
        m = sum(r) / len(r)
        adv += [x - m for x in r]
    if any(a != 0 for a in adv):
        out = b.train_step({"run_id": "bench", "step": step, "model": model, "checkpoint_in": ckpt, "checkpoint_root": os.path.join(work, "ck"),
                            "loss": "importance_sampling", "rollouts_ref": res["rollouts_ref"], "advantages": adv,
                            "optim": {"learning_rate": LR, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.0, "grad_clip": 1.0}})
        ckpt = out["checkpoint_out"]
        trained += 1
    times.append(time.time() - t0)
print(json.dumps({"name": "gepa-rl", "seconds_per_step": sum(times[1:]) / max(len(times) - 1, 1) if len(times) > 1 else times[0],
                  "step_times": times, "trained_steps": trained, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
