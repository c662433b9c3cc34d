"""The W&B metrics sink in offline mode: what reaches the offline run files, once per row key."""
import json
import math
import struct

import pytest

from gepa_rl_trainer import wandb_sink
from gepa_rl_trainer.wandb_sink import LOGGED_KEYS_FILE, RUN_FILE, log_rows, wandb_log, wandb_run_id


@pytest.fixture(autouse=True)
def offline_env(monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home" / var.lower()))


def offline_records(run_dir):
    """Records of every offline-run-*/run-*.wandb (a leveldb-style log of protobuf Records), oldest first."""
    from wandb.proto import wandb_internal_pb2 as pb

    out = []
    for f in sorted((run_dir / "wandb").glob("offline-run-*/run-*.wandb")):
        data, pos, buf = f.read_bytes(), 7, b""
        assert data[:4] == b":W&B"
        while pos + 7 <= len(data):
            if 32768 - pos % 32768 < 7:  # block trailer
                pos += 32768 - pos % 32768
                continue
            _crc, n, kind = struct.unpack("<IHB", data[pos : pos + 7])
            buf += data[pos + 7 : pos + 7 + n]
            pos += 7 + n
            if kind in (1, 4):  # full or last fragment
                r = pb.Record()
                r.ParseFromString(buf)
                out.append(r)
                buf = b""
    return out


def history(run_dir):
    """[(step, {metric: value})] of the user metrics logged, in order."""
    rows = []
    for r in offline_records(run_dir):
        if r.WhichOneof("record_type") == "history":
            vals = {("/".join(i.nested_key) or i.key): json.loads(i.value_json) for i in r.history.item}
            rows.append((r.history.step.num, {k: v for k, v in vals.items() if not k.startswith("_")}))
    return rows


def req(run_dir, rows, **kw):
    return {"run_dir": str(run_dir), "run_id": "exp1/round0_rl", "project": "gepa-rl-test", "mode": "offline", "rows": rows, **kw}


ROWS = [
    {"key": "eval-0", "step": 0, "test/env/all/correct": 0.25},
    {"key": "batch-0", "step": 1, "env/all/reward/total": 0.5, "checkpoint": "/ckpt/0", "optim/entropy": 1.5, "done": True},
]


def test_rows_are_logged_once_at_their_steps_even_when_the_call_is_retried(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"rl": {"group_size": 4}}))
    first = log_rows(req(tmp_path, ROWS))
    assert first == {"wandb_id": "exp1-round0_rl", "mode": "offline", "logged": 2, "already_logged": 0, "skipped_values": 1}
    again = log_rows(req(tmp_path, ROWS))  # a retried activity
    assert again["logged"] == 0 and again["already_logged"] == 2
    more = log_rows(req(tmp_path, [ROWS[1], {"key": "batch-1", "step": 2, "env/all/reward/total": 0.75}]))
    assert more["logged"] == 1 and more["already_logged"] == 1

    assert (tmp_path / LOGGED_KEYS_FILE).read_text().splitlines() == ["eval-0", "batch-0", "batch-1"]
    assert json.loads((tmp_path / RUN_FILE).read_text())["mode"] == "offline"
    assert history(tmp_path) == [
        (0, {"test/env/all/correct": 0.25}),
        (1, {"env/all/reward/total": 0.5, "optim/entropy": 1.5, "done": 1}),  # the checkpoint path is not a metric
        (2, {"env/all/reward/total": 0.75}),
    ]
    # one offline segment per call that logged something; all carry the same run id and the config
    runs = [r.run for r in offline_records(tmp_path) if r.WhichOneof("record_type") == "run"]
    assert len(runs) == 2 and {r.run_id for r in runs} == {"exp1-round0_rl"} and {r.run_group for r in runs} == {"exp1"}
    assert all(any(u.key == "rl" and json.loads(u.value_json) == {"group_size": 4} for u in r.config.update) for r in runs)


def test_non_finite_and_non_numeric_values_are_skipped_and_never_returned(tmp_path):
    rows = [{"key": "b0", "step": 3, "loss": float("nan"), "kl": float("inf"), "ok": 1.0, "note": "x", "gone": None, "v": [1, 2]}]
    out = wandb_log(req(tmp_path, rows))  # the activity function itself, called directly
    json.dumps(out, allow_nan=False)  # what goes back to TS is plain JSON
    assert out["logged"] == 1 and out["skipped_values"] == 5
    assert history(tmp_path) == [(3, {"ok": 1.0})]
    assert all(math.isfinite(v) for _, m in history(tmp_path) for v in m.values())


def test_auto_mode_without_an_api_key_goes_offline_and_stays_so(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.setattr(wandb_sink, "has_api_key", lambda url: False)
    out = log_rows(req(tmp_path, ROWS[:1], mode="auto"))
    assert out["mode"] == "offline"
    state = json.loads((tmp_path / RUN_FILE).read_text())
    assert state["mode"] == "offline" and "WANDB_API_KEY" in state["why"]
    monkeypatch.setattr(wandb_sink, "has_api_key", lambda url: True)  # a key later does not switch a run mid-way
    assert log_rows(req(tmp_path, ROWS[1:], mode="auto"))["mode"] == "offline"


def test_auto_mode_falls_back_to_offline_when_wandb_refuses_the_online_run(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.setattr(wandb_sink, "has_api_key", lambda url: True)
    monkeypatch.setattr(wandb_sink, "host_reachable", lambda url, timeout=5.0: True)
    real_open = wandb_sink.open_run

    def refuse_online(wandb, req, run_dir, wid, mode):
        if mode == "online":
            raise RuntimeError("401 invalid API key")
        return real_open(wandb, req, run_dir, wid, mode)

    monkeypatch.setattr(wandb_sink, "open_run", refuse_online)
    assert log_rows(req(tmp_path, ROWS, mode="auto"))["mode"] == "offline"
    assert "401 invalid API key" in json.loads((tmp_path / RUN_FILE).read_text())["why"]
    assert [step for step, _ in history(tmp_path)] == [0, 1]
    with pytest.raises(RuntimeError):  # an explicit online run is retried by Temporal instead
        log_rows(req(tmp_path / "other", ROWS, mode="online"))


def test_online_without_a_key_and_bad_requests_fail_non_retryably(tmp_path, monkeypatch):
    from temporalio.exceptions import ApplicationError

    monkeypatch.setattr(wandb_sink, "has_api_key", lambda url: False)
    with pytest.raises(ApplicationError) as e:
        wandb_log(req(tmp_path, ROWS, mode="online"))
    assert e.value.non_retryable and e.value.type == "InvalidRequest" and "WANDB_API_KEY" in str(e.value)
    with pytest.raises(ApplicationError) as e:
        wandb_log(req(tmp_path, [{"step": 1, "x": 1.0}]))
    assert e.value.non_retryable and "key" in str(e.value)
    assert not (tmp_path / "wandb").exists()


def test_missing_wandb_fails_non_retryably_with_the_install_command(tmp_path, monkeypatch):
    from temporalio.exceptions import ApplicationError

    monkeypatch.setitem(__import__("sys").modules, "wandb", None)  # import wandb -> ImportError
    with pytest.raises(ApplicationError) as e:
        wandb_log(req(tmp_path, ROWS))
    assert e.value.non_retryable and e.value.type == "WandbNotInstalled"
    assert "pip install wandb" in str(e.value) and "requirements.lock" in str(e.value)


def test_run_ids_are_stable_and_valid_for_wandb():
    assert wandb_run_id("my.run/round1_gepa") == "my-run-round1_gepa"
    long = wandb_run_id("x" * 100 + "/round0_rl")
    assert len(long) <= 64 and long == wandb_run_id("x" * 100 + "/round0_rl") != wandb_run_id("x" * 100 + "/round1_rl")
