"""Errors a caller can fix (bad request, missing checkpoint, prompt too long, NaN loss): never retried.

Failure type names come from src/failure-types.json, the one list the TS workflows also read (their
activity proxies mark these types non-retryable); a name missing there fails at import, not in a run.
"""
from __future__ import annotations

import json
from pathlib import Path

FAILURES_FILE = Path(__file__).resolve().parents[2] / "src" / "failure-types.json"


def _load_failure_types() -> dict[str, str]:
    try:
        spec = json.loads(FAILURES_FILE.read_text())
    except OSError as e:
        raise RuntimeError(f"cannot read the shared failure types {FAILURES_FILE} ({e}): run the trainer from a checkout of the whole repository") from e
    return {name: name for name in spec["types"]}


FAILURE: dict[str, str] = _load_failure_types()
INVALID_REQUEST = FAILURE["InvalidRequest"]
NON_FINITE_LOSS = FAILURE["NonFiniteLoss"]
WANDB_NOT_INSTALLED = FAILURE["WandbNotInstalled"]
DISK_FULL = FAILURE["DiskFull"]
RUN_DIR_ERROR = FAILURE["RunDirError"]


class InvalidRequest(ValueError):
    """The request cannot succeed however often it is retried."""


class NonFiniteLoss(InvalidRequest):
    """Loss or gradient became NaN/Inf; no checkpoint was written, the last good one stays."""
