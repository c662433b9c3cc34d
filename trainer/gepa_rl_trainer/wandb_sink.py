"""Weights & Biases metrics sink: the activity `wandb_log` (issue 7 item 5, DESIGN §4.6).

metrics.jsonl stays the source of truth; when a run sets `wandb_project`, the workflow also sends
each metrics row here. One W&B run per run directory (a phase of an alternation is its own run,
grouped under the run id), with an id derived from the run id, so a retried activity or a restarted
worker resumes the same W&B run instead of creating another.

Each call opens the W&B run, logs the rows not logged before and finishes it: no W&B state lives in
the worker between calls. Offline, every call adds one `wandb/offline-run-*` folder to the run
directory; `wandb sync <run_dir>/wandb/offline-run-*` uploads them as one run, in order.

The API key never travels in workflow input: `online` needs WANDB_API_KEY (or a `wandb login`
entry in ~/.netrc) in this worker's environment.
"""
from __future__ import annotations

import hashlib
import json
import math
import netrc
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from temporalio import activity
from temporalio.exceptions import ApplicationError

from .errors import INVALID_REQUEST, WANDB_NOT_INSTALLED, InvalidRequest
from .request_schema import validate_request

LOGGED_KEYS_FILE = "wandb_logged_keys.txt"  # one row key per line, appended after W&B accepted the rows
RUN_FILE = "wandb_run.json"  # the W&B id and the mode chosen at the first call (kept for the whole run)
MODES = ("auto", "online", "offline")
DEFAULT_BASE_URL = "https://api.wandb.ai"  # only used when wandb does not say otherwise
REACHABLE_TIMEOUT_S = 5.0
INSTALL_HINT = (
    "install it into the trainer worker's Python environment (`scripts/setup.sh` installs trainer/requirements.lock, "
    "or `.venv/bin/pip install wandb`), then restart the trainer worker; or leave wandb_project unset"
)


class WandbNotInstalled(RuntimeError):
    pass


def import_wandb():
    try:
        import wandb  # noqa: PLC0415 — optional, and slow to import: only when a run asks for it
    except ImportError as e:
        raise WandbNotInstalled(f"wandb_project is set but the trainer worker cannot import wandb ({e}): {INSTALL_HINT}") from e
    return wandb


def wandb_run_id(run_id: str) -> str:
    """A stable W&B run id for `<run_id>` or `<run_id>/<phase>`: W&B ids allow letters, digits, - and _."""
    s = re.sub(r"[^A-Za-z0-9_-]+", "-", run_id).strip("-") or "run"
    if len(s) <= 64:
        return s
    return f"{s[:55]}-{hashlib.sha256(run_id.encode()).hexdigest()[:8]}"


def numeric_metrics(row: dict) -> tuple[dict[str, float | int], int]:
    """The loggable values of a metrics row and how many values were skipped.

    `key` and `step` are bookkeeping; strings, nulls, lists and non-finite numbers are skipped
    (metrics.jsonl keeps them); booleans become 0/1.
    """
    out: dict[str, float | int] = {}
    skipped = 0
    for k, v in row.items():
        if k in ("key", "step"):
            continue
        if isinstance(v, bool):
            out[k] = int(v)
        elif isinstance(v, int):
            out[k] = v
        elif isinstance(v, float) and math.isfinite(v):
            out[k] = v
        else:
            skipped += 1
    return out, skipped


def base_url() -> str:
    env = os.environ.get("WANDB_BASE_URL")
    if env:
        return env
    try:
        return str(import_wandb().Settings().base_url)
    except Exception:  # noqa: BLE001 — any failure here just means "use the public host"
        return DEFAULT_BASE_URL


def has_api_key(url: str) -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(url).hostname
    try:
        return bool(host and netrc.netrc().authenticators(host))
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def host_reachable(url: str, timeout: float = REACHABLE_TIMEOUT_S) -> bool:
    """Any HTTP answer (even 401/404) means the host is reachable; DNS, connect or TLS failures do not."""
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
        return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def choose_mode(requested: str) -> tuple[str, str]:
    """(mode, why) for the first call of a run; later calls reuse what RUN_FILE recorded."""
    if requested == "offline":
        return "offline", "wandb_mode=offline"
    url = base_url()
    if requested == "online":
        if not has_api_key(url):
            raise InvalidRequest(
                f"wandb_mode=online needs WANDB_API_KEY in the trainer worker's environment (or `wandb login` on its machine); "
                f"none found for {url}. Set it where the trainer worker runs, or use wandb_mode=auto/offline"
            )
        return "online", "wandb_mode=online"
    env_mode = os.environ.get("WANDB_MODE", "").lower()
    if env_mode in ("offline", "disabled"):
        return env_mode, f"wandb_mode=auto and WANDB_MODE={env_mode} in the trainer worker's environment"
    if not has_api_key(url):
        return "offline", "wandb_mode=auto and no WANDB_API_KEY in the trainer worker's environment"
    if not host_reachable(url):
        return "offline", f"wandb_mode=auto and {url} is not reachable from the trainer worker"
    return "online", f"wandb_mode=auto, WANDB_API_KEY set and {url} reachable"


def read_logged_keys(run_dir: Path) -> set[str]:
    try:
        return {line for line in (run_dir / LOGGED_KEYS_FILE).read_text().splitlines() if line}
    except FileNotFoundError:
        return set()


def append_logged_keys(run_dir: Path, keys: list[str]) -> None:
    if not keys:
        return
    f = run_dir / LOGGED_KEYS_FILE
    prefix = "\n" if f.exists() and f.stat().st_size > 0 and not f.read_bytes().endswith(b"\n") else ""  # a torn last line
    with open(f, "a") as fh:
        fh.write(prefix + "".join(k + "\n" for k in keys))
        fh.flush()
        os.fsync(fh.fileno())


def read_run_file(run_dir: Path) -> dict:
    try:
        state = json.loads((run_dir / RUN_FILE).read_text())
        return state if isinstance(state, dict) else {}
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def write_run_file(run_dir: Path, state: dict) -> None:
    tmp = run_dir / f"{RUN_FILE}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(state, indent=2, allow_nan=False) + "\n")
    tmp.replace(run_dir / RUN_FILE)


def run_config(req: dict, run_dir: Path):
    if req.get("config") is not None:
        return req["config"]
    try:  # the resolved config prepareRun wrote: keeps the (large) config out of every activity input
        return json.loads((run_dir / "config.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _check_request(req: dict) -> None:
    if not isinstance(req, dict):
        raise InvalidRequest(f"wandb_log expects one JSON object (got {type(req).__name__})")
    missing = [k for k in ("run_dir", "run_id", "project", "rows") if not req.get(k) and req.get(k) != []]
    if missing:
        raise InvalidRequest(f"wandb_log request misses {', '.join(missing)} (got keys {sorted(req)})")
    if req.get("mode", "auto") not in MODES:
        raise InvalidRequest(f"wandb mode must be one of {' | '.join(MODES)} (got {req.get('mode')!r})")
    for i, row in enumerate(req["rows"]):
        if not isinstance(row, dict) or not isinstance(row.get("key"), str) or not row["key"] or "\n" in row["key"]:
            raise InvalidRequest(f"rows[{i}] needs a one-line string `key` (got {row!r:.200})")
        step = row.get("step")
        if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
            raise InvalidRequest(f"rows[{i}].step must be a non-negative integer (got {step!r})")


def remember_mode(run_dir: Path, wid: str, project: str, mode: str, why: str) -> dict:
    state = {"wandb_id": wid, "project": project, "mode": mode, "why": why}
    write_run_file(run_dir, state)
    activity_log(f"W&B run {wid} in project {project}: {mode} ({why})")
    return state


def open_run(wandb, req: dict, run_dir: Path, wid: str, mode: str):
    return wandb.init(
        project=req["project"],
        id=wid,
        name=req.get("name") or req["run_id"],
        group=req["run_id"].split("/")[0],
        resume="allow",
        dir=str(run_dir),
        mode=mode,
        config=run_config(req, run_dir),
        allow_val_change=True,
        reinit="create_new",
        # the worker's own stdout stays unwrapped; no system-metrics sampling, git or code capture
        settings=wandb.Settings(silent=True, console="off", x_disable_stats=True, x_save_requirements=False, disable_git=True, save_code=False),
    )


def log_rows(req: dict) -> dict:
    """Log the rows of `req` not logged before to the run's W&B run. Returns counts, never NaN."""
    _check_request(req)
    run_dir = Path(req["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    logged = read_logged_keys(run_dir)
    fresh, seen = [], set()
    for row in req["rows"]:
        if row["key"] not in logged and row["key"] not in seen:
            fresh.append(row)
            seen.add(row["key"])
    state = read_run_file(run_dir)
    wid = state.get("wandb_id") or wandb_run_id(req["run_id"])
    result = {"wandb_id": wid, "mode": state.get("mode"), "logged": 0, "already_logged": len(req["rows"]) - len(fresh), "skipped_values": 0}
    if not fresh:
        return result
    wandb = import_wandb()
    if state.get("mode") not in ("online", "offline", "disabled"):
        mode, why = choose_mode(req.get("mode", "auto"))
        state = remember_mode(run_dir, wid, req["project"], mode, why)
    try:
        run = open_run(wandb, req, run_dir, wid, state["mode"])
    except Exception as e:  # noqa: BLE001 — W&B's own errors: auth, network, server
        if state["mode"] != "online" or req.get("mode", "auto") != "auto":
            raise  # explicit online: retried by Temporal until W&B answers
        # auto: a metrics sink never stops the experiment; the rest of the run stays offline, sync it later
        state = remember_mode(run_dir, wid, req["project"], "offline", f"wandb_mode=auto and W&B refused the online run: {e}"[:500])
        run = open_run(wandb, req, run_dir, wid, "offline")
    result["mode"] = state["mode"]
    try:
        for row in fresh:
            metrics, skipped = numeric_metrics(row)
            result["skipped_values"] += skipped
            if metrics:
                if row.get("step") is None:
                    run.log(metrics)
                else:
                    run.log(metrics, step=row["step"])
            result["logged"] += 1
    except BaseException:
        run.finish(exit_code=1)
        raise
    run.finish()
    # Only after W&B took the rows: a crash before this line re-logs them on retry (at the same steps).
    append_logged_keys(run_dir, [row["key"] for row in fresh])
    return result


def activity_log(msg: str) -> None:
    try:
        activity.logger.info(msg)
    except RuntimeError:  # not inside an activity (direct calls in tests)
        pass


@activity.defn(name="wandb_log")
def wandb_log(req: dict) -> dict:
    validate_request("wandb_log", req)
    try:
        return log_rows(req)
    except WandbNotInstalled as e:
        raise ApplicationError(str(e), type=WANDB_NOT_INSTALLED, non_retryable=True) from e
    except InvalidRequest as e:
        raise ApplicationError(str(e), type=INVALID_REQUEST, non_retryable=True) from e
