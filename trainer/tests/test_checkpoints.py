"""Checkpoint lifecycle of the local backend: save_every pruning, stale temporary folders, the live-model
cache following checkpoint_in, and full fine-tuning (lora_rank=0) reloading strictly."""
import json
import os
from pathlib import Path

import pytest
import torch

from conftest import OPTIM, TINY, sample_req
from gepa_rl_trainer import blobs
from gepa_rl_trainer.backends.local import LocalBackend
from gepa_rl_trainer.errors import InvalidRequest

IDS = torch.tensor([[1, 2, 3, 4, 5]])


def rollouts(backend, tmp_path, model=TINY):
    req = sample_req(tmp_path / "blobs", seed=1, num_samples=4, max_tokens=6)
    req["model"] = model
    res = backend.sample(req)
    return res["rollouts_ref"], len(blobs.read_json(res["rollouts_ref"])["rollouts"])


def step_req(root, step, ref, n, checkpoint_in=None, keep=None, model=TINY, lr=1e-2):
    req = {"run_id": "c", "step": step, "model": model, "checkpoint_in": checkpoint_in, "checkpoint_root": str(root),
           "loss": "importance_sampling", "rollouts_ref": ref, "advantages": [1.0, -1.0] * (n // 2), "optim": dict(OPTIM, learning_rate=lr)}
    if keep is not None:
        req["keep"] = keep
    return req


def index_rows(root):
    return {r["step"]: r for r in map(json.loads, (Path(root).parent / "checkpoints.jsonl").read_text().splitlines())}


def logits(backend, model, checkpoint):
    with torch.no_grad():
        return backend.live_model(model, checkpoint).model(input_ids=IDS).logits.clone()


def test_save_every_keeps_marked_steps_and_prunes_the_others_once_superseded(backend, tmp_path):
    ref, n = rollouts(backend, tmp_path)
    root = tmp_path / "run" / "checkpoints"
    keep_by_step = [False, True, False, False, True]  # save_every=2 over 5 batches: steps 1 and 4 (the last) are kept
    ckpt = None
    for s, keep in enumerate(keep_by_step):
        out = backend.train_step(step_req(root, s, ref, n, ckpt, keep=keep))
        assert Path(out["checkpoint_out"]).is_dir()  # the newest step is always on disk, kept or not
        ckpt = out["checkpoint_out"]
    assert sorted(p.name for p in root.iterdir()) == ["1", "4"]
    rows = index_rows(root)
    assert {s: (r["keep"], r.get("pruned", False)) for s, r in rows.items()} == {
        0: (False, True), 1: (True, False), 2: (False, True), 3: (False, True), 4: (True, False)}
    # resume from the latest in a fresh worker: the chain goes on
    nxt = LocalBackend().train_step(step_req(root, 5, ref, n, ckpt, keep=True))
    assert not nxt["reused"] and json.loads((Path(nxt["checkpoint_out"]) / "meta.json").read_text())["checkpoint_in"] == ckpt


def test_an_unkept_step_survives_until_its_successor_is_done_and_a_retry_finishes_the_prune(backend, tmp_path, monkeypatch):
    ref, n = rollouts(backend, tmp_path)
    root = tmp_path / "checkpoints"
    a = backend.train_step(step_req(root, 0, ref, n, keep=False))
    # the worker dies after step 1 is DONE but before it pruned step 0
    import gepa_rl_trainer.backends.local as local

    def crash(*_a, **_k):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(local.ckpts, "prune_superseded", crash)
    with pytest.raises(KeyboardInterrupt):
        backend.train_step(step_req(root, 1, ref, n, a["checkpoint_out"], keep=True))
    assert (root / "0" / "DONE").is_file() and (root / "1" / "DONE").is_file()
    monkeypatch.undo()
    again = backend.train_step(step_req(root, 1, ref, n, a["checkpoint_out"], keep=True))
    assert again["reused"]
    assert not (root / "0").exists() and index_rows(root)[0]["pruned"] is True


def test_requests_without_keep_and_other_roots_are_never_pruned(backend, tmp_path):
    ref, n = rollouts(backend, tmp_path)
    earlier_phase = backend.train_step(step_req(tmp_path / "round0" / "checkpoints", 0, ref, n, keep=False))
    root = tmp_path / "round1" / "checkpoints"
    a = backend.train_step(step_req(root, 0, ref, n, earlier_phase["checkpoint_out"], keep=False))
    assert Path(earlier_phase["checkpoint_out"], "DONE").is_file()  # another phase's checkpoint is not ours to prune
    b = backend.train_step(step_req(root, 1, ref, n, a["checkpoint_out"]))  # SFT/expert iteration send no keep: kept
    backend.train_step(step_req(root, 2, ref, n, b["checkpoint_out"]))
    assert sorted(p.name for p in root.iterdir()) == ["1", "2"]
    assert index_rows(root)[1]["keep"] is True


def test_a_run_restarted_from_an_unkept_step_of_an_older_run_never_prunes_its_start(backend, tmp_path):
    ref, n = rollouts(backend, tmp_path)
    root = tmp_path / "my-run" / "checkpoints"
    ckpt = None
    for s in range(3):  # an older run in this folder: steps 0..2, none kept (it died before its last)
        ckpt = backend.train_step(step_req(root, s, ref, n, ckpt, keep=False))["checkpoint_out"]
    assert sorted(p.name for p in root.iterdir()) == ["2"]
    # a new run in the same folder starts from that step 2 at its own step 5: step 2 is not its step 4
    backend.train_step(step_req(root, 5, ref, n, ckpt, keep=False))
    assert (root / "2" / "DONE").is_file() and not index_rows(root)[2].get("pruned", False)


def test_a_step_that_fails_after_the_optimiser_moved_is_retried_from_checkpoint_in(backend, tmp_path, monkeypatch):
    ref, n = rollouts(backend, tmp_path)
    root = tmp_path / "checkpoints"
    a = backend.train_step(step_req(root, 0, ref, n))["checkpoint_out"]

    def disk_full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backend, "_save", disk_full)
    with pytest.raises(OSError):
        backend.train_step(step_req(root, 1, ref, n, a))
    monkeypatch.undo()
    retried = backend.train_step(step_req(root, 1, ref, n, a))
    # the retry is one step from checkpoint a, exactly what a fresh worker computes (not two steps)
    fresh = LocalBackend().train_step(step_req(tmp_path / "fresh" / "checkpoints", 1, ref, n, a))
    assert torch.allclose(logits(backend, TINY, retried["checkpoint_out"]), logits(LocalBackend(), TINY, fresh["checkpoint_out"]), atol=1e-5)


def test_stale_tmp_folders_of_a_killed_write_are_removed_by_the_next_write(backend, tmp_path):
    ref, n = rollouts(backend, tmp_path)
    root = tmp_path / "checkpoints"
    root.mkdir()
    dead = root / "3.tmp-99999999"  # beyond any pid_max: its writer is gone
    (dead / "adapter").mkdir(parents=True)
    (dead / "adapter" / "half.bin").write_bytes(b"x" * 100)
    mine = root / f"0.tmp-{os.getpid()}"  # a leftover of this very process (an earlier attempt it abandoned)
    mine.mkdir()
    alive = root / f"9.tmp-{os.getppid()}"  # another live process may still be writing this one
    alive.mkdir()
    out = backend.train_step(step_req(root, 0, ref, n))
    assert sorted(p.name for p in root.iterdir()) == sorted(["0", alive.name])
    assert (Path(out["checkpoint_out"]) / "DONE").is_file()


def test_cached_live_model_is_rebuilt_when_checkpoint_in_differs(backend, tmp_path):
    ref, n = rollouts(backend, tmp_path)
    root = tmp_path / "checkpoints"
    a = backend.train_step(step_req(root, 0, ref, n, lr=5e-2))["checkpoint_out"]
    b = backend.train_step(step_req(root, 1, ref, n, a, lr=5e-2))["checkpoint_out"]
    ref_a, ref_b = logits(LocalBackend(), TINY, a), logits(LocalBackend(), TINY, b)
    assert not torch.allclose(ref_a, ref_b, atol=1e-4)
    assert backend.models.live.checkpoint == b
    # same backend instance: ask for A (older than the cache), then B again
    backend.sample(dict(sample_req(tmp_path / "blobs", num_samples=1, max_tokens=2), checkpoint=a))
    assert backend.models.live.checkpoint == a and torch.allclose(logits(backend, TINY, a), ref_a, atol=1e-5)
    # training from B after the cache moved to A must start from B's weights (and B's optimizer)
    c = backend.train_step(step_req(root, 2, ref, n, b, lr=5e-2))["checkpoint_out"]
    assert json.loads((Path(c) / "meta.json").read_text())["checkpoint_in"] == b
    fresh_c = LocalBackend().train_step(step_req(tmp_path / "again", 2, ref, n, b, lr=5e-2))["checkpoint_out"]
    assert torch.allclose(logits(LocalBackend(), TINY, c), logits(LocalBackend(), TINY, fresh_c), atol=1e-5)


FULL = {"backend": "local", "base_model": "tiny-random", "lora_rank": 0}


def test_full_fine_tuning_trains_saves_and_reloads_strictly(tmp_path):
    b = LocalBackend()
    ref, n = rollouts(b, tmp_path, model=FULL)
    base = logits(b, FULL, None)
    out = b.train_step(step_req(tmp_path / "ckpt", 0, ref, n, model=FULL, lr=5e-2))
    ckpt = out["checkpoint_out"]
    assert (Path(ckpt) / "model.safetensors").is_file() and (Path(ckpt) / "optimizer.pt").is_file()
    trained = logits(b, FULL, ckpt)
    assert not torch.allclose(trained, base, atol=1e-4)
    assert torch.allclose(logits(LocalBackend(), FULL, ckpt), trained, atol=1e-5)  # every weight came back
    # the next step resumes from it in a fresh worker
    nxt = LocalBackend().train_step(step_req(tmp_path / "ckpt", 1, ref, n, ckpt, model=FULL))
    assert not nxt["reused"]
    # a LoRA checkpoint is not a full model: a clear error, not a silent partial load
    lora = b.train_step(step_req(tmp_path / "lora", 0, ref, n))["checkpoint_out"]
    with pytest.raises(InvalidRequest, match=r"does not fit model 'tiny-random' with lora_rank=0"):
        LocalBackend().live_model(FULL, lora)
    # a full checkpoint missing a tensor is refused too (strict), naming the key
    from safetensors.torch import load_file, save_file

    broken = tmp_path / "broken"
    broken.mkdir()
    tensors = load_file(str(Path(ckpt) / "model.safetensors"))
    tensors.pop("model.norm.weight")
    save_file(tensors, str(broken / "model.safetensors"))
    (broken / "DONE").write_text("")
    with pytest.raises(InvalidRequest, match="model.norm.weight"):
        LocalBackend().live_model(FULL, str(broken))


def test_two_workers_on_one_step_train_it_once_and_return_the_same_checkpoint(backend, tmp_path):
    """Two trainer worker processes run the train_step activity for the same step at the same time
    (an attempt whose heartbeat timed out while it still ran, and its retry elsewhere): the done check
    is under the step's lock, so one trains and commits, the other waits and gets that checkpoint."""
    import subprocess
    import sys

    ref, n = rollouts(backend, tmp_path)
    root = tmp_path / "run" / "checkpoints"
    req = step_req(root, 0, ref, n, keep=True)
    (tmp_path / "req.json").write_text(json.dumps(req))
    go = tmp_path / "go"
    script = (
        "import json, os, sys, time\n"
        "from gepa_rl_trainer.activities import backend_for, train_step\n"
        f"req = json.load(open({str(tmp_path / 'req.json')!r}))\n"
        "backend_for(req['model']).live_model(req['model'], None)  # both load the model first\n"
        f"open({str(tmp_path)!r} + f'/ready-{{os.getpid()}}', 'w').close()\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.01)\n"
        "print(json.dumps(train_step(req)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "GEPA_RL_TORCH_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        import time
        for _ in range(6000):
            if len(list(tmp_path.glob("ready-*"))) == 2:
                break
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.05)
        go.write_text("")  # both reach the done check together
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=600)
            assert p.returncode == 0, err
            outs.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert sorted(o["reused"] for o in outs) == [False, True]
    assert outs[0]["checkpoint_out"] == outs[1]["checkpoint_out"] == str(root.resolve() / "0")
    assert outs[0]["metrics"] == outs[1]["metrics"]
    assert sorted(p.name for p in root.iterdir()) == [".locks", "0"]  # one folder, no .tmp-* left
    assert list(index_rows(root)) == [0]  # one index row
    meta = json.loads((root / "0" / "meta.json").read_text())
    assert meta["metrics"] == outs[0]["metrics"]
