import json
import math
from pathlib import Path

import pytest

from conftest import OPTIM, TINY, sample_req
from gepa_rl_trainer import blobs
from gepa_rl_trainer.backends.local import LocalBackend, forward_logprobs
from gepa_rl_trainer.errors import InvalidRequest, NonFiniteLoss


def rollouts(backend, tmp_path, seed=1):
    res = backend.sample(sample_req(tmp_path / "blobs", seed=seed, num_samples=4, max_tokens=6))
    n = len(blobs.read_json(res["rollouts_ref"])["rollouts"])
    return res["rollouts_ref"], n


def step_req(tmp_path, step, ref, adv, checkpoint_in=None, loss="importance_sampling", **kw):
    return {"run_id": "r", "step": step, "model": TINY, "checkpoint_in": checkpoint_in, "checkpoint_root": str(tmp_path / "ckpt"),
            "loss": loss, "rollouts_ref": ref, "advantages": adv, "optim": dict(OPTIM, **kw)}


def test_importance_sampling_loss_goes_down_on_a_fixed_batch(backend, tmp_path):
    ref, n = rollouts(backend, tmp_path)
    adv = [1.0] * n  # push every sampled sequence up: the (negative) surrogate must fall
    ckpt, losses = None, []
    for s in range(4):
        out = backend.train_step(step_req(tmp_path, s, ref, adv, ckpt))
        ckpt = out["checkpoint_out"]
        losses.append(out["metrics"]["loss"])
        m = out["metrics"]
        assert all(math.isfinite(v) for v in m.values())
        assert m["tokens"] > 0 and m["entropy"] > 0
    assert losses[-1] < losses[0]


def test_cross_entropy_sft_loss_goes_down(backend, tmp_path):
    ex = [{"messages": [{"role": "user", "content": "What is 2+2?"}], "completion": "4"}] * 4
    ref = blobs.write_json(str(tmp_path), ex)
    ckpt, losses = None, []
    for s in range(4):
        req = {"run_id": "sft", "step": s, "model": TINY, "checkpoint_in": ckpt, "checkpoint_root": str(tmp_path / "sft"),
               "loss": "cross_entropy", "sft_examples_ref": ref, "optim": dict(OPTIM, learning_rate=5e-2)}
        out = backend.train_step(req)
        ckpt = out["checkpoint_out"]
        losses.append(out["metrics"]["loss"])
    assert losses[-1] < losses[0]


def test_retried_step_returns_the_stored_checkpoint_once(backend, tmp_path):
    ref, n = rollouts(backend, tmp_path)
    a = backend.train_step(step_req(tmp_path, 0, ref, [1.0, -1.0] * (n // 2)))
    b = backend.train_step(step_req(tmp_path, 0, ref, [1.0, -1.0] * (n // 2)))
    assert not a["reused"] and b["reused"]
    assert a["checkpoint_out"] == b["checkpoint_out"]
    assert b["metrics"] == a["metrics"]
    rows = [json.loads(line) for line in (tmp_path / "checkpoints.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0]


def test_checkpoint_round_trip_rebuilds_the_live_model(backend, tmp_path):
    import torch

    ref, n = rollouts(backend, tmp_path)
    out = backend.train_step(step_req(tmp_path, 0, ref, [1.0] * n, learning_rate=5e-2))
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        live = backend.live_model(TINY, out["checkpoint_out"]).model(input_ids=ids).logits
        fresh = LocalBackend().live_model(TINY, out["checkpoint_out"]).model(input_ids=ids).logits
        base = LocalBackend().live_model(TINY, None).model(input_ids=ids).logits
    assert torch.allclose(live, fresh, atol=1e-5)
    assert not torch.allclose(live, base, atol=1e-4)
    assert (Path(out["checkpoint_out"]) / "optimizer.pt").is_file()


def test_missing_checkpoint_and_bad_requests_are_clear(backend, tmp_path):
    ref, n = rollouts(backend, tmp_path)
    with pytest.raises(InvalidRequest, match="checkpoint /nope/7 does not exist"):
        backend.train_step(step_req(tmp_path, 0, ref, [1.0] * n, checkpoint_in="/nope/7"))
    with pytest.raises(InvalidRequest, match="one value per rollout"):
        backend.train_step(step_req(tmp_path, 0, ref, [1.0]))
    with pytest.raises(InvalidRequest, match="unknown loss"):
        backend.train_step(step_req(tmp_path, 0, ref, [1.0] * n, loss="dpo"))
    with pytest.raises(InvalidRequest, match="zero advantage"):
        backend.train_step(step_req(tmp_path, 0, ref, [0.0] * n))


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(backend, tmp_path):
    ref, n = rollouts(backend, tmp_path)
    good = backend.train_step(step_req(tmp_path, 0, ref, [1.0] * n))
    with pytest.raises(NonFiniteLoss, match=r"step 1: loss=.* is not finite; no checkpoint written"):
        backend.train_step(step_req(tmp_path, 1, ref, [float("nan")] * n, good["checkpoint_out"]))
    assert not (tmp_path / "ckpt" / "1").exists()
    # the run can go on from the last good checkpoint
    ok = backend.train_step(step_req(tmp_path, 1, ref, [1.0] * n, good["checkpoint_out"]))
    assert not ok["reused"]


def test_activity_maps_errors_to_non_retryable_application_errors(tmp_path):
    from temporalio.exceptions import ApplicationError
    from temporalio.testing import ActivityEnvironment

    from gepa_rl_trainer.activities import policy_sample

    env = ActivityEnvironment()
    res = env.run(policy_sample, sample_req(tmp_path, num_samples=1, max_tokens=3))
    assert len(res["num_tokens"]) == 2
    with pytest.raises(ApplicationError) as e:
        env.run(policy_sample, {"model": TINY})
    # refused at the boundary by the request schema (test_requests.py), before any backend runs
    assert e.value.non_retryable and e.value.type == "InvalidConfig" and "num_samples: required, got nothing" in str(e.value)


def test_fresh_lora_adapter_does_not_depend_on_the_global_rng(tmp_path):
    """The same run gives the same training whatever the worker did before (seeded LoRA init)."""
    import torch

    weights = []
    for global_seed in (0, 12345):
        torch.manual_seed(global_seed)
        b = LocalBackend()
        live = b.live_model(TINY, None)
        weights.append({k: v.detach().clone() for k, v in live.model.named_parameters() if "lora_A" in k})
    assert weights[0] and weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def shifted_rollouts(ref, tmp_path, shift):
    """The same rollouts with every sampler logprob moved by `shift`: ratio = p_train / p_sampler = exp(-shift)."""
    blob = blobs.read_json(ref)
    for r in blob["rollouts"]:
        r["logprobs"] = [lp + shift for lp in r["logprobs"]]
    return blobs.write_json(str(tmp_path / "shifted"), blob)


def test_first_step_from_the_sampling_weights_has_zero_kl_and_ratio_one(backend, tmp_path):
    ref, n = rollouts(backend, tmp_path)  # sampled from the base weights ...
    out = backend.train_step(step_req(tmp_path, 0, ref, [1.0] * n))  # ... and trained from the same weights
    m = out["metrics"]
    assert abs(m["kl_sample_train_v1"]) < 1e-4 and 0 <= m["kl_sample_train_v2"] < 1e-6
    # ratio 1 everywhere: the importance-sampling surrogate is -(sum over tokens of the advantage), as Tinker's
    assert m["loss"] == pytest.approx(-m["tokens"], rel=1e-4)
    # the KL metrics do see a mismatch when there is one (sampler logprobs off by 0.5 nats)
    off = backend.train_step(step_req(tmp_path / "off", 0, shifted_rollouts(ref, tmp_path, -0.5), [1.0] * n))["metrics"]
    assert off["kl_sample_train_v1"] == pytest.approx(-0.5, abs=1e-3) and off["kl_sample_train_v2"] == pytest.approx(0.125, abs=1e-3)


@pytest.mark.parametrize(
    "shift, advantage, clipped",
    [
        (-1.0, 1.0, True),  # ratio e > 1.2 with A > 0: the clipped side (1.2 A) is the minimum, no gradient
        (1.0, -1.0, True),  # ratio 1/e < 0.8 with A < 0: the clipped side (0.8 A) is the minimum, no gradient
        (1.0, 1.0, False),  # ratio 1/e < 0.8 with A > 0: the unclipped side is the minimum, gradient flows
        (-1.0, -1.0, False),  # ratio e > 1.2 with A < 0: the unclipped side is the minimum, gradient flows
    ],
)
def test_ppo_clips_the_ratio_to_0_8_1_2(backend, tmp_path, shift, advantage, clipped):
    ref, n = rollouts(backend, tmp_path)
    ref = shifted_rollouts(ref, tmp_path, shift)
    ppo = backend.train_step(step_req(tmp_path / "ppo", 0, ref, [advantage] * n, loss="ppo"))["metrics"]
    plain = backend.train_step(step_req(tmp_path / "is", 0, ref, [advantage] * n))["metrics"]
    ratio = math.exp(-shift)
    assert plain["grad_norm"] > 0 and plain["loss"] == pytest.approx(-ratio * advantage * plain["tokens"], rel=1e-3)
    if clipped:
        bound = 1.2 if ratio > 1 else 0.8
        assert ppo["grad_norm"] == 0.0
        assert ppo["loss"] == pytest.approx(-bound * advantage * ppo["tokens"], rel=1e-5)
    else:
        assert ppo["grad_norm"] == pytest.approx(plain["grad_norm"], rel=1e-4)
        assert ppo["loss"] == pytest.approx(plain["loss"], rel=1e-5)


def test_nan_loss_becomes_a_non_retryable_application_error_of_type_non_finite_loss(tmp_path):
    from temporalio.exceptions import ApplicationError
    from temporalio.testing import ActivityEnvironment

    from gepa_rl_trainer.activities import policy_sample, train_step

    env = ActivityEnvironment()
    res = env.run(policy_sample, sample_req(tmp_path / "blobs", num_samples=2, max_tokens=4))
    n = sum(len(x) for x in res["num_tokens"])
    with pytest.raises(ApplicationError) as e:
        env.run(train_step, step_req(tmp_path, 0, res["rollouts_ref"], [float("nan")] * n))
    assert e.value.non_retryable and e.value.type == "NonFiniteLoss"
    assert "step 0: loss=nan" in str(e.value) and "is not finite" in str(e.value)
    assert not (tmp_path / "ckpt" / "0").exists()


def test_tempered_top_p_rollouts_are_on_policy_at_the_first_step(backend, tmp_path):
    """Sampled at T=0.7, top_p=0.9: the learner scores under that distribution, so the ratio is 1."""
    res = backend.sample(dict(sample_req(tmp_path / "blobs", seed=2, num_samples=4, max_tokens=6), sampling={"max_tokens": 6, "temperature": 0.7, "top_p": 0.9, "seed": 2}))
    n = sum(len(x) for x in res["num_tokens"])
    m = backend.train_step(step_req(tmp_path, 0, res["rollouts_ref"], [1.0] * n))["metrics"]
    assert abs(m["kl_sample_train_v1"]) < 1e-4 and 0 <= m["kl_sample_train_v2"] < 1e-6
    assert m["loss"] == pytest.approx(-m["tokens"], rel=1e-4)


def test_cross_entropy_loss_is_the_summed_nll_of_every_completion_token(backend, tmp_path):
    import torch

    from gepa_rl_trainer.datums import training_examples

    ex = [{"messages": [{"role": "user", "content": "What is 2+2?"}], "completion": "4"},
          {"messages": [{"role": "user", "content": "Name a colour."}], "completion": "Blue, or perhaps green."}]
    req = {"run_id": "ce", "step": 0, "model": TINY, "checkpoint_in": None, "checkpoint_root": str(tmp_path / "ce"),
           "loss": "cross_entropy", "sft_examples_ref": blobs.write_json(str(tmp_path), ex), "optim": OPTIM}
    tok = backend.tokenizer("tiny-random")
    data = training_examples(req, tok)
    with torch.no_grad():
        nll = -sum(float(lp_T.sum()) for lp_T, _ in forward_logprobs(backend.live_model(TINY, None).model, tok, data, backend.device))
    m = backend.train_step(req)["metrics"]
    assert m["tokens"] == sum(len(d["completion"]) for d in data)
    assert m["loss"] == pytest.approx(nll, rel=1e-5)  # a sum, not a mean over tokens (Tinker's convention)


def test_grad_clip_zero_does_not_clip(backend, tmp_path):
    import torch

    ref, n = rollouts(backend, tmp_path)
    free = backend.train_step(step_req(tmp_path / "free", 0, ref, [1.0] * n, grad_clip=0.0))
    huge = backend.train_step(step_req(tmp_path / "huge", 0, ref, [1.0] * n, grad_clip=1e9))
    assert free["metrics"]["grad_norm"] == pytest.approx(huge["metrics"]["grad_norm"], rel=1e-5) and free["metrics"]["grad_norm"] > 0
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        trained = LocalBackend().live_model(TINY, free["checkpoint_out"]).model(input_ids=ids).logits
        base = LocalBackend().live_model(TINY, None).model(input_ids=ids).logits
    assert not torch.allclose(trained, base, atol=1e-4)  # the step moved the weights
