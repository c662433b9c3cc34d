"""policy.sampler=vllm without a working vLLM (issue 25): one line that names policy.sampler=torch as
the fallback, never a silent switch to the PyTorch loop; and the sampler key read only where it is."""
import pytest
from conftest import TINY, sample_req
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from gepa_rl_trainer.activities import backend_for, policy_sample
from gepa_rl_trainer.backends.vllm_sampler import VllmUnavailable, lora_rank_for_engine
from gepa_rl_trainer.errors import InvalidRequest


def vllm_req(tmp_path):
    return dict(sample_req(tmp_path), model=dict(TINY, sampler="vllm"))


def test_a_missing_vllm_fails_in_one_line_naming_the_torch_fallback(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("GEPA_RL_VLLM_PYTHON", str(tmp_path / "no-venv" / "bin" / "python"))
    with pytest.raises(VllmUnavailable) as e:
        backend.sample(vllm_req(tmp_path))
    msg = str(e.value)
    assert "\n" not in msg and "vLLM is not installed" in msg and "policy.sampler=torch" in msg
    assert not list(tmp_path.glob("*.json"))  # nothing sampled by the torch loop instead


def test_through_the_activity_it_is_a_non_retryable_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("GEPA_RL_VLLM_PYTHON", str(tmp_path / "missing-python"))
    with pytest.raises(ApplicationError) as e:
        ActivityEnvironment().run(policy_sample, vllm_req(tmp_path))
    assert e.value.non_retryable and "policy.sampler=torch" in str(e.value)


def vllm_python_running(tmp_path, monkeypatch, backend, script):
    """The vLLM venv's python replaced by a shell script (a broken or killed engine), the backend's server forgotten."""
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\n{script}\n")
    python.chmod(0o755)
    monkeypatch.setenv("GEPA_RL_VLLM_PYTHON", str(python))
    backend._vllm = None


def test_a_broken_vllm_that_exits_while_loading_names_its_error_and_the_fallback(backend, tmp_path, monkeypatch):
    vllm_python_running(tmp_path, monkeypatch, backend, "echo 'ImportError: libvllm.so: cannot open shared object file' >&2\nexit 3")
    with pytest.raises(VllmUnavailable) as e:
        backend.sample(vllm_req(tmp_path))
    msg = str(e.value)
    assert "\n" not in msg and "exited (3)" in msg and "libvllm.so" in msg and "policy.sampler=torch" in msg
    backend._vllm = None


def test_the_server_log_goes_to_the_stack_dir_when_one_is_set(backend, tmp_path, monkeypatch):
    # scripts/stack.sh keeps a second stack's logs under GEPA_RL_STACK_DIR; the vLLM server's with them
    stack = tmp_path / "stack"
    monkeypatch.setenv("GEPA_RL_STACK_DIR", str(stack))
    vllm_python_running(tmp_path, monkeypatch, backend, "echo 'engine says hello from the stack dir' >&2\nexit 3")
    with pytest.raises(VllmUnavailable) as e:
        backend.sample(vllm_req(tmp_path))
    log = stack / "logs" / "vllm-server.log"
    assert f"(log: {log})" in str(e.value) and "engine says hello from the stack dir" in log.read_text()
    backend._vllm = None


def test_a_vllm_server_killed_with_sigkill_while_loading_fails_retryably(backend, tmp_path, monkeypatch):
    # kill -9 (or the out-of-memory killer) during the engine's load is not a broken install: a
    # retryable error, so Temporal's retry starts the server again (before: VllmUnavailable, non-retryable)
    vllm_python_running(tmp_path, monkeypatch, backend, "kill -9 $$")
    with pytest.raises(RuntimeError) as e:
        backend.sample(vllm_req(tmp_path))
    assert not isinstance(e.value, InvalidRequest) and "killed (SIGKILL) while loading" in str(e.value)
    backend._vllm = None


def test_the_sampler_is_read_only_on_the_local_backend():
    with pytest.raises(InvalidRequest, match="read only with backend=local"):
        backend_for({"backend": "tinker", "base_model": "x", "sampler": "vllm"})


def test_lora_ranks_map_to_the_ranks_the_engine_accepts():
    assert [lora_rank_for_engine(r) for r in (1, 4, 8, 9, 32, 512)] == [1, 8, 8, 16, 32, 512]
    with pytest.raises(InvalidRequest, match="policy.sampler=torch"):
        lora_rank_for_engine(513)
