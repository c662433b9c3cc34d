"""The one request reader both backends use (gepa_rl_trainer/requests.py), and the Backend protocol both implement."""
import pytest

from gepa_rl_trainer import blobs
from gepa_rl_trainer.errors import InvalidRequest
from gepa_rl_trainer.requests import AdamSettings, SamplingParams, adam_settings, parse_sample_request, parse_train_step_request, sample_result

PROMPTS = [[{"role": "user", "content": "2+2?"}]]


def test_sample_request_defaults_and_prompts_from_their_blob(tmp_path):
    ref = blobs.write_json(str(tmp_path), PROMPTS)
    r = parse_sample_request({"model": {"base_model": "m"}, "prompts_ref": ref, "num_samples": 2, "sampling": {}, "blob_dir": str(tmp_path)})
    assert r.prompts == PROMPTS and r.num_samples == 2 and r.checkpoint is None and r.return_texts is False
    assert r.sampling == SamplingParams(max_tokens=256, temperature=1.0, top_p=1.0, seed=0)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"blob_dir": None}, r"missing field 'blob_dir' \(got keys \["),
        ({"prompts": None}, "needs `prompts` or `prompts_ref` \\(got neither\\)"),
        ({"prompts": "hi"}, r"list of chat-message lists \(got str\)"),
        ({"num_samples": 0}, r"num_samples must be >= 1 \(got 0\)"),
    ],
)
def test_bad_sample_requests_say_what_was_received(tmp_path, change, message):
    req = dict({"model": {"base_model": "m"}, "prompts": PROMPTS, "num_samples": 1, "sampling": {}, "blob_dir": str(tmp_path)}, **change)
    with pytest.raises(InvalidRequest, match=message):
        parse_sample_request(req)


def test_train_step_request_and_adam_defaults():
    req = {"run_id": "r", "step": "3", "model": {"base_model": "m"}, "checkpoint_root": "/c", "loss": "ppo", "optim": {"learning_rate": 1e-3}}
    r = parse_train_step_request(req)
    assert (r.step, r.loss, r.checkpoint_in, r.raw) == (3, "ppo", None, req)
    # Adam β = (0.9, 0.95), no weight decay, no clipping unless asked
    assert r.optim == AdamSettings(learning_rate=1e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.0, grad_clip=0.0)
    with pytest.raises(InvalidRequest, match=r"unknown loss 'dpo' \(expected importance_sampling, ppo, cispo or cross_entropy\)"):
        parse_train_step_request(dict(req, loss="dpo"))
    with pytest.raises(InvalidRequest, match="missing field 'checkpoint_root'"):
        parse_train_step_request({k: v for k, v in req.items() if k != "checkpoint_root"})
    with pytest.raises(InvalidRequest, match=r"optim needs learning_rate \(got \{'beta1': 0.9\}\)"):
        adam_settings({"beta1": 0.9})


def test_sample_result_places_each_rollout_by_prompt_and_sample():
    rollouts = [{"prompt_index": p, "sample_index": s, "token_ids": [0] * (p + s + 1), "text": f"{p}{s}"} for p in range(2) for s in range(2)]
    res = sample_result(rollouts[::-1], 2, 2, {"uri": "x"}, True, 1.5)
    assert res == {"rollouts_ref": {"uri": "x"}, "num_tokens": [[1, 2], [2, 3]], "texts": [["00", "01"], ["10", "11"]], "seconds": 1.5}
    assert sample_result(rollouts, 2, 2, {"uri": "x"}, False, 0)["texts"] is None


def test_both_backends_implement_the_backend_protocol():
    from gepa_rl_trainer.backends.base import Backend
    from gepa_rl_trainer.backends.local import LocalBackend
    from gepa_rl_trainer.backends.tinker import TinkerBackend

    assert isinstance(LocalBackend(), Backend)
    assert isinstance(TinkerBackend(env={"TINKER_API_KEY": "k"}, service=object()), Backend)
