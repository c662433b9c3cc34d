"""The trainer's failure type names come from src/failure-types.json, shared with the TS workflows."""
import json

from gepa_rl_trainer import errors


def test_failure_types_are_read_from_the_shared_list():
    spec = json.loads(errors.FAILURES_FILE.read_text())
    assert set(errors.FAILURE) == set(spec["types"])
    # what the trainer raises is what the TS activity proxy refuses to retry
    assert {errors.INVALID_REQUEST, errors.NON_FINITE_LOSS} <= set(spec["non_retryable"]["trainer_activities"])
    assert {errors.INVALID_REQUEST, errors.WANDB_NOT_INSTALLED} <= set(spec["non_retryable"]["wandb"])
