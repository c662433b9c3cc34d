"""Checkpoint folders of one run (or phase) on disk, shared by the local and Tinker backends (DESIGN §4.3).

Step k lives in <root>/<k>/ and is complete when it holds a DONE marker; the index checkpoints.jsonl
sits beside <root>. A folder is written under <root>/<k>.tmp-<pid> and renamed into place, so a
killed write leaves only a .tmp-* folder, which the next write removes. A write that fails (a full
disk) removes its .tmp-* folder at once and says how much space is left (CheckpointWriteError); the
backends never load a folder without DONE.

Every train step writes its checkpoint (a resumed run needs the latest), but only the steps the
workflow marks keep=true (every save_every-th and the last) stay: a step written with keep=false is
pruned once the next step, trained from it, is DONE. Its index row then says "pruned": true.

Two trainer workers can hold the same step at once (a slow attempt whose heartbeat timed out, and its
retry on another worker): step_lock serialises them per step folder across processes (flock on
<root>/.locks/<k>, released by the kernel when a holder dies), so the DONE check, the write, the index
row and the pruning happen under it, and the second one returns the first one's checkpoint.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InvalidRequest

TMP_MARK = ".tmp-"


class CheckpointWriteError(OSError):
    """A checkpoint could not be written for want of space (or a failing disk). Retryable: freeing
    space lets the retried step finish; nothing written before is touched."""


class CheckpointDirNotWritable(InvalidRequest):
    """The checkpoint folder is read-only or not ours to write: no retry can fix that."""


def is_done(step_dir: Path) -> bool:
    return (step_dir / "DONE").is_file()


def read_meta(step_dir: Path) -> dict:
    return json.loads((step_dir / "meta.json").read_text())


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own leftover: this process is not writing it now (writes hold the backend lock)
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # exists, but belongs to another user
        return True
    return True


def clean_stale_tmp(root: Path) -> list[str]:
    """Remove <root>/*.tmp-<pid> folders whose writer is gone (killed mid-write). Returns their names."""
    removed = []
    if not root.is_dir():
        return removed
    for p in root.iterdir():
        if TMP_MARK not in p.name:
            continue
        try:
            pid = int(p.name.rsplit(TMP_MARK, 1)[1])
        except ValueError:
            pid = -1  # not ours to judge by pid: a malformed name is stale anyway
        if pid > 0 and _pid_alive(pid):
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p.name)
    return removed


def begin_write(out_dir: Path) -> Path:
    """A fresh temporary folder beside out_dir; stale ones from killed writes are removed first."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_tmp(out_dir.parent)
    tmp = out_dir.parent / f"{out_dir.name}{TMP_MARK}{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def _write_failure(step: int, out_dir: Path, e: BaseException) -> Exception:
    try:
        where = out_dir.parent
        while not where.exists() and where != where.parent:
            where = where.parent
        du = shutil.disk_usage(where)
        space = f"{_mb(du.free)} free of {_mb(du.total)} on that filesystem"
    except OSError:
        space = "free space unknown"
    said = f"cannot write the checkpoint of step {step} to {out_dir}: {type(e).__name__}: {e} ({space})"
    if isinstance(e, OSError) and e.errno in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR):
        return CheckpointDirNotWritable(f"{said}; make that folder writable by the trainer worker or choose another output_dir")
    return CheckpointWriteError(
        f"{said}; free space there or choose another output_dir, and the retried step writes it again. "
        "Nothing earlier is lost: the half-written folder was removed, earlier checkpoints and checkpoints.jsonl are untouched"
    )


@contextmanager
def writing(out_dir: Path, step: int):
    """begin_write ... commit as one unit: yields the temporary folder. If anything in it fails, the
    folder is removed (so a full disk is not kept full by half a checkpoint) and the error names the
    step, the folder and the free space left: torch reports a full disk as a RuntimeError about
    stream positions, safetensors as its own error type. A read-only folder is not retried."""
    try:
        tmp = begin_write(out_dir)
    except OSError as e:
        raise _write_failure(step, out_dir, e) from e
    try:
        yield tmp
    except Exception as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _write_failure(step, out_dir, e) from e
    except BaseException:  # a cancel or a kill of the call: no write error to describe
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def commit(tmp: Path, out_dir: Path, meta: dict) -> None:
    """Write meta.json and DONE into tmp, then rename it to out_dir (atomic on one filesystem)."""
    (tmp / "meta.json").write_text(json.dumps(meta, allow_nan=False))
    (tmp / "DONE").write_text("")
    if out_dir.exists():  # an incomplete folder (no DONE) from an older layout
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)


def resumes_run(checkpoint_in: str | None, run_id: str, step: int) -> bool:
    """Whether a train step from checkpoint_in resumes its own run, so that the optimiser state saved
    with those weights comes along: the checkpoint was written by the same run id at an earlier step.
    Any other starting checkpoint (another run's or phase's: RL from an SFT checkpoint, expert
    distillation from RL weights, a user's checkpoint) gives the weights only, with a fresh
    optimiser, as tinker-cookbook (rl/train.py, supervised/train.py: load_checkpoint_path loads
    weights, the optimiser only on resume) and every HF/TRL Trainer do."""
    if not checkpoint_in:
        return False
    try:
        meta = read_meta(Path(checkpoint_in))
    except (OSError, json.JSONDecodeError):
        return False
    try:
        return meta.get("run_id") == run_id and int(meta.get("step", step)) < int(step)
    except (TypeError, ValueError):
        return False


def _index(root: Path) -> Path:
    return root.parent / "checkpoints.jsonl"


def _rows(index: Path) -> list[dict | str]:
    out: list[dict | str] = []
    if index.exists():
        for line in index.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                out.append(line)  # kept verbatim: not ours to drop
    return out


def record(root: Path, step: int, out_dir: Path, metrics: dict, keep: bool = True) -> None:
    """Append the step to checkpoints.jsonl once."""
    index = _index(root)
    if any(isinstance(r, dict) and r.get("step") == step for r in _rows(index)):
        return
    row = {"step": step, "path": str(out_dir), "keep": keep, "metrics": metrics, "time": time.time()}
    # a write cut short (a full disk, a kill) leaves a last line without its newline: start a new
    # line, or this row would be glued to that fragment and lost with it
    torn = index.exists() and index.stat().st_size > 0 and not index.read_bytes().endswith(b"\n")
    with open(index, "a") as f:
        f.write(("\n" if torn else "") + json.dumps(row, allow_nan=False) + "\n")


def _mark_pruned(root: Path, step: int) -> None:
    index = _index(root)
    rows = _rows(index)
    lines = []
    for r in rows:
        if isinstance(r, dict) and r.get("step") == step:
            r = {**r, "pruned": True}
        lines.append(r if isinstance(r, str) else json.dumps(r, allow_nan=False))
    tmp = index.with_name(index.name + f"{TMP_MARK}{os.getpid()}")
    try:
        tmp.write_text("".join(line + "\n" for line in lines))
        os.replace(tmp, index)
    except BaseException:
        tmp.unlink(missing_ok=True)  # the index stays as it was; the retry marks the row again
        raise


def prune_superseded(root: Path, checkpoint_in: str | None, out_dir: Path, step: int | None = None) -> bool:
    """After out_dir (trained from checkpoint_in) is DONE: remove checkpoint_in if it is the previous
    step (step - 1) of this root and was written with keep=false. Checkpoints of other roots (an
    earlier phase, a user's starting checkpoint), of any other step (a run restarted from a step of
    an older run in the same folder) and kept steps are never touched. Returns whether it pruned."""
    if not checkpoint_in or not is_done(out_dir):
        return False
    prev = Path(checkpoint_in).resolve()
    if prev == out_dir.resolve() or prev.parent != root.resolve() or not is_done(prev):
        return False
    try:
        meta = read_meta(prev)
    except (OSError, json.JSONDecodeError):
        return False
    if meta.get("keep", True):
        return False
    if step is not None and int(meta.get("step", -1)) != step - 1:
        return False
    # index first, then the folder: a crash in between leaves a DONE folder that the retry prunes again
    _mark_pruned(root, int(meta.get("step", prev.name)))
    doomed = prev.parent / f"{prev.name}{TMP_MARK}{os.getpid()}"
    if doomed.exists():
        shutil.rmtree(doomed)
    os.replace(prev, doomed)  # gone from <root>/<k> at once; a crash mid-delete leaves a stale .tmp-*
    shutil.rmtree(doomed)
    return True


@contextmanager
def step_lock(req: dict) -> Iterator[None]:
    """Hold the lock of the step folder a train_step request writes, across processes."""
    locks = Path(req["checkpoint_root"]).resolve() / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / str(int(req["step"])), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # blocks while another worker trains this step; the pulse keeps heartbeating
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def step_target(req: dict, t0: float) -> tuple[int, Path, Path, bool, dict | None]:
    """Where a train_step request writes (step, root, out_dir, keep) and, when that step is already
    DONE (a retry, DESIGN §4.3), the result to return at once: its index row is recorded and the
    superseded step pruned as the first attempt would have."""
    step = int(req["step"])
    root = Path(req["checkpoint_root"]).resolve()
    out_dir = root / str(step)
    keep = bool(req.get("keep", True))
    if not is_done(out_dir):
        return step, root, out_dir, keep, None
    meta = read_meta(out_dir)
    record(root, step, out_dir, meta["metrics"], meta.get("keep", keep))
    prune_superseded(root, req.get("checkpoint_in"), out_dir, step)
    return step, root, out_dir, keep, {"checkpoint_out": str(out_dir), "metrics": meta["metrics"], "reused": True, "seconds": time.time() - t0}
