import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GEPA_RL_TORCH_THREADS", "2")

TINY = {"backend": "local", "base_model": "tiny-random", "lora_rank": 4, "lora_alpha": 8, "lora_target_modules": ["q_proj", "v_proj"], "sampler": "torch"}
OPTIM = {"learning_rate": 1e-2, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.0, "grad_clip": 1.0}


@pytest.fixture(scope="session")
def backend():
    from gepa_rl_trainer.backends.local import LocalBackend

    return LocalBackend()


def sample_req(blob_dir, seed=1, num_samples=2, max_tokens=8, checkpoint=None, prompts=None, temperature=1.0):
    return {
        "model": TINY,
        "checkpoint": checkpoint,
        "prompts": prompts
        or [[{"role": "user", "content": "What is 2+2?"}], [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]],
        "num_samples": num_samples,
        "sampling": {"max_tokens": max_tokens, "temperature": temperature, "top_p": 1.0, "seed": seed},
        "blob_dir": str(blob_dir),
        "return_texts": True,
    }
