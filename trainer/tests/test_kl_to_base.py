"""KL(pi_theta || pi_base) on the policy's own rollouts (policy_kl_to_base): the estimator against a
hand-computed case, and the local backend's two ways to the base (LoRA's adapter disabled; a frozen
copy of the start weights for full fine-tune): exactly 0 before any train step, > 0 after one."""
import math

import pytest
import torch

from conftest import OPTIM, TINY, sample_req
from gepa_rl_trainer.backends.local import LocalBackend
from gepa_rl_trainer.losses import kl_to_base_sums
from gepa_rl_trainer.request_schema import validate_request

FULL = dict(TINY, lora_rank=0)


def test_kl_to_base_sums_by_hand():
    # position 1: p = (3/4, 1/4), q = (1/2, 1/2), token 0 sampled; position 2: p = q, token 1
    logp = torch.log(torch.tensor([[0.75, 0.25], [0.5, 0.5]]))
    logq = torch.log(torch.tensor([[0.5, 0.5], [0.5, 0.5]]))
    exact, k1, k3 = kl_to_base_sums(logp, logq, torch.tensor([0, 1]))
    # exact: 3/4 ln(3/2) + 1/4 ln(1/2) = 0.130812; k1: ln(3/2) = 0.405465; k3: r = 2/3, r - 1 - ln r = 0.072132
    assert exact == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5), abs=1e-6)
    assert exact == pytest.approx(0.130812, abs=1e-6)
    assert k1 == pytest.approx(0.405465, abs=1e-6)
    assert k3 == pytest.approx(2 / 3 - 1 - math.log(2 / 3), abs=1e-6)
    assert k3 == pytest.approx(0.072132, abs=1e-6)


def test_kl_to_base_sums_a_token_of_probability_zero_adds_nothing():
    # p = (1, 0) against q = (1/2, 1/2): 1 * ln 2, the zero-probability token contributes 0 (not nan)
    logp = torch.tensor([[0.0, float("-inf")]])
    logq = torch.log(torch.tensor([[0.5, 0.5]]))
    exact, k1, k3 = kl_to_base_sums(logp, logq, torch.tensor([0]))
    assert exact == pytest.approx(math.log(2), abs=1e-6)
    assert k1 == pytest.approx(math.log(2), abs=1e-6)
    assert k3 == pytest.approx(0.5 - 1 + math.log(2), abs=1e-6)


def _kl_req(model, checkpoint, refs, base=None):
    req = {"model": model, "checkpoint": checkpoint, "base_checkpoint": base, "rollouts_refs": refs}
    validate_request("policy_kl_to_base", req)  # what the activity checks first
    return req


def _step(backend, tmp_path, model, ref, n, checkpoint_in=None, step=0):
    req = {"run_id": "kl", "step": step, "model": model, "checkpoint_in": checkpoint_in, "checkpoint_root": str(tmp_path / "ckpt"),
           "loss": "importance_sampling", "rollouts_ref": ref, "advantages": [1.0, -1.0] * (n // 2), "optim": dict(OPTIM, learning_rate=5e-2)}
    return backend.train_step(req)["checkpoint_out"]


@pytest.mark.parametrize("model", [TINY, FULL], ids=["lora", "full"])
def test_kl_to_base_is_zero_before_a_train_step_and_positive_after(backend, tmp_path, model):
    blob_dir = tmp_path / "blobs"
    s0 = backend.sample(dict(sample_req(blob_dir, seed=2, num_samples=4, max_tokens=6), model=model))
    n = sum(sum(x) for x in s0["num_tokens"])
    assert n > 0
    at_init = backend.kl_to_base(_kl_req(model, None, [s0["rollouts_ref"]]))
    assert at_init["tokens"] == n and at_init["sequences"] == 8
    # LoRA's B = 0 at init: the adapter is the identity, so the two forwards are the same numbers
    assert (at_init["kl"], at_init["k1"], at_init["k3"]) == (0.0, 0.0, 0.0)

    ckpt = _step(backend, tmp_path, model, s0["rollouts_ref"], 8)
    s1 = backend.sample(dict(sample_req(blob_dir, seed=3, num_samples=4, max_tokens=6, checkpoint=ckpt), model=model))
    after = backend.kl_to_base(_kl_req(model, ckpt, [s1["rollouts_ref"]]))
    assert all(math.isfinite(after[k]) for k in ("kl", "k1", "k3"))
    assert after["kl"] > 0 and after["k3"] > 0
    # the same weights on both sides (the run's start is this checkpoint): 0 again
    same = backend.kl_to_base(_kl_req(model, ckpt, [s1["rollouts_ref"]], base=ckpt))
    assert same["kl"] == 0.0


def test_kl_to_base_from_a_start_checkpoint_uses_a_frozen_copy_of_it(backend, tmp_path):
    blob_dir = tmp_path / "blobs"
    s0 = backend.sample(dict(sample_req(blob_dir, seed=4, num_samples=4, max_tokens=6), model=TINY))
    start = _step(backend, tmp_path, TINY, s0["rollouts_ref"], 8)
    later = _step(backend, tmp_path, TINY, s0["rollouts_ref"], 8, checkpoint_in=start, step=1)
    s1 = backend.sample(dict(sample_req(blob_dir, seed=5, num_samples=4, max_tokens=6, checkpoint=later), model=TINY))
    to_start = backend.kl_to_base(_kl_req(TINY, later, [s1["rollouts_ref"]], base=start))
    to_base = backend.kl_to_base(_kl_req(TINY, later, [s1["rollouts_ref"]], base=None))
    assert backend.models.reference is not None and backend.models.reference.checkpoint == start
    assert not any(p.requires_grad for p in backend.models.reference.model.parameters())
    assert 0 < to_start["kl"] and 0 < to_base["kl"]
    assert to_start["kl"] != to_base["kl"]  # two different bases


SMOL = {"backend": "local", "base_model": "smollm2-135m-instruct", "lora_rank": 4, "lora_alpha": 8, "lora_target_modules": ["q_proj", "v_proj"], "sampler": "torch"}


def test_kl_to_base_with_smollm2_is_zero_at_init_and_grows_with_training(tmp_path):
    # the real model: its adapter's identity at init holds through a real chat template and vocabulary
    b = LocalBackend()
    prompts = [[{"role": "user", "content": "What is 17 + 25?"}], [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}]]
    req = dict(sample_req(tmp_path / "blobs", seed=7, num_samples=2, max_tokens=6, prompts=prompts), model=SMOL)
    s0 = b.sample(req)
    at_init = b.kl_to_base(_kl_req(SMOL, None, [s0["rollouts_ref"]]))
    assert at_init["tokens"] > 0 and (at_init["kl"], at_init["k1"], at_init["k3"]) == (0.0, 0.0, 0.0)
    ckpt, kls = None, []
    for step in range(2):
        ckpt = _step(b, tmp_path, SMOL, s0["rollouts_ref"], 4, checkpoint_in=ckpt, step=step)
        kls.append(b.kl_to_base(_kl_req(SMOL, ckpt, [s0["rollouts_ref"]]))["kl"])
    assert all(math.isfinite(k) and k > 0 for k in kls)
    assert kls[1] > kls[0]  # a second step in the same direction moves further from the base
