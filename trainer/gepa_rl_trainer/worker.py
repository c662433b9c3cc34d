"""python -m gepa_rl_trainer.worker — the trainer worker on task queue gepa-rl-trainer.

Connects the standard way (connection.py: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS
settings, profiles; default localhost:7233, namespace 'default'), prints "trainer worker ready" once
polling, stops cleanly on SIGTERM/SIGINT.
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import logging
import os
import signal
import sys

from temporalio.client import Client
from temporalio.worker import Worker

from .activities import ACTIVITIES, preload, warm_imports
from .connection import connect_settings, describe
from .grader import GRADER_TASK_QUEUE, grader_worker
from .wandb_sink import wandb_log

TASK_QUEUE = os.environ.get("GEPA_RL_TRAINER_TASK_QUEUE", "gepa-rl-trainer")


async def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preload", help="load this model before polling (e.g. smollm2-135m-instruct)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stdout)
    try:
        cfg = connect_settings()
    except Exception as e:  # noqa: BLE001 — a bad profile or config file: say which setting
        print(f"cannot read the Temporal connection settings: {e}\nfix TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE / TEMPORAL_TLS_* (see docs/OPERATING.md, Temporal Cloud)", file=sys.stderr, flush=True)
        return 1
    where = describe(cfg)
    try:
        client = await Client.connect(**cfg)
    except Exception as e:  # noqa: BLE001 — the message is what matters here
        print(f"cannot reach Temporal at {where}: {e}\nstart it with `make up`, or point TEMPORAL_ADDRESS (and TLS/API key settings) at your cluster", file=sys.stderr, flush=True)
        return 1
    warm_imports()
    if args.preload:
        preload(args.preload)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # One model, few cores: activities run one at a time in a thread. Math grading polls its own
    # queue from this process too (gepa_rl_trainer/grader.py says why), in its own threads.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool, concurrent.futures.ThreadPoolExecutor(max_workers=4) as grading:
        worker = Worker(
            client,
            task_queue=TASK_QUEUE,
            activities=[*ACTIVITIES, wandb_log],  # wandb is imported only when a run logs to W&B
            activity_executor=pool,
            max_concurrent_activities=1,
            graceful_shutdown_timeout=__import__("datetime").timedelta(seconds=5),
        )
        async with worker, grader_worker(client, grading):
            print(f"trainer worker ready: task queue {TASK_QUEUE} on {where}; math grading on {GRADER_TASK_QUEUE}", flush=True)
            await stop.wait()
    print("trainer worker stopped", flush=True)
    return 0


if __name__ == "__main__":
    code = asyncio.run(main())
    if code != 0:
        # A failed connect leaves the SDK's native runtime threads behind; the interpreter's teardown
        # then crashed now and then (SIGSEGV instead of exit 1). Nothing is left to clean up: exit at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
