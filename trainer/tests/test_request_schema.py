"""Every request a Python worker receives is checked at the activity boundary against the JSON
Schema exported from the TS zod schemas (requests.schema.json): a malformed one fails at once,
non-retryably, as InvalidConfig, naming each bad field and the value received; nothing runs."""
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from conftest import OPTIM, TINY, sample_req
from gepa_rl_trainer.activities import ACTIVITIES, policy_sample, train_step
from gepa_rl_trainer.grader import math_verify_rollouts
from gepa_rl_trainer.request_schema import VALIDATORS, validate_request
from gepa_rl_trainer.wandb_sink import wandb_log

REF = {"uri": "file:///tmp/x.json", "sha256": "0" * 64, "bytes": 3}


def refusal(activity_fn, req) -> ApplicationError:
    with pytest.raises(ApplicationError) as e:
        ActivityEnvironment().run(activity_fn, req)
    assert e.value.type == "InvalidConfig" and e.value.non_retryable
    return e.value


def test_every_activity_the_workers_register_has_a_request_schema():
    names = {fn.__temporal_activity_definition.name for fn in [*ACTIVITIES, wandb_log, math_verify_rollouts]}
    assert names == set(VALIDATORS) == {"policy_sample", "train_step", "policy_kl_to_base", "wandb_log", "math_verify_rollouts"}


def test_a_malformed_train_step_is_refused_naming_each_field_and_the_value_received(tmp_path):
    req = {
        "run_id": "r",
        "step": 0,
        "model": dict(TINY, lora_rank=-2),
        "checkpoint_in": None,
        "loss": "reinforce",
        "rollouts_ref": REF,
        "advantages": [1.0],
        "optim": dict(OPTIM, learning_rate="fast"),
        "momentum": 0.9,
    }
    msg = str(refusal(train_step, req))
    assert "invalid train_step request" in msg
    assert "checkpoint_root: required, got nothing" in msg
    assert "optim.learning_rate: 'fast' is not of type 'number'" in msg
    assert "model.lora_rank: -2 is less than the minimum of 0 (got -2)" in msg
    assert "loss: 'reinforce' is not one of ['importance_sampling', 'ppo', 'cispo', 'cross_entropy']" in msg
    assert "momentum: not a field of this request" in msg and "got 0.9" in msg
    assert not list(tmp_path.iterdir())  # refused before any work


def test_a_malformed_policy_sample_is_refused_before_the_model_loads(tmp_path):
    req = sample_req(tmp_path / "blobs")
    req["sampling"] = {"max_tokens": 0, "temperature": 1.0, "top_p": 1.5}
    req["prompts_ref"] = dict(REF, sha256="not-hex")
    msg = str(refusal(policy_sample, req))
    assert "sampling.max_tokens: 0 is less than or equal to the minimum of 0 (got 0)" in msg
    assert "sampling.top_p: 1.5 is greater than the maximum of 1 (got 1.5)" in msg
    assert "sampling.seed: required, got nothing" in msg
    assert "prompts_ref.sha256: 'not-hex' does not match" in msg
    assert not (tmp_path / "blobs").exists()
    assert "expects one JSON object" in str(refusal(policy_sample, ["not", "a", "dict"]))


def test_the_grader_and_the_wandb_sink_check_their_requests_too(tmp_path):
    assert "golds_ref: required, got nothing" in str(refusal(math_verify_rollouts, {"rollouts_ref": REF, "blob_dir": str(tmp_path)}))
    msg = str(refusal(wandb_log, {"run_dir": str(tmp_path), "run_id": "x", "project": "p", "mode": "sometimes", "rows": []}))
    assert "mode: 'sometimes' is not one of ['auto', 'online', 'offline']" in msg


def test_the_requests_the_ts_side_builds_pass():
    validate_request("policy_sample", sample_req("/tmp/blobs"))
    validate_request("train_step", {"run_id": "c", "step": 3, "model": TINY, "checkpoint_in": None, "checkpoint_root": "/tmp/c", "loss": "cross_entropy", "sft_examples_ref": REF, "optim": OPTIM, "keep": False})
    validate_request("wandb_log", {"run_dir": "/tmp/r", "run_id": "x/round0_rl", "project": "p", "mode": "auto", "rows": [{"key": "batch-0", "step": 1, "env/all/correct": 0.5, "checkpoint": "/c/0"}]})
