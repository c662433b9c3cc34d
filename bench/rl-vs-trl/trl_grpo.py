"""TRL's GRPOTrainer on the same model, problems, group size, batch and steps (beta=0, the closest
loss to our importance-sampling loss; LoRA with the same rank and targets)."""
import json
import os
import resource
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_DISABLED", "true")
sys.path.insert(0, os.path.dirname(__file__))
from common import GROUP_SIZE, GROUPS, LORA, LR, MAX_TOKENS, MODEL_DIR, STEPS, SYSTEM, problems, reward  # noqa: E402

from datasets import Dataset  # noqa: E402
from peft import LoraConfig  # noqa: E402
from transformers import TrainerCallback  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

data = problems(GROUPS * STEPS)
ds = Dataset.from_list([{"prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}], "gold": g} for q, g in data])


def reward_fn(completions, gold, **kw):
    return [reward(c[0]["content"] if isinstance(c, list) else c, g) for c, g in zip(completions, gold)]


class Timer(TrainerCallback):
    def __init__(self):
        self.times, self.t0 = [], None

    def on_step_begin(self, args, state, control, **kw):
        self.t0 = time.time()

    def on_step_end(self, args, state, control, **kw):
        self.times.append(time.time() - self.t0)


cfg = GRPOConfig(
    output_dir=os.path.join(os.path.dirname(__file__), ".trl-out"),
    per_device_train_batch_size=GROUPS * GROUP_SIZE,
    num_generations=GROUP_SIZE,
    max_completion_length=MAX_TOKENS,
    learning_rate=LR,
    beta=0.0,
    max_steps=STEPS,
    logging_steps=1,
    report_to="none",
    use_cpu=True,
    bf16=False,
    save_strategy="no",
    temperature=1.0,
    shuffle_dataset=False,
)
timer = Timer()
trainer = GRPOTrainer(model=MODEL_DIR, reward_funcs=reward_fn, args=cfg, train_dataset=ds,
                      peft_config=LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], target_modules=LORA["targets"], task_type="CAUSAL_LM"),
                      callbacks=[timer])
trainer.train()
t = timer.times
print(json.dumps({"name": "trl", "seconds_per_step": sum(t[1:]) / max(len(t) - 1, 1) if len(t) > 1 else t[0], "step_times": t,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
