"""The math grader: Math-Verify behind a Temporal activity on task queue gepa-rl-grader.

Why a queue of its own: the trainer queue runs one activity at a time (one model, few cores), so a
chunk's grading would wait behind a train step or another chunk's sampling, and grading is pure CPU
that scales on any machine. The trainer worker process polls this queue too (a second Worker, so the
embedded stack needs no extra process); `python -m gepa_rl_trainer.grader` runs a grader-only worker
(e.g. on CPU machines), and `python -m gepa_rl_trainer.grader --stdin` grades JSON lines
({"gold", "completion", "settings"?} -> one verdict per line; a blank line ends a batch) without
Temporal, for `gepa-rl grade`.
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextvars
import json
import os
import sys
import threading
import time
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from .blobs import BlobError, read_json, write_json
from .errors import INVALID_REQUEST
from .math_grading import shared_pool
from .request_schema import validate_request

GRADER_TASK_QUEUE = os.environ.get("GEPA_RL_GRADER_TASK_QUEUE", "gepa-rl-grader")
PULSE_SECONDS = float(os.environ.get("GEPA_RL_HEARTBEAT_PULSE_S", "2"))


def grade_rollouts(req: dict, on_progress=None) -> dict:
    """Grade every rollout of a sampled chunk against its problem's gold; verdicts go to a blob."""
    t0 = time.monotonic()
    for k in ("rollouts_ref", "golds_ref", "blob_dir"):
        if k not in req:
            raise ApplicationError(f"math_verify_rollouts: field {k!r} is missing (got fields {sorted(req)})", type=INVALID_REQUEST, non_retryable=True)
    try:
        rollouts = read_json(req["rollouts_ref"])["rollouts"]
        golds = read_json(req["golds_ref"])
    except (BlobError, KeyError, TypeError) as e:
        raise ApplicationError(f"math_verify_rollouts: cannot read its blobs: {e}", type=INVALID_REQUEST, non_retryable=True) from e
    pairs = []
    for r in rollouts:
        i = r.get("prompt_index")
        if not isinstance(i, int) or not 0 <= i < len(golds):
            raise ApplicationError(f"math_verify_rollouts: a rollout for prompt {i!r}, but the chunk has {len(golds)} golds", type=INVALID_REQUEST, non_retryable=True)
        pairs.append({"gold": "" if golds[i] is None else str(golds[i]), "completion": r.get("text") or ""})
    verdicts = shared_pool().grade(pairs, on_progress)
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v["status"]] = counts.get(v["status"], 0) + 1
    return {"verdicts_ref": write_json(req["blob_dir"], verdicts), "n": len(verdicts), "counts": counts, "seconds": time.monotonic() - t0}


def _heartbeat(*details) -> None:
    try:
        activity.heartbeat(*details)
    except RuntimeError:  # not inside an activity (direct calls)
        pass


@activity.defn(name="math_verify_rollouts")
def math_verify_rollouts(req: dict) -> dict:
    validate_request("math_verify_rollouts", req)
    done = threading.Event()
    ctx = contextvars.copy_context()

    def pulse():  # a long batch is not a dead worker; a killed worker stops heartbeating
        while not done.wait(PULSE_SECONDS):
            try:
                ctx.run(_heartbeat, "grading")
            except Exception:  # noqa: BLE001
                return

    threading.Thread(target=pulse, name="grader-heartbeat", daemon=True).start()
    try:
        return grade_rollouts(req)
    finally:
        done.set()


GRADER_ACTIVITIES = [math_verify_rollouts]


def grader_worker(client, executor: concurrent.futures.Executor):
    from temporalio.worker import Worker

    return Worker(
        client,
        task_queue=GRADER_TASK_QUEUE,
        activities=GRADER_ACTIVITIES,
        activity_executor=executor,
        max_concurrent_activities=4,  # batches queue on the pool's lock; each heartbeats meanwhile
        graceful_shutdown_timeout=timedelta(seconds=5),
    )


SETTINGS = {"extraction", "precision", "strict", "allow_set_relation_comp"}


def check_settings(s) -> dict | None:
    """Math-Verify's knobs on one `grade` line; anything else is an error naming what was received."""
    if s is None:
        return None
    if not isinstance(s, dict) or set(s) - SETTINGS:
        raise ValueError(f'"settings" takes {sorted(SETTINGS)} (got {json.dumps(s)[:120]})')
    ex = s.get("extraction", "default")
    if ex != "default" and (not isinstance(ex, list) or not ex or any(k not in ("latex", "expr") for k in ex)):
        raise ValueError(f'"settings.extraction" is "default" or a list of "latex" / "expr" (got {json.dumps(ex)[:80]})')
    if not isinstance(s.get("precision", 6), int) or not 0 <= s.get("precision", 6) <= 15:
        raise ValueError(f'"settings.precision" is an integer 0-15, the decimals numbers are rounded to (got {json.dumps(s.get("precision"))})')
    for k in ("strict", "allow_set_relation_comp"):
        if not isinstance(s.get(k, False), bool):
            raise ValueError(f'"settings.{k}" is true or false (got {json.dumps(s.get(k))})')
    return s


def _grade_lines(lines: list[str], out) -> None:
    pairs, where, answers = [], [], [None] * len(lines)
    for n, line in enumerate(lines):
        try:
            o = json.loads(line)
            if not isinstance(o, dict) or not isinstance(o.get("gold"), (str, int, float)) or not isinstance(o.get("completion", ""), str):
                raise ValueError('expected {"gold": string, "completion": string}')
            pairs.append({"gold": str(o["gold"]), "completion": o.get("completion", ""), "settings": check_settings(o.get("settings"))})
            where.append(n)
        except ValueError as e:
            answers[n] = {"error": str(e)}
    for n, v in zip(where, shared_pool().grade(pairs)):
        answers[n] = v
    for a in answers:
        out.write(json.dumps(a, ensure_ascii=False) + "\n")
    out.flush()


def grade_stdin(inp=sys.stdin, out=sys.stdout) -> int:
    """JSON lines in, one verdict (or {"error"}) per line out, in order. A blank line ends a batch:
    its answers are written at once (so one grader process serves a caller's batches in turn)."""
    batch: list[str] = []
    for line in iter(inp.readline, ""):
        if line.strip():
            batch.append(line)
        elif batch:
            _grade_lines(batch, out)
            batch = []
    if batch:
        _grade_lines(batch, out)
    shared_pool().close()
    return 0


async def _serve() -> int:
    import signal

    from temporalio.client import Client

    address = os.environ.get("TEMPORAL_ADDRESS", "localhost:7233")
    namespace = os.environ.get("TEMPORAL_NAMESPACE", "default")
    try:
        client = await Client.connect(address, namespace=namespace, api_key=os.environ.get("TEMPORAL_API_KEY") or None)
    except Exception as e:  # noqa: BLE001
        print(f"cannot reach Temporal at {address}: {e}\nstart it with `make up` (or set TEMPORAL_ADDRESS)", file=sys.stderr, flush=True)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        async with grader_worker(client, pool):
            print(f"grader worker ready: task queue {GRADER_TASK_QUEUE} on {address} (namespace {namespace})", flush=True)
            await stop.wait()
    shared_pool().close()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stdin", action="store_true", help="grade JSON lines from stdin without Temporal")
    args = ap.parse_args(argv)
    return grade_stdin() if args.stdin else asyncio.run(_serve())


if __name__ == "__main__":
    sys.exit(main())
