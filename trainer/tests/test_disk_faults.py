"""Disk faults of checkpoint writes (issue 15, item 6), on a real tmpfs of a few MB mounted for the
test: a disk that fills up mid-checkpoint, a read-only checkpoint folder, an index line cut short.
Each gives a clear error, never leaves a half-written checkpoint that could be loaded, and loses
nothing written before (earlier checkpoints and checkpoints.jsonl rows intact)."""
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from gepa_rl_trainer import checkpoints as ckpts
from gepa_rl_trainer.activities import disk_failure, train_step
from gepa_rl_trainer.errors import InvalidRequest
from test_checkpoints import rollouts, step_req


@pytest.fixture
def tmpfs(tmp_path):
    """A 4 MB tmpfs (the test runs as root); unmounted afterwards whatever happened."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the disk-full test (needs root or CAP_SYS_ADMIN): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(mnt: Path) -> Path:
    """Fill the filesystem to the last byte; returns the filler file (delete it to free the space)."""
    filler = mnt / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (1 << 16, 1 << 10, 1):  # big writes first, then down to the last byte
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)
    assert os.statvfs(mnt).f_bavail == 0
    return filler


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def index_lines(root: Path) -> list[str]:
    return (root.parent / "checkpoints.jsonl").read_text().splitlines()


def test_a_disk_that_fills_up_mid_checkpoint_fails_clearly_keeps_everything_before_and_the_retry_finishes(backend, tmp_path, tmpfs):
    ref, n = rollouts(backend, tmp_path)  # blobs on the real disk; only the run's checkpoints on the tmpfs
    root = tmpfs / "run" / "checkpoints"
    first = backend.train_step(step_req(root, 0, ref, n, keep=True))
    step0 = Path(first["checkpoint_out"])
    before = digest(step0)
    lines_before = index_lines(root)
    filler = fill(tmpfs)

    with pytest.raises(ckpts.CheckpointWriteError) as err:
        backend.train_step(step_req(root, 1, ref, n, checkpoint_in=str(step0), keep=True))
    msg = str(err.value)
    assert f"cannot write the checkpoint of step 1 to {root / '1'}" in msg
    assert "0.0 MB free of 4.0 MB on that filesystem" in msg
    assert "free space there or choose another output_dir" in msg
    # retryable for Temporal: an OSError, not an InvalidRequest
    assert isinstance(err.value, OSError) and not isinstance(err.value, InvalidRequest)

    # no half-written checkpoint anywhere: no step folder, no temporary folder left to fill the disk
    assert sorted(p.name for p in root.iterdir()) == ["0"]
    # nothing written before is lost: step 0 byte for byte, the index rows as they were
    assert digest(step0) == before
    assert index_lines(root) == lines_before
    assert [json.loads(x)["step"] for x in index_lines(root)] == [0]
    # a folder without DONE is never loaded (a user pointing checkpoint_in at an interrupted write)
    half = root / "1"
    half.mkdir()
    (half / "adapter_model.safetensors").write_bytes(b"")
    with pytest.raises(InvalidRequest, match=r"incomplete \(no DONE marker\)"):
        backend.train_step(step_req(root, 2, ref, n, checkpoint_in=str(half), keep=True))
    shutil.rmtree(half)

    # space freed: the retried step writes its checkpoint, trained from step 0, and its index row
    filler.unlink()
    again = backend.train_step(step_req(root, 1, ref, n, checkpoint_in=str(step0), keep=True))
    assert not again["reused"]
    assert sorted(p.name for p in root.iterdir()) == ["0", "1"]
    assert ckpts.is_done(root / "1") and ckpts.read_meta(root / "1")["checkpoint_in"] == str(step0)
    assert [json.loads(x)["step"] for x in index_lines(root)] == [0, 1]
    assert digest(step0) == before


def test_a_read_only_checkpoint_folder_fails_at_once_saying_so(backend, tmp_path, tmpfs):
    ref, n = rollouts(backend, tmp_path)
    root = tmpfs / "run" / "checkpoints"
    backend.train_step(step_req(root, 0, ref, n, keep=True))
    lines_before = index_lines(root)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    with pytest.raises(ckpts.CheckpointDirNotWritable) as err:
        backend.train_step(step_req(root, 1, ref, n, checkpoint_in=str(root / "0"), keep=True))
    assert "Read-only file system" in str(err.value)
    assert "make that folder writable by the trainer worker or choose another output_dir" in str(err.value)
    # through the activity: non-retryable, no retry loop against a read-only disk (the step's lock file
    # under checkpoints/.locks is the first write, so the run-directory failure names that folder)
    with pytest.raises(ApplicationError) as app:
        ActivityEnvironment().run(train_step, step_req(root, 1, ref, n, checkpoint_in=str(root / "0"), keep=True))
    assert app.value.non_retryable and app.value.type == "RunDirError"
    assert "Read-only file system" in str(app.value) and "writable" in str(app.value)
    assert sorted(p.name for p in root.iterdir()) == ["0"] and index_lines(root) == lines_before


def test_an_index_line_cut_short_never_swallows_the_next_row(tmp_path):
    root = tmp_path / "run" / "checkpoints"
    root.mkdir(parents=True)
    index = root.parent / "checkpoints.jsonl"
    good = json.dumps({"step": 0, "path": str(root / "0"), "keep": True, "metrics": {}, "time": 0})
    index.write_text(good + "\n" + '{"step": 1, "path": "/x/1", "ke')  # the append of step 1 cut short by a full disk
    ckpts.record(root, 1, root / "1", {"loss": 0.5})
    lines = index.read_text().splitlines()
    assert lines[0] == good  # untouched
    assert lines[1] == '{"step": 1, "path": "/x/1", "ke'  # the fragment is kept verbatim, not ours to drop
    assert json.loads(lines[2])["step"] == 1 and json.loads(lines[2])["metrics"] == {"loss": 0.5}
    ckpts.record(root, 1, root / "1", {"loss": 0.5})  # a retry writes nothing more
    assert len(index.read_text().splitlines()) == 3


def test_a_described_checkpoint_write_failure_is_a_retried_disk_full_with_its_own_message():
    said = "cannot write the checkpoint of step 3 to /r/3: OSError: no space (0.0 MB free of 4.0 MB on that filesystem)"
    failure = disk_failure(ckpts.CheckpointWriteError(said))
    assert failure is not None and failure.type == "DiskFull" and not failure.non_retryable
    assert failure.message == said
