"""Disk faults during a checkpoint write, on a real small file system: a tmpfs of a few MB mounted in
a private mount namespace (`unshare -rm`, no root needed on the host where user namespaces are on).
Step 0 is written, the disk is then filled to leave less than a checkpoint, step 1 fails: a clear,
retryable DiskFull failure; no step-1 folder (complete or half-written) is left; step 0 and its index
row are untouched and still load; once space is freed the retry writes step 1. A checkpoint root that
is not writable is a non-retryable RunDirError."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    r'''
    import json, os, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from conftest import OPTIM, TINY, sample_req
    from temporalio.exceptions import ApplicationError
    from gepa_rl_trainer import activities, blobs

    disk = Path(sys.argv[1])
    backend = activities.backend_for(TINY)
    res = backend.sample(sample_req(disk / "blobs", seed=1, num_samples=4, max_tokens=6))
    n = len(blobs.read_json(res["rollouts_ref"])["rollouts"])
    root = disk / "run" / "checkpoints"
    def req(step, ckpt):
        return {"run_id": "d", "step": step, "model": TINY, "checkpoint_in": ckpt, "checkpoint_root": str(root), "keep": True,
                "loss": "importance_sampling", "rollouts_ref": res["rollouts_ref"], "advantages": [1.0, -1.0] * (n // 2), "optim": OPTIM}
    s0 = activities.train_step(req(0, None))
    size0 = sum(p.stat().st_size for p in Path(s0["checkpoint_out"]).rglob("*") if p.is_file())
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    filler = disk / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - size0 // 3))
    out = {"size0": size0}
    try:
        activities.train_step(req(1, s0["checkpoint_out"]))
        out["error"] = None
    except ApplicationError as e:
        out["error"] = {"type": e.type, "non_retryable": e.non_retryable, "message": str(e)}
    out["after_fail"] = sorted(p.name for p in root.iterdir())
    out["index_after_fail"] = [json.loads(l)["step"] for l in (root.parent / "checkpoints.jsonl").read_text().splitlines()]
    backend._live = None  # a fresh load of step 0 from disk
    backend.live_model(TINY, s0["checkpoint_out"])
    filler.unlink()
    s1 = activities.train_step(req(1, s0["checkpoint_out"]))
    out["retry"] = {"reused": s1["reused"], "done": (Path(s1["checkpoint_out"]) / "DONE").is_file()}
    out["index_after_retry"] = [json.loads(l)["step"] for l in (root.parent / "checkpoints.jsonl").read_text().splitlines()]
    print("RESULT " + json.dumps(out))
    '''
)


def test_disk_full_during_a_checkpoint_write(tmp_path):
    if not shutil.which("unshare"):
        raise RuntimeError("unshare (util-linux) is needed to mount the small tmpfs of this test")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    (tmp_path / "script.py").write_text(SCRIPT)
    tests = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": str(tests.parent), "GEPA_RL_TORCH_THREADS": "1"}
    cmd = f"mount -t tmpfs -o size=8m tmpfs {mnt} && exec {sys.executable} {tmp_path / 'script.py'} {mnt} {tests}"
    r = subprocess.run(["unshare", "-rm", "sh", "-c", cmd], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(next(l for l in r.stdout.splitlines() if l.startswith("RESULT "))[7:])
    assert out["error"]["type"] == "DiskFull" and not out["error"]["non_retryable"], out
    assert "the disk is full" in out["error"]["message"] and "free space" in out["error"]["message"]
    assert out["after_fail"] == [".locks", "0"], out  # no step-1 folder, not even a half-written .tmp-*
    assert out["index_after_fail"] == [0]
    assert out["retry"] == {"reused": False, "done": True}
    assert out["index_after_retry"] == [0, 1]


def test_a_checkpoint_root_that_is_not_writable_is_never_retried(tmp_path):
    from gepa_rl_trainer.activities import disk_failure

    e = disk_failure(PermissionError(13, "Permission denied", str(tmp_path / "ro" / "0.tmp-1")))
    assert e.type == "RunDirError" and e.non_retryable and "make it writable" in str(e) and "ro/0.tmp-1" in str(e)
    assert disk_failure(FileNotFoundError(2, "No such file")) is None
