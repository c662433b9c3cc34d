"""Offline tests of the Tinker backend (the service cannot be reached from here)."""
import pytest

from gepa_rl_trainer.backends.tinker import MissingTinkerKey, TinkerBackend, rl_datum_arrays, sft_datum_arrays, to_datum


def test_rl_datum_layout():
    a = rl_datum_arrays([1, 2, 3], [7, 8], [-0.5, -0.25], 2.0)
    assert a["model_input"] == [1, 2, 3, 7]
    assert a["target_tokens"] == [2, 3, 7, 8]
    assert a["logprobs"] == [0.0, 0.0, -0.5, -0.25]
    assert a["advantages"] == [0.0, 0.0, 2.0, 2.0]
    with pytest.raises(ValueError, match="2 tokens but 1 logprobs"):
        rl_datum_arrays([1], [7, 8], [-0.5], 1.0)


def test_sft_datum_layout_and_real_sdk_types():
    a = sft_datum_arrays([1, 2], [5, 6, 9])
    assert a == {"model_input": [1, 2, 5, 6], "target_tokens": [2, 5, 6, 9], "weights": [0.0, 1.0, 1.0, 1.0]}
    d = to_datum(a)  # the official SDK's Datum
    assert d.model_input.to_ints() == [1, 2, 5, 6]
    assert list(d.loss_fn_inputs["weights"].data) == [0.0, 1.0, 1.0, 1.0]


def test_missing_key_is_clear_and_the_key_never_shows():
    with pytest.raises(MissingTinkerKey, match="TINKER_API_KEY is not set.*backend=local"):
        TinkerBackend(env={})
    b = TinkerBackend(env={"TINKER_API_KEY": "tk-SECRET-42"})
    assert "SECRET" not in repr(b) and "SECRET" not in str(b) and "SECRET" not in str(vars(b))
