"""The local OpenAI-compatible server, started as a real subprocess with the tiny model."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(port):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "trainer"))
    return subprocess.Popen(
        [sys.executable, "-m", "gepa_rl_trainer.server", "--port", str(port), "--model", "tiny-random"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = start(port)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except Exception:
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read())
            time.sleep(0.1)
    yield base, port
    proc.terminate()
    proc.wait(10)


def post(url, body, raw=None):
    req = urllib.request.Request(url, data=raw if raw is not None else json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_models_and_chat_completion(server):
    base, _ = server
    models = json.loads(urllib.request.urlopen(base + "/v1/models").read())
    assert models["data"][0]["id"] == "tiny-random"
    body = {"model": "tiny-random", "messages": [{"role": "user", "content": "hi"}], "n": 2, "max_tokens": 5, "seed": 3}
    status, res = post(base + "/v1/chat/completions", body)
    assert status == 200
    assert len(res["choices"]) == 2
    assert res["usage"]["completion_tokens"] > 0 and res["usage"]["prompt_tokens"] > 0
    assert res["choices"][0]["finish_reason"] in ("stop", "length")
    _, again = post(base + "/v1/chat/completions", body)
    assert [c["message"]["content"] for c in again["choices"]] == [c["message"]["content"] for c in res["choices"]]


def test_errors_are_openai_shaped(server):
    base, _ = server
    status, res = post(base + "/v1/chat/completions", None, raw=b"{not json")
    assert status == 400 and "not JSON" in res["error"]["message"]
    status, res = post(base + "/v1/chat/completions", {"model": "tiny-random"})
    assert status == 400 and "messages" in res["error"]["message"]
    status, res = post(base + "/v1/nope", {})
    assert status == 404
    status, res = post(base + "/v1/chat/completions", {"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]})
    assert status == 404 and "gpt-9" in res["error"]["message"]


def test_port_in_use_exits_with_a_clear_message(server):
    _, port = server
    proc = start(port)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert f"Port {port} is in use" in out


def test_trailing_assistant_message_is_a_prefill(server):
    """The reply continues a trailing assistant message; the prompt grows by exactly the prefill's tokens."""
    from gepa_rl_trainer.backends.local import LocalBackend

    base, _ = server
    user = [{"role": "user", "content": "Write instructions."}]
    prefill = "```\n"
    _, plain = post(base + "/v1/chat/completions", {"model": "tiny-random", "messages": user, "max_tokens": 3, "seed": 1})
    _, filled = post(base + "/v1/chat/completions", {"model": "tiny-random", "messages": user + [{"role": "assistant", "content": prefill}], "max_tokens": 3, "seed": 1})
    n_prefill = len(LocalBackend().tokenizer("tiny-random")(prefill, add_special_tokens=False)["input_ids"])
    assert filled["usage"]["prompt_tokens"] == plain["usage"]["prompt_tokens"] + n_prefill
    assert not filled["choices"][0]["message"]["content"].startswith(prefill)


def test_stop_strings_cut_at_the_earliest_and_can_be_kept():
    from gepa_rl_trainer.server import apply_stops

    assert apply_stops("be brief```tail", "length", ["```"], False) == ("be brief", "stop")
    assert apply_stops("be brief```tail", "length", ["```"], True) == ("be brief```", "stop")
    # the earliest match wins, whatever the order of the stop list
    assert apply_stops("a END b ``` c", "length", ["```", "END"], False) == ("a ", "stop")
    assert apply_stops("no match", "length", ["```"], True) == ("no match", "length")
    assert apply_stops("x", "stop", [None, ""], False) == ("x", "stop")
