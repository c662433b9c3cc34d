"""Temporal activities of the trainer worker (task queue gepa-rl-trainer, DESIGN §4.3).

Each takes one dict (the request JSON of src/types.ts) and returns a dict. Blocking torch work runs
in the worker's thread pool; the activity heartbeats while it runs. Errors a retry cannot fix are
non-retryable ApplicationErrors of type InvalidRequest. Every request is first checked against its
JSON Schema, exported from the TS side's zod schemas (request_schema.py): one that does not match fails at
once, non-retryably, as InvalidConfig naming each bad field and the value received.
"""
from __future__ import annotations

import contextvars
import errno
import os
import threading

from temporalio import activity
from temporalio.exceptions import ApplicationError

from . import checkpoints as ckpts
from .backends.base import Backend
from .blobs import BlobError
from .errors import DISK_FULL, INVALID_REQUEST, NON_FINITE_LOSS, RUN_DIR_ERROR, InvalidRequest, NonFiniteLoss
from .models import ModelNotFound
from .request_schema import validate_request

_backends: dict[str, Backend] = {}
PULSE_SECONDS = float(os.environ.get("GEPA_RL_HEARTBEAT_PULSE_S", "2"))


def warm_imports() -> None:
    """Import the model stack before polling. transformers imports lazily; an import interrupted in
    an activity thread (Temporal raises a cancellation inside it) leaves "Could not import module
    'LlamaConfig'" for every later call in the process."""
    import peft  # noqa: F401
    import torch  # noqa: F401
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM  # noqa: F401


def _heartbeat(msg: str) -> None:
    try:
        activity.heartbeat(msg)
    except RuntimeError:  # not inside an activity (direct calls in tests)
        pass


def backend_for(model_ref: dict):
    name = (model_ref or {}).get("backend", "local")
    if name != "local" and ((model_ref or {}).get("sampler") or "torch") != "torch":
        raise InvalidRequest(f"model.sampler={model_ref['sampler']!r} is read only with backend=local (got backend={name!r}); set sampler=torch")
    if name not in _backends:
        if name == "local":
            from .backends.local import LocalBackend

            _backends[name] = LocalBackend(heartbeat=_heartbeat)
        elif name == "tinker":
            from .backends.tinker import TinkerBackend  # needs TINKER_API_KEY

            _backends[name] = TinkerBackend()
        else:
            raise InvalidRequest(f"unknown backend {name!r} (expected local or tinker)")
    return _backends[name]


def _run(fn_name: str, req: dict) -> dict:
    # A pulse from a side thread while the call runs: a slow step (a first model load, a long batch
    # on a busy machine) is not taken for a dead worker; a killed worker still stops heartbeating.
    # (Temporal cancels a threaded activity by raising inside its thread; an import interrupted that
    # way breaks transformers' lazy modules for the whole process, see warm_imports.)
    done = threading.Event()
    ctx = contextvars.copy_context()

    def pulse():
        while not done.wait(PULSE_SECONDS):
            try:
                ctx.run(_heartbeat, f"{fn_name} running")
            except Exception:  # noqa: BLE001 — a pulse never fails the call it accompanies
                return

    threading.Thread(target=pulse, name=f"{fn_name}-heartbeat", daemon=True).start()
    try:
        backend = backend_for(req.get("model"))
        if fn_name != "train_step":
            return getattr(backend, fn_name)(req)
        # the done check (step_target, inside train_step) runs under the step's lock: two workers on
        # one step train it once, the other gets that checkpoint back
        with ckpts.step_lock(req):
            return backend.train_step(req)
    except NonFiniteLoss as e:
        raise ApplicationError(str(e), type=NON_FINITE_LOSS, non_retryable=True) from e
    except (InvalidRequest, ModelNotFound, BlobError) as e:
        raise ApplicationError(str(e), type=INVALID_REQUEST, non_retryable=True) from e
    except OSError as e:
        failure = disk_failure(e)
        if failure is None:
            raise
        raise failure from e
    finally:
        done.set()


def disk_failure(e: OSError) -> ApplicationError | None:
    """A disk that refuses a write, as a failure that says what to do; None for other OS errors.
    Full: retried (space may be freed; no half-written checkpoint is ever used, the step starts again
    from the last complete one). Not writable: never retried."""
    if isinstance(e, ckpts.CheckpointWriteError):  # already says step, folder and free space
        return ApplicationError(str(e), type=DISK_FULL)
    where = f" ({e.filename})" if e.filename else ""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return ApplicationError(f"the disk is full{where}: free space (old runs/ folders, checkpoints); the step is retried from the last complete checkpoint", type=DISK_FULL)
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ApplicationError(f"cannot write{where}: {e.strerror}; make it writable by the trainer worker or set run.output_dir to a writable folder", type=RUN_DIR_ERROR, non_retryable=True)
    return None


@activity.defn(name="policy_sample")
def policy_sample(req: dict) -> dict:
    validate_request("policy_sample", req)
    activity.logger.info("policy_sample: %s prompts x %s samples", len(req.get("prompts") or []) or "ref", req.get("num_samples"))
    return _run("sample", req)


@activity.defn(name="train_step")
def train_step(req: dict) -> dict:
    validate_request("train_step", req)
    activity.logger.info("train_step: run %s step %s loss %s", req.get("run_id"), req.get("step"), req.get("loss"))
    return _run("train_step", req)


@activity.defn(name="policy_kl_to_base")
def policy_kl_to_base(req: dict) -> dict:
    validate_request("policy_kl_to_base", req)
    activity.logger.info("policy_kl_to_base: checkpoint %s vs %s", req.get("checkpoint"), req.get("base_checkpoint"))
    return _run("kl_to_base", req)


ACTIVITIES = [policy_sample, train_step, policy_kl_to_base]


def preload(model: str) -> None:
    """Load a model before polling so the first activity does not pay for it."""
    b = backend_for({"backend": "local"})
    b.tokenizer(model)
    b.live_model({"base_model": model, "lora_rank": 0}, None)
    if os.environ.get("GEPA_RL_VERBOSE"):
        print(f"preloaded {model}", flush=True)
