"""Adam state across checkpoints on the local backend (issue 23, item 1): a step that resumes its own
run (the checkpoint is an earlier step of the same run id) continues that run's Adam state; a step
from another run's checkpoint gets the weights only and a fresh Adam built from the request (as
tinker-cookbook and HF/TRL do); the request's Adam settings apply on every step."""
from pathlib import Path

import torch

from conftest import OPTIM, TINY, sample_req
from gepa_rl_trainer import blobs
from gepa_rl_trainer import checkpoints as ckpts
from gepa_rl_trainer.backends.local import LocalBackend


def rollouts(backend, tmp_path):
    res = backend.sample(sample_req(tmp_path / "blobs", seed=3, num_samples=4, max_tokens=6))
    return res["rollouts_ref"], len(blobs.read_json(res["rollouts_ref"])["rollouts"])


def req(tmp_path, run_id, step, ref, n, checkpoint_in, root, **optim):
    return {"run_id": run_id, "step": step, "model": TINY, "checkpoint_in": checkpoint_in, "checkpoint_root": str(tmp_path / root),
            "loss": "importance_sampling", "rollouts_ref": ref, "advantages": [1.0, -1.0] * (n // 2), "optim": dict(OPTIM, **optim)}


def adam_state(checkpoint: str) -> dict:
    """The saved AdamW state: the step count of its first parameter and its param group settings."""
    sd = torch.load(Path(checkpoint) / "optimizer.pt")
    first = next(iter(sd["state"].values()))
    g = sd["param_groups"][0]
    return {"steps": int(first["step"]), "betas": tuple(g["betas"]), "eps": g["eps"], "weight_decay": g["weight_decay"], "lr": g["lr"]}


def two_steps_of_run_a(backend, tmp_path):
    ref, n = rollouts(backend, tmp_path)
    a0 = backend.train_step(req(tmp_path, "A", 0, ref, n, None, "a"))["checkpoint_out"]
    a1 = backend.train_step(req(tmp_path, "A", 1, ref, n, a0, "a"))["checkpoint_out"]
    assert adam_state(a1)["steps"] == 2
    return ref, n, a0, a1


def test_resumes_run_is_same_run_id_at_an_earlier_step(tmp_path):
    backend = LocalBackend()
    _, _, a0, a1 = two_steps_of_run_a(backend, tmp_path)
    assert ckpts.resumes_run(a1, "A", 2) and ckpts.resumes_run(a0, "A", 1)
    assert not ckpts.resumes_run(a1, "B", 2)  # another run
    assert not ckpts.resumes_run(a1, "A", 1)  # not an earlier step of this run
    assert not ckpts.resumes_run(None, "A", 0)


def test_another_runs_checkpoint_gives_weights_and_a_fresh_adam_in_the_same_worker(tmp_path):
    backend = LocalBackend()
    ref, n, _, a1 = two_steps_of_run_a(backend, tmp_path)
    # the worker still holds run A's live model and Adam state at a1: run B must not inherit it
    b0 = backend.train_step(req(tmp_path, "B", 0, ref, n, a1, "b"))["checkpoint_out"]
    assert adam_state(b0)["steps"] == 1


def test_another_runs_checkpoint_gives_a_fresh_adam_in_a_new_worker(tmp_path):
    ref, n, _, a1 = two_steps_of_run_a(LocalBackend(), tmp_path)
    b0 = LocalBackend().train_step(req(tmp_path, "B", 0, ref, n, a1, "b"))["checkpoint_out"]
    assert adam_state(b0)["steps"] == 1
    # the fresh Adam's first update is lr x sign(grad) for every trained entry (bias-corrected m/sqrt(v) = ±1)
    with torch.no_grad():
        before = {k: v.clone() for k, v in LocalBackend().live_model(TINY, a1).model.named_parameters() if v.requires_grad}
        after = dict(LocalBackend().live_model(TINY, b0).model.named_parameters())
        moved = torch.cat([(after[k] - before[k]).abs().flatten() for k in before])
        moved = moved[moved > 1e-7]
    lr = OPTIM["learning_rate"]
    # (entries whose gradient is near eps move less; none moves more)
    assert moved.numel() > 0 and float(moved.max()) <= lr * 1.01
    assert float(((moved - lr).abs() <= 0.01 * lr).float().mean()) > 0.9


def test_a_resumed_run_continues_its_adam_state(tmp_path):
    ref, n, _, a1 = two_steps_of_run_a(LocalBackend(), tmp_path)
    a2 = LocalBackend().train_step(req(tmp_path, "A", 2, ref, n, a1, "a"))["checkpoint_out"]
    assert adam_state(a2)["steps"] == 3


def test_changed_adam_settings_apply_on_a_resumed_and_on_a_cached_optimiser(tmp_path):
    backend = LocalBackend()
    ref, n, _, a1 = two_steps_of_run_a(backend, tmp_path)
    changed = {"beta1": 0.8, "beta2": 0.5, "eps": 1e-6, "weight_decay": 0.1, "learning_rate": 3e-3}
    cached = backend.train_step(req(tmp_path, "A", 2, ref, n, a1, "a", **changed))["checkpoint_out"]
    resumed = LocalBackend().train_step(req(tmp_path / "other", "A", 2, ref, n, a1, "a", **changed))["checkpoint_out"]
    for c in (cached, resumed):
        s = adam_state(c)
        assert s["steps"] == 3
        assert (s["betas"], s["eps"], s["weight_decay"], s["lr"]) == ((0.8, 0.5), 1e-6, 0.1, 3e-3)
