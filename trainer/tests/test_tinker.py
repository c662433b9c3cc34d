"""Offline tests of the Tinker backend. The service cannot be reached from here, so the service,
training and sampling clients are autospecced stand-ins of the installed SDK's classes: a call with
a method name or argument the real SDK does not have fails the test."""
import json
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import create_autospec

import pytest
import tinker
from tinker.lib.public_interfaces.sampling_client import SamplingClient
from tinker.lib.public_interfaces.training_client import TrainingClient

from gepa_rl_trainer import blobs
from gepa_rl_trainer.requests import adam_settings
from gepa_rl_trainer.backends.tinker import (
    MissingTinkerKey,
    TinkerBackend,
    adam_params,
    lora_client_args,
    rl_datum_arrays,
    sft_datum_arrays,
    to_datum,
)
from gepa_rl_trainer.errors import InvalidRequest, NonFiniteLoss
from gepa_rl_trainer.models import load_tokenizer

MODEL = {"backend": "tinker", "base_model": "Qwen/Qwen3-4B-Instruct-2507", "lora_rank": 8, "lora_target_modules": ["q_proj", "v_proj", "up_proj"]}
OPTIM = {"learning_rate": 4e-5, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.0, "grad_clip": 1.0}
KEY = {"TINKER_API_KEY": "tk-test"}


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


def test_lora_and_adam_arguments_from_our_config():
    assert lora_client_args(MODEL) == {"base_model": MODEL["base_model"], "rank": 8, "train_attn": True, "train_mlp": True, "train_unembed": False}
    assert lora_client_args({"base_model": "m", "lora_rank": 4, "lora_target_modules": ["q_proj"]})["train_mlp"] is False
    with pytest.raises(InvalidRequest, match=r"LoRA only: lora_rank must be >= 1 \(got 0\)"):
        lora_client_args({"base_model": "m", "lora_rank": 0})
    with pytest.raises(InvalidRequest, match=r"\['conv1'\] have no Tinker equivalent"):
        lora_client_args({"base_model": "m", "lora_rank": 4, "lora_target_modules": ["q_proj", "conv1"]})
    p = adam_params(adam_settings(OPTIM))
    assert isinstance(p, tinker.types.AdamParams)
    assert (p.learning_rate, p.beta1, p.beta2, p.eps, p.grad_clip_norm) == (4e-5, 0.9, 0.95, 1e-8, 1.0)


class LearnerLogprobs:
    def __init__(self, values):
        self.values = values

    def tolist(self):
        return list(self.values)


def done(value):
    """A finished SDK future."""
    return SimpleNamespace(result=lambda: value)


class Stack:
    """An autospecced ServiceClient whose training clients answer like the service would."""

    def __init__(self, loss=1.5):
        self.tok = load_tokenizer("tiny-random")
        self.service = create_autospec(tinker.ServiceClient, instance=True)
        self.clients: list = []
        self.loss = loss
        self.service.create_lora_training_client.side_effect = lambda **kw: done(self._client())
        self.service.create_training_client_from_state_with_optimizer.side_effect = lambda path, **kw: done(self._client(path, with_optimizer=True))
        self.service.create_training_client_from_state.side_effect = lambda path, **kw: done(self._client(path, with_optimizer=False))
        self.samplers: list = []
        self.service.create_sampling_client.side_effect = lambda **kw: done(self._sampler(kw))

    def _client(self, from_state=None, with_optimizer=None):
        tc = create_autospec(TrainingClient, instance=True)
        tc.from_state = from_state
        tc.with_optimizer = with_optimizer
        tc.get_tokenizer.return_value = self.tok

        def fb(data, loss_fn, loss_fn_config=None):
            # the learner's logprobs sit 0.1 nats above the sampler's on every target
            outs = [{"logprobs": LearnerLogprobs([x + 0.1 for x in d.loss_fn_inputs["logprobs"].tolist()])} if "logprobs" in d.loss_fn_inputs else {} for d in data]
            return done(SimpleNamespace(metrics={"loss:sum": self.loss}, loss_fn_outputs=outs))

        tc.forward_backward.side_effect = fb
        tc.optim_step.return_value = done(SimpleNamespace(metrics={"optim/grad_norm": 0.7}))
        tc.save_state.side_effect = lambda name, **kw: done(SimpleNamespace(path=f"tinker://run/weights/{name}"))
        tc.save_weights_for_sampler.side_effect = lambda name, **kw: done(SimpleNamespace(path=f"tinker://run/sampler_weights/{name}"))
        self.clients.append(tc)
        return tc

    def _sampler(self, kw):
        sc = create_autospec(SamplingClient, instance=True)
        sc.opened_with = kw
        sc.get_tokenizer.return_value = self.tok
        seqs = [SimpleNamespace(tokens=[10, 11, self.tok.eos_token_id], logprobs=[-0.5, -1.0, -0.1], stop_reason="stop"),
                SimpleNamespace(tokens=[12, 13], logprobs=[-2.0, -0.3], stop_reason="length")]
        sc.sample.side_effect = lambda prompt, num_samples, sampling_params, **k: done(SimpleNamespace(sequences=seqs[:num_samples]))
        self.samplers.append(sc)
        return sc


def rollouts_ref(tmp_path):
    rollouts = [
        {"prompt_token_ids": [1, 2, 3], "token_ids": [7, 8], "logprobs": [-0.5, -0.25]},
        {"prompt_token_ids": [1, 2, 3], "token_ids": [9], "logprobs": [-1.0]},
        {"prompt_token_ids": [1, 2, 3], "token_ids": [4, 5, 6], "logprobs": [-0.1, -0.2, -0.3]},
    ]
    return blobs.write_json(str(tmp_path / "blobs"), {"rollouts": rollouts})


def step_req(tmp_path, step, checkpoint_in=None, keep=True, loss="importance_sampling", advantages=(1.0, -1.0, 0.0)):
    return {"run_id": "run/round0_rl", "step": step, "model": MODEL, "checkpoint_in": checkpoint_in, "checkpoint_root": str(tmp_path / "ckpt"),
            "loss": loss, "rollouts_ref": rollouts_ref(tmp_path), "advantages": list(advantages), "optim": OPTIM, "keep": keep}


def test_train_step_calls_the_sdk_in_order_and_saves_state_and_sampler_weights(tmp_path):
    stack = Stack()
    b = TinkerBackend(env=KEY, service=stack.service)
    out = b.train_step(step_req(tmp_path, 0, loss="ppo"))
    stack.service.create_lora_training_client.assert_called_once_with(**lora_client_args(MODEL))
    tc = stack.clients[0]
    data, loss_fn = tc.forward_backward.call_args.args
    assert loss_fn == "ppo" and len(data) == 2  # the zero-advantage rollout is not sent
    assert data[0].model_input.to_ints() == [1, 2, 3, 7] and data[0].loss_fn_inputs["advantages"].tolist() == pytest.approx([0, 0, 1, 1])
    assert tc.optim_step.call_args.args[0].learning_rate == 4e-5
    tc.save_state.assert_called_once_with("run_round0_rl-step-0")
    tc.save_weights_for_sampler.assert_called_once_with("run_round0_rl-step-0")
    meta = json.loads((Path(out["checkpoint_out"]) / "meta.json").read_text())
    assert meta["tinker_state_path"] == "tinker://run/weights/run_round0_rl-step-0"
    assert meta["tinker_sampler_path"] == "tinker://run/sampler_weights/run_round0_rl-step-0"
    m = out["metrics"]
    assert m["loss"] == 1.5 and m["tokens"] == 3 and m["grad_norm"] == 0.7 and m["learning_rate"] == 4e-5
    assert m["kl_sample_train_v1"] == pytest.approx(-0.1) and m["kl_sample_train_v2"] == pytest.approx(0.005)
    rows = [json.loads(line) for line in (tmp_path / "checkpoints.jsonl").read_text().splitlines()]
    assert [(r["step"], r["keep"]) for r in rows] == [(0, True)]


def test_cached_client_retry_and_resume_in_a_new_worker(tmp_path):
    stack = Stack()
    b = TinkerBackend(env=KEY, service=stack.service)
    s0 = b.train_step(step_req(tmp_path, 0, keep=False))["checkpoint_out"]
    s1 = b.train_step(step_req(tmp_path, 1, s0))["checkpoint_out"]
    assert len(stack.clients) == 1  # the cached client holds step 0's weights: no reload
    assert not Path(s0).exists()  # keep=false and superseded by step 1: pruned
    again = b.train_step(step_req(tmp_path, 1, s0))
    assert again["reused"] and stack.clients[0].forward_backward.call_count == 2
    # a new worker (empty cache) resumes from step 1's saved state, optimiser included
    b2 = TinkerBackend(env=KEY, service=stack.service)
    b2.train_step(step_req(tmp_path, 2, s1))
    assert stack.clients[1].from_state == "tinker://run/weights/run_round0_rl-step-1" and stack.clients[1].with_optimizer
    # the first worker's client holds step 1: training from it needs no reload ...
    b.train_step(step_req(tmp_path / "a", 2, s1))
    assert len(stack.clients) == 2
    # ... but once that client moved on (it now holds a/2), asking for step 1 again rebuilds from its state
    b.train_step(step_req(tmp_path / "b", 2, s1))
    assert len(stack.clients) == 3 and stack.clients[2].from_state == "tinker://run/weights/run_round0_rl-step-1" and stack.clients[2].with_optimizer


def test_another_runs_checkpoint_loads_the_weights_only_and_adam_settings_go_with_every_step(tmp_path):
    """Issue 23 item 1: optimiser state comes along only when a run resumes itself (the checkpoint is
    an earlier step of the same run id); from another run's checkpoint (RL from SFT weights, the next
    phase) the weights only, as tinker-cookbook's load_checkpoint_path."""
    stack = Stack()
    b = TinkerBackend(env=KEY, service=stack.service)
    s0 = b.train_step(step_req(tmp_path, 0))["checkpoint_out"]
    other = dict(step_req(tmp_path / "next", 0, s0), run_id="run/round1_rl", optim=dict(OPTIM, beta2=0.5, weight_decay=0.1))
    b.train_step(other)  # same worker: the cached client is run/round0_rl's, not reused for another run
    tc = stack.clients[1]
    assert tc.from_state == "tinker://run/weights/run_round0_rl-step-0" and tc.with_optimizer is False
    stack.service.create_training_client_from_state.assert_called_once_with("tinker://run/weights/run_round0_rl-step-0")
    p = tc.optim_step.call_args.args[0]
    assert (p.beta2, p.weight_decay) == (0.5, 0.1)
    # a new worker asked for step 0 again from s0 (not an earlier step of that run): weights only too
    TinkerBackend(env=KEY, service=stack.service).train_step(step_req(tmp_path / "again", 0, s0))
    assert stack.clients[2].with_optimizer is False


def test_sampling_uses_the_sampler_weights_not_the_training_state(tmp_path):
    stack = Stack()
    b = TinkerBackend(env=KEY, service=stack.service)
    ckpt = b.train_step(step_req(tmp_path, 0))["checkpoint_out"]
    req = {"model": MODEL, "checkpoint": ckpt, "prompts": [[{"role": "user", "content": "2+2?"}], [{"role": "user", "content": "3+3?"}]],
           "num_samples": 2, "sampling": {"max_tokens": 8, "temperature": 1.0, "top_p": 1.0, "seed": 5}, "blob_dir": str(tmp_path / "b"), "return_texts": True}
    res = b.sample(req)
    assert stack.samplers[0].opened_with == {"model_path": "tinker://run/sampler_weights/run_round0_rl-step-0"}
    params = [c.kwargs["sampling_params"] for c in stack.samplers[0].sample.call_args_list]
    assert [p.seed for p in params] == [5, 6] and params[0].max_tokens == 8 and params[0].stop == [stack.tok.eos_token_id]
    assert res["num_tokens"] == [[3, 2], [3, 2]]
    rollouts = blobs.read_json(res["rollouts_ref"])["rollouts"]
    assert [r["stop_reason"] for r in rollouts[:2]] == ["stop", "length"]
    assert rollouts[0]["logprobs"] == [-0.5, -1.0, -0.1] and rollouts[0]["prompt_token_ids"][-1] != 10
    b.sample(dict(req, checkpoint=None))
    assert stack.samplers[1].opened_with == {"base_model": MODEL["base_model"]}
    b.sample(req)
    assert len(stack.samplers) == 2  # one client per sampler path, reused


def test_nan_loss_takes_no_optimiser_step_and_writes_no_checkpoint(tmp_path):
    stack = Stack(loss=float("nan"))
    b = TinkerBackend(env=KEY, service=stack.service)
    with pytest.raises(NonFiniteLoss, match="step 0: loss=nan is not finite; no checkpoint written"):
        b.train_step(step_req(tmp_path, 0))
    stack.clients[0].optim_step.assert_not_called()
    assert not (tmp_path / "ckpt" / "0").exists()


def test_bad_checkpoints_and_requests_are_clear(tmp_path):
    b = TinkerBackend(env=KEY, service=Stack().service)
    with pytest.raises(InvalidRequest, match="checkpoint /nope/3 does not exist"):
        b.train_step(step_req(tmp_path, 1, "/nope/3"))
    local = tmp_path / "local"
    local.mkdir()
    (local / "meta.json").write_text("{}")
    (local / "DONE").write_text("")
    with pytest.raises(InvalidRequest, match="not written by the tinker backend"):
        b.sample({"model": MODEL, "checkpoint": str(local), "prompts": [[]], "num_samples": 1, "sampling": {}, "blob_dir": str(tmp_path)})
    with pytest.raises(InvalidRequest, match=r"one value per rollout \(3\); got 1"):
        b.train_step(step_req(tmp_path, 0, advantages=[1.0]))
    with pytest.raises(InvalidRequest, match="zero advantage"):
        b.train_step(step_req(tmp_path, 0, advantages=[0.0, 0.0, 0.0]))


def test_cispo_goes_to_tinkers_own_cispo_with_the_local_clip_bounds(tmp_path):
    stack = Stack()
    b = TinkerBackend(env=KEY, service=stack.service)
    b.train_step(step_req(tmp_path, 0, loss="cispo"))
    call = stack.clients[0].forward_backward.call_args
    assert call.args[1] == "cispo"
    assert call.kwargs["loss_fn_config"] == {"clip_low_threshold": 0.0, "clip_high_threshold": 1.28}
    # the other losses send no config
    other = Stack()
    TinkerBackend(env=KEY, service=other.service).train_step(step_req(tmp_path / "b", 0, loss="ppo"))
    assert other.clients[0].forward_backward.call_args.kwargs == {}


# --- rendering and stops: tinker-cookbook's renderers (issue 23, item 6) ---------------------------------

def sampling_stack(replies: list[str]):
    """A Stack whose sampling client answers `replies` (as token ids) to every prompt."""
    stack = Stack()

    def sampler(kw):
        sc = create_autospec(SamplingClient, instance=True)
        sc.opened_with = kw
        sc.get_tokenizer.return_value = stack.tok
        seqs = [SimpleNamespace(tokens=(t := stack.tok.encode(text, add_special_tokens=False)), logprobs=[-0.5] * len(t), stop_reason="stop") for text in replies]
        sc.sample.side_effect = lambda prompt, num_samples, sampling_params, **k: done(SimpleNamespace(sequences=seqs[:num_samples]))
        stack.samplers.append(sc)
        return sc

    stack.service.create_sampling_client.side_effect = lambda **kw: done(sampler(kw))
    return stack


def sample_on(stack, base_model, tmp_path, prompts):
    b = TinkerBackend(env=KEY, service=stack.service)
    req = {"model": dict(MODEL, base_model=base_model), "checkpoint": None, "prompts": prompts, "num_samples": 1,
           "sampling": {"max_tokens": 8, "temperature": 1.0, "top_p": 1.0, "seed": 5}, "blob_dir": str(tmp_path / "b"), "return_texts": True}
    res = b.sample(req)
    return res, stack.samplers[0].sample.call_args_list, blobs.read_json(res["rollouts_ref"])["rollouts"]


def test_a_base_model_samples_with_the_cookbooks_role_colon_renderer_and_its_stop_sequence(tmp_path):
    from tinker_cookbook import renderers

    stack = sampling_stack(["4\n\nUser:"])
    prompts = [[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}]]
    res, calls, rollouts = sample_on(stack, "Qwen/Qwen3-8B-Base", tmp_path, prompts)
    ref = renderers.get_renderer("role_colon", stack.tok)  # the cookbook's choice for a base model
    params = calls[0].kwargs["sampling_params"]
    assert params.stop == ref.get_stop_sequences() == ["\n\nUser:"]  # not the tokenizer's eos id
    assert calls[0].kwargs["prompt"].to_ints() == ref.build_generation_prompt(prompts[0]).to_ints()
    assert stack.tok.decode(rollouts[0]["prompt_token_ids"]).endswith("System: Be brief.\n\nUser: 2+2?\n\nAssistant:")
    assert res["texts"] == [["4"]]  # the stop sequence is not part of the reply


def test_an_instruct_model_renders_as_the_cookbooks_qwen3_instruct_renderer(tmp_path):
    from tinker_cookbook import renderers

    stack = sampling_stack(["4<|im_end|>"])
    prompts = [[{"role": "user", "content": "2+2?"}]]
    res, calls, rollouts = sample_on(stack, "Qwen/Qwen3-4B-Instruct-2507", tmp_path, prompts)
    ref = renderers.get_renderer("qwen3_instruct", stack.tok)
    assert calls[0].kwargs["sampling_params"].stop == ref.get_stop_sequences()
    # the cookbook's prompt: no default system message (the HF chat template of this tokenizer adds one)
    assert rollouts[0]["prompt_token_ids"] == ref.build_generation_prompt(prompts[0]).to_ints()
    assert "SmolLM" not in stack.tok.decode(rollouts[0]["prompt_token_ids"])
    assert res["texts"] == [["4"]]


def test_sft_on_tinker_trains_the_cookbooks_supervised_example(tmp_path):
    from tinker_cookbook import renderers

    stack = Stack()
    b = TinkerBackend(env=KEY, service=stack.service)
    ex = [{"messages": [{"role": "user", "content": "2+2?"}], "completion": "4"}]
    req = dict(step_req(tmp_path, 0, loss="cross_entropy"), sft_examples_ref=blobs.write_json(str(tmp_path / "sft"), ex))
    b.train_step(req)
    (datum,), _ = stack.clients[0].forward_backward.call_args.args
    model_input, weights = renderers.get_renderer("qwen3_instruct", stack.tok).build_supervised_example([*ex[0]["messages"], {"role": "assistant", "content": "4"}])
    tokens = model_input.to_ints()
    assert datum.model_input.to_ints() == tokens[:-1]
    assert datum.loss_fn_inputs["target_tokens"].tolist() == tokens[1:]
    assert datum.loss_fn_inputs["weights"].tolist() == pytest.approx(weights.tolist()[1:])
    # the targets: the reply and the renderer's end of message
    assert stack.tok.decode([t for t, w in zip(tokens, weights.tolist()) if w > 0]) == "4<|im_end|>"


def test_a_model_the_cookbook_has_no_renderer_for_is_refused_by_name(tmp_path):
    with pytest.raises(InvalidRequest, match=r"no renderer for base model 'nope/model'"):
        sample_on(sampling_stack(["x"]), "nope/model", tmp_path, [[{"role": "user", "content": "hi"}]])
