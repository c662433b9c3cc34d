"""bench/graders (math): our Math-Verify grading through the activity, batched as a run uses it,
against calling Math-Verify directly in one Python process on the same pairs.

Pairs: the MATH-500 test rows, each graded twice: its reference solution (the last \\boxed{} is the
answer: a correct completion) and "\\boxed{<gold>+1}" (a wrong one, so equality never short-cuts).
Ours: a real Temporal dev server, the real grader Worker (gepa_rl_trainer.grader), and a bench
workflow that grades 32-completion chunks (rollouts and golds in blobs, as a run writes them) one
after another, each with one math_verify_rollouts call, as an RL batch does.
Direct: math_verify.parse/verify in a loop, the gold read as \\boxed{gold} (as the math task and
verl hand it over). The two alternate for a few rounds (a shared machine's load drifts) and the best
round of each is compared.

Run: make bench-graders (or: PYTHONPATH=trainer .venv/bin/python bench/graders/math_verify_bench.py [n_rows])
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "trainer"))

from temporalio import workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import UnsandboxedWorkflowRunner, Worker  # noqa: E402

from gepa_rl_trainer.blobs import write_json  # noqa: E402
from gepa_rl_trainer.grader import GRADER_TASK_QUEUE, grader_worker  # noqa: E402
from gepa_rl_trainer.math_grading import shared_pool  # noqa: E402

CHUNK = 32  # completions per sampled chunk (8 problems x group_size 4 in an RL batch)


def pairs_of(n_rows: int) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (ROOT / "data/math/math500_test.jsonl").read_text().splitlines()[:n_rows]]
    return [(r["answer"], r["solution"]) for r in rows] + [(r["answer"], "so \\boxed{" + r["answer"] + "+1}") for r in rows]


def direct(pairs) -> tuple[float, int]:
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    ok = sum(bool(verify(parse("\\boxed{" + g + "}"), parse(c))) for g, c in pairs)
    return time.perf_counter() - t0, ok


@workflow.defn(name="benchMathGrading")
class BenchMathGrading:
    @workflow.run
    async def run(self, chunks: list[dict]) -> list[dict]:
        out = []
        for c in chunks:
            t0 = workflow.time()
            r = await workflow.execute_activity(
                "math_verify_rollouts", c, task_queue=GRADER_TASK_QUEUE, start_to_close_timeout=timedelta(minutes=30), heartbeat_timeout=timedelta(seconds=30)
            )
            out.append({"seconds_in_workflow": workflow.time() - t0, "seconds_in_activity": r["seconds"], "correct": r["counts"].get("correct", 0), "n": r["n"]})
        return out


def chunks_of(pairs, blob_dir: str) -> list[dict]:
    """32 completions per chunk; each completion is its own prompt's, against that prompt's gold."""
    chunks = []
    for k in range(0, len(pairs), CHUNK):
        part = pairs[k : k + CHUNK]
        rollouts = [{"prompt_index": i, "sample_index": 0, "text": c} for i, (_, c) in enumerate(part)]
        golds = ["\\boxed{" + g + "}" for g, _ in part]  # as the math task's verifierGold writes them
        chunks.append({"rollouts_ref": write_json(blob_dir, {"rollouts": rollouts}), "golds_ref": write_json(blob_dir, golds), "blob_dir": blob_dir})
    return chunks


def free_port() -> int:
    for port in range(17400, 17500):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise SystemExit("no free port in 17400-17499")


async def bench(pairs, rounds: int) -> tuple[list[tuple[float, int]], list[tuple[float, list[dict]]]]:
    """`rounds` x (direct, then through the activity), on one dev server and grader worker."""
    port = free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/temporal"), "server", "start-dev", "--headless", "--port", str(port), "--log-level", "error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = None
        for _ in range(120):
            try:
                client = await Client.connect(f"127.0.0.1:{port}")
                break
            except Exception:  # noqa: BLE001 — still starting
                await asyncio.sleep(0.5)
        if client is None:
            raise SystemExit("the Temporal dev server did not start")
        directs, ours = [], []
        with tempfile.TemporaryDirectory() as blob_dir, concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            chunks = chunks_of(pairs, blob_dir)
            wf_worker = Worker(client, task_queue="bench", workflows=[BenchMathGrading], workflow_runner=UnsandboxedWorkflowRunner())
            async with grader_worker(client, pool), wf_worker:
                # warm up: the pool's processes start (and import Math-Verify) once per worker, not per run
                await client.execute_workflow(BenchMathGrading.run, chunks[:1], id=f"warm-{time.time()}", task_queue="bench")
                direct(pairs[:4])
                for _ in range(rounds):
                    directs.append(direct(pairs))
                    t0 = time.perf_counter()
                    per_chunk = await client.execute_workflow(BenchMathGrading.run, chunks, id=f"bench-{time.time()}", task_queue="bench")
                    ours.append((time.perf_counter() - t0, per_chunk))
        return directs, ours
    finally:
        shared_pool().close()
        server.terminate()
        server.wait(10)


def main() -> None:
    n_rows = int(sys.argv[1]) if len(sys.argv) > 1 else 250
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    pairs = pairs_of(n_rows)
    directs, ours = asyncio.run(bench(pairs, rounds))
    d_s, d_ok = min(directs)
    a_s, per_chunk = min(ours, key=lambda r: r[0])
    a_ok = sum(c["correct"] for c in per_chunk)
    full = [c for o in ours for c in o[1] if c["n"] == CHUNK]
    print(f"math pairs: {len(pairs)} (MATH-500 reference solutions + wrong answers), {rounds} rounds, grader processes: {shared_pool().processes}, cpus: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    print(f"Math-Verify directly, one process: {len(pairs) / d_s:.1f} checks/s, best of {[round(len(pairs) / d, 1) for d, _ in directs]} ({d_ok} accepted)")
    print(f"ours, through the activity (32-completion chunks): {len(pairs) / a_s:.1f} checks/s, best of {[round(len(pairs) / a, 1) for a, _ in ours]} ({a_ok} accepted)")
    print(f"throughput ratio ours/direct: {d_s / a_s:.2f}x (goal >= 0.8x)")
    print(
        f"one 32-completion chunk in grading: median {statistics.median(c['seconds_in_workflow'] for c in full):.2f} s in the workflow "
        f"({statistics.median(c['seconds_in_activity'] for c in full):.2f} s inside the activity), max {max(c['seconds_in_workflow'] for c in full):.2f} s, over {len(full)} chunks"
    )


if __name__ == "__main__":
    main()
