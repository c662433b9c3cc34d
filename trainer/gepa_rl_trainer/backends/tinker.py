"""Tinker backend: remote LoRA training and sampling through the official `tinker` SDK.

Same entry points as the local backend (sample, train_step; the contract of src/types.ts), chosen by
`policy.backend=tinker` with TINKER_API_KEY in the trainer worker's environment. The key is read
by the SDK from the environment and never stored on this object, logged or returned.

One train step: forward_backward with the named loss, optim_step (Adam), then two saves: save_state
(weights + optimiser, to resume training) and save_weights_for_sampler (what a sampling client
loads). A local checkpoint folder <checkpoint_root>/<step>/ records both tinker:// paths in
meta.json, so the workflow passes checkpoints around exactly as with the local backend. A rebuilt
training client resumes from the state path with its optimiser when the checkpoint is an earlier
step of the same run; from another run's checkpoint it loads the weights only (a fresh Adam).

Prompts, stop sequences, SFT targets and reply text come from tinker-cookbook's renderer for the base
model (cookbook_renderer), as in the cookbook's recipes: e.g. qwen3_instruct stops at <|im_end|>,
role_colon (base models) at "\n\nUser:"; the HF chat template and eos_token_id are not used here.

What is tested offline (trainer/tests/test_tinker.py): datum conversion, the LoRA and Adam
arguments, the metrics, and the whole call sequence against a stand-in for the service client
(train, retry, resume, sample from saved sampler weights). The Tinker service itself cannot be
reached from this machine, so the calls are not exercised against it.
"""
from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

from .. import blobs
from .. import checkpoints as ckpts
from ..datums import sft_examples, training_examples
from ..errors import InvalidRequest, NonFiniteLoss
from ..losses import CISPO_CLIP_HIGH, CISPO_CLIP_LOW
from ..requests import AdamSettings, parse_sample_request, parse_train_step_request, sample_result

# the loss names (requests.LOSS_NAMES) are Tinker's own: its ppo clips the ratio to [0.8, 1.2] as losses.py does;
# its cispo (SDK LossFnType "cispo") takes the clip bounds as loss_fn_config, sent as losses.py's
CISPO_CONFIG = {"clip_low_threshold": CISPO_CLIP_LOW, "clip_high_threshold": CISPO_CLIP_HIGH}
ATTN = {"q_proj", "k_proj", "v_proj", "o_proj"}
MLP = {"gate_proj", "up_proj", "down_proj"}
UNEMBED = {"lm_head"}


class MissingTinkerKey(InvalidRequest):
    pass


def rl_datum_arrays(prompt_ids: list[int], completion_ids: list[int], sampler_logprobs: list[float], advantage: float) -> dict:
    """Next-token layout the Tinker losses expect: input = prompt + completion[:-1]; targets are the
    input shifted by one; prompt positions carry zero advantage (they are not trained)."""
    if len(completion_ids) != len(sampler_logprobs):
        raise InvalidRequest(f"completion has {len(completion_ids)} tokens but {len(sampler_logprobs)} logprobs")
    if not prompt_ids or not completion_ids:
        raise InvalidRequest("an RL datum needs a non-empty prompt and completion")
    tokens = prompt_ids + completion_ids
    n_prompt_targets = len(prompt_ids) - 1
    return {
        "model_input": tokens[:-1],
        "target_tokens": tokens[1:],
        "logprobs": [0.0] * n_prompt_targets + list(sampler_logprobs),
        "advantages": [0.0] * n_prompt_targets + [float(advantage)] * len(completion_ids),
    }


def cookbook_renderer(base_model: str, tok):
    """tinker-cookbook's renderer for a Tinker base model, the one its recipes pick
    (model_info.get_recommended_renderer_name: qwen3_instruct for Qwen3-*-Instruct-2507, role_colon for
    base models, llama3 ...): it renders the prompts, gives the stop sequences, builds the SFT targets
    (the reply and its end-of-message token) and parses replies, as the cookbook's RL and SFT do."""
    try:
        from tinker_cookbook import model_info, renderers
    except ImportError as e:
        raise InvalidRequest(
            "the tinker backend renders prompts with tinker-cookbook's renderers, and tinker-cookbook is not installed: "
            "run scripts/setup.sh (it installs tinker-cookbook==0.6.1 with --no-deps)"
        ) from e
    try:
        name = model_info.get_recommended_renderer_name(base_model)
    except Exception as e:  # the cookbook's ConfigurationError for a model it does not know
        raise InvalidRequest(f"tinker-cookbook has no renderer for base model {base_model!r} ({e}): use a Tinker base model it lists") from e
    return renderers.get_renderer(name, tok)


def reply_text(renderer, tokens: list[int]) -> str:
    """A sampled reply's text as the cookbook reads it: the renderer parses the message (its stop
    sequence and any end-of-message token removed) and its text content is kept."""
    from tinker_cookbook.renderers import get_text_content

    message, _ok = renderer.parse_response(tokens)
    return get_text_content(message)


def sft_renderer_arrays(renderer, messages: list[dict], completion: str) -> dict:
    """An SFT datum as the cookbook builds one (renderer.build_supervised_example, trained on the last
    assistant message): the rendered prompt, then the completion and the renderer's end of message."""
    model_input, weights_T = renderer.build_supervised_example([*messages, {"role": "assistant", "content": completion}])
    tokens, weights = model_input.to_ints(), [float(w) for w in weights_T.tolist()]
    k = next((t for t, w in enumerate(weights) if w > 0), len(weights))
    if k == 0 or k == len(weights) or any(w <= 0 for w in weights[k:]):
        raise InvalidRequest(f"the renderer's SFT example has no prompt, no target or a gap in its targets (weights {weights})")
    return sft_datum_arrays(tokens[:k], tokens[k:])


def sft_datum_arrays(prompt_ids: list[int], completion_ids: list[int]) -> dict:
    tokens = prompt_ids + completion_ids
    return {
        "model_input": tokens[:-1],
        "target_tokens": tokens[1:],
        "weights": [0.0] * (len(prompt_ids) - 1) + [1.0] * len(completion_ids),
    }


def to_datum(arrays: dict):
    import tinker

    inputs = {k: v for k, v in arrays.items() if k != "model_input"}
    return tinker.types.Datum(model_input=tinker.types.ModelInput.from_ints(arrays["model_input"]), loss_fn_inputs=inputs)


def lora_client_args(model_ref: dict) -> dict:
    """Arguments of create_lora_training_client from our model ref. Tinker has no per-module targets:
    it trains attention, MLP and unembedding as groups, so each group is on when any of its modules
    is in lora_target_modules. Tinker has no lora_alpha either (it is ignored)."""
    rank = int(model_ref.get("lora_rank") if model_ref.get("lora_rank") is not None else 32)
    if rank <= 0:
        raise InvalidRequest(f"the tinker backend trains LoRA only: lora_rank must be >= 1 (got {rank}); use backend=local for full fine-tuning")
    targets = set(model_ref.get("lora_target_modules") or ATTN | MLP)
    unknown = targets - ATTN - MLP - UNEMBED
    if unknown:
        raise InvalidRequest(f"lora_target_modules {sorted(unknown)} have no Tinker equivalent (expected among {sorted(ATTN | MLP | UNEMBED)})")
    return {
        "base_model": model_ref["base_model"],
        "rank": rank,
        "train_attn": bool(targets & ATTN),
        "train_mlp": bool(targets & MLP),
        "train_unembed": bool(targets & UNEMBED),
    }


def adam_params(optim: AdamSettings):
    import tinker

    return tinker.types.AdamParams(
        learning_rate=optim.learning_rate,
        beta1=optim.beta1,
        beta2=optim.beta2,
        eps=optim.eps,
        weight_decay=optim.weight_decay,
        grad_clip_norm=optim.grad_clip,
    )


def step_metrics(arrays_D: list[dict], fb, optim_metrics: dict | None, learning_rate: float) -> dict:
    """Our metric names from a ForwardBackwardOutput: loss (Tinker's loss:sum) and loss_per_token (that
    sum over the trained tokens, the mean TRL logs), kl_sample_train_v1/v2
    over the trained tokens from the learner logprobs Tinker returns, tokens, grad_norm when the
    optimiser reports one. Tinker reports no entropy; it is left out rather than made up."""
    fb_metrics = dict(getattr(fb, "metrics", None) or {})
    loss = fb_metrics.get("loss:sum", fb_metrics.get("loss"))
    metrics: dict = {"learning_rate": learning_rate}
    if loss is not None:
        metrics["loss"] = float(loss)
    kl1 = kl2 = 0.0
    kl_n = tokens = 0
    outputs = list(getattr(fb, "loss_fn_outputs", None) or [])
    for i, a in enumerate(arrays_D):
        mask_T = a.get("advantages") or a.get("weights") or []
        trained_T = [t for t, m in enumerate(mask_T) if m != 0]
        tokens += len(trained_T)
        if "logprobs" not in a or i >= len(outputs) or "logprobs" not in outputs[i]:
            continue
        learner_T = outputs[i]["logprobs"].tolist()
        for t in trained_T:
            diff = a["logprobs"][t] - learner_T[t]
            kl1 += diff
            kl2 += 0.5 * diff * diff
            kl_n += 1
    metrics["tokens"] = tokens
    if loss is not None and tokens:
        metrics["loss_per_token"] = float(loss) / tokens  # beside the sum: the mean per trained token (TRL's loss)
    if kl_n:
        metrics["kl_sample_train_v1"] = kl1 / kl_n
        metrics["kl_sample_train_v2"] = kl2 / kl_n
    for k, v in (optim_metrics or {}).items():
        if "grad_norm" in k and isinstance(v, (int, float)):
            metrics["grad_norm"] = float(v)
            break
    return metrics



def checkpoint_name(run_id: str, step: int) -> str:
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', str(run_id))}-step-{int(step)}"


class TinkerBackend:
    def __init__(self, env: dict | None = None, service=None):
        """service: a tinker.ServiceClient, built on first use; tests pass a stand-in."""
        env = os.environ if env is None else env
        if not env.get("TINKER_API_KEY"):
            raise MissingTinkerKey(
                "TINKER_API_KEY is not set: the tinker backend needs an API key from Thinking Machines (tinker console) "
                "in the trainer worker's environment; use policy.backend=local to train locally"
            )
        self._service = service
        self._training: dict[str, tuple[object, str | None]] = {}  # run+model -> (client, checkpoint dir it holds)
        self._sampling: dict[str, object] = {}  # sampler path or base model -> sampling client
        self._renderers: dict[str, object] = {}  # base model -> tinker-cookbook renderer

    def __repr__(self) -> str:  # never shows the key
        return f"TinkerBackend(training_clients={len(self._training)}, sampling_clients={len(self._sampling)})"

    def _renderer(self, base_model: str, tok):
        if base_model not in self._renderers:
            self._renderers[base_model] = cookbook_renderer(base_model, tok)
        return self._renderers[base_model]

    def service(self):
        if self._service is None:
            import tinker

            self._service = tinker.ServiceClient()
        return self._service

    @staticmethod
    def _meta(checkpoint_dir: str) -> dict:
        d = Path(checkpoint_dir)
        if not ckpts.is_done(d):
            raise InvalidRequest(f"checkpoint {checkpoint_dir} does not exist or is incomplete (no DONE marker)")
        meta = ckpts.read_meta(d)
        if "tinker_state_path" not in meta:
            raise InvalidRequest(f"checkpoint {checkpoint_dir} was not written by the tinker backend (no tinker_state_path in meta.json)")
        return meta

    def _training_client(self, req: dict):
        """The cached training client when it holds checkpoint_in (its run's client: the key holds
        the run id); otherwise a new one from checkpoint_in's saved state: weights and optimiser when
        it is an earlier step of the same run (a resume, checkpoints.resumes_run), the weights only
        from any other run's checkpoint (a fresh Adam, as tinker-cookbook's load_checkpoint_path);
        or fresh from the base model. The request's AdamParams go with every optim_step."""
        args = lora_client_args(req["model"])
        key = f"{req.get('run_id')}|{sorted(args.items())}"
        want = req.get("checkpoint_in")
        cached = self._training.get(key)
        if cached is not None and cached[1] == want:
            return cached[0]
        if want:
            state_path = self._meta(want)["tinker_state_path"]
            if ckpts.resumes_run(want, str(req.get("run_id")), int(req["step"])):
                tc = self.service().create_training_client_from_state_with_optimizer(state_path).result()
            else:
                tc = self.service().create_training_client_from_state(state_path).result()
        else:
            tc = self.service().create_lora_training_client(**args).result()
        self._training[key] = (tc, want)
        return tc

    def _arrays(self, req: dict, tok) -> list[dict]:
        if req["loss"] == "cross_entropy":
            renderer = self._renderer(req["model"]["base_model"], tok)
            return [sft_renderer_arrays(renderer, e["messages"], e["completion"]) for e in sft_examples(req)]
        return [rl_datum_arrays(e["prompt"], e["completion"], e["logprobs"], e["advantage"]) for e in training_examples(req, tok)]

    def train_step(self, req: dict) -> dict:
        t0 = time.time()
        r = parse_train_step_request(req)
        step, root, out_dir, keep, reused = ckpts.step_target(req, t0)
        if reused is not None:
            return reused
        tc = self._training_client(req)
        arrays_D = self._arrays(req, tc.get_tokenizer())
        if not arrays_D:
            raise InvalidRequest("nothing to train on: every example has zero advantage or no completion tokens")
        def drop():
            self._training = {k: v for k, v in self._training.items() if v[0] is not tc}

        try:
            extra = {"loss_fn_config": CISPO_CONFIG} if req["loss"] == "cispo" else {}
            fb = tc.forward_backward([to_datum(a) for a in arrays_D], req["loss"], **extra).result()
            loss = (getattr(fb, "metrics", None) or {}).get("loss:sum")
            if loss is not None and not math.isfinite(float(loss)):
                # no optimiser step: the remote weights stay those of checkpoint_in (the client is dropped below)
                raise NonFiniteLoss(f"step {step}: loss={loss} is not finite; no checkpoint written, the last good checkpoint is {req.get('checkpoint_in')}")
            opt = tc.optim_step(adam_params(r.optim)).result()
            name = checkpoint_name(req["run_id"], step)
            state_path = tc.save_state(name).result().path
            sampler_path = tc.save_weights_for_sampler(name).result().path
            metrics = step_metrics(arrays_D, fb, getattr(opt, "metrics", None), r.optim.learning_rate)
            with ckpts.writing(out_dir, step) as tmp:
                ckpts.commit(tmp, out_dir, {
                    "run_id": req["run_id"], "step": step, "model": req["model"], "checkpoint_in": req.get("checkpoint_in"), "loss": req["loss"],
                    "keep": keep, "metrics": metrics, "tinker_state_path": state_path, "tinker_sampler_path": sampler_path,
                })
        except BaseException:
            # whatever failed after forward_backward (a NaN loss, the network, a save), the client may
            # hold gradients or weights past checkpoint_in: the retry rebuilds it from there
            drop()
            raise
        for k, (client, _) in list(self._training.items()):
            if client is tc:
                self._training[k] = (tc, str(out_dir))
        ckpts.record(root, step, out_dir, metrics, keep)
        ckpts.prune_superseded(root, req.get("checkpoint_in"), out_dir, step)
        return {"checkpoint_out": str(out_dir), "metrics": metrics, "reused": False, "seconds": time.time() - t0}

    def _sampling_client(self, model_ref: dict, checkpoint: str | None):
        if checkpoint:
            meta = self._meta(checkpoint)
            if not meta.get("tinker_sampler_path"):
                raise InvalidRequest(f"checkpoint {checkpoint} has no sampler weights (no tinker_sampler_path in meta.json); train a step again to write them")
            key, kwargs = meta["tinker_sampler_path"], {"model_path": meta["tinker_sampler_path"]}
        else:
            key, kwargs = f"base:{model_ref['base_model']}", {"base_model": model_ref["base_model"]}
        if key not in self._sampling:
            self._sampling[key] = self.service().create_sampling_client(**kwargs).result()
        return self._sampling[key]

    def kl_to_base(self, req: dict) -> dict:
        """Not on Tinker (the workflows skip it there and record why, src/core/klToBase.ts)."""
        raise InvalidRequest(
            "policy_kl_to_base is refused on backend=tinker: test/kl_to_base is the whole-vocabulary KL at each "
            "sampled position, and Tinker's compute_logprobs gives only the sampled tokens' logprobs"
        )

    def sample(self, req: dict) -> dict:
        import tinker

        t0 = time.time()
        r = parse_sample_request(req)
        sc = self._sampling_client(r.model, r.checkpoint)
        tok = sc.get_tokenizer()
        sp = r.sampling
        # prompts and stops from tinker-cookbook's renderer for this model, as the cookbook samples
        renderer = self._renderer(r.model["base_model"], tok)
        prompt_ids_P = [renderer.build_generation_prompt(msgs).to_ints() for msgs in r.prompts]
        stop = renderer.get_stop_sequences()
        futures = [
            sc.sample(
                prompt=tinker.types.ModelInput.from_ints(ids),
                num_samples=r.num_samples,
                sampling_params=tinker.types.SamplingParams(max_tokens=sp.max_tokens, temperature=sp.temperature, top_p=sp.top_p, seed=sp.seed + p, stop=stop),
            )
            for p, ids in enumerate(prompt_ids_P)
        ]  # all prompts in flight at once; collected in order
        rollouts = []
        for p, fut in enumerate(futures):
            for s, seq in enumerate(fut.result().sequences):
                toks = list(seq.tokens)
                if seq.logprobs is None or len(seq.logprobs) != len(toks):
                    raise InvalidRequest(f"Tinker returned {len(toks)} tokens but {'no' if seq.logprobs is None else len(seq.logprobs)} logprobs for prompt {p}")
                text = reply_text(renderer, toks)
                rollouts.append({"prompt_index": p, "sample_index": s, "prompt_token_ids": prompt_ids_P[p], "token_ids": toks,
                                 "logprobs": list(seq.logprobs), "text": text, "stop_reason": "length" if seq.stop_reason == "length" else "stop"})
        ref = blobs.write_json(r.blob_dir, {"model": r.model, "checkpoint": r.checkpoint, "rollouts": rollouts})
        return sample_result(rollouts, len(prompt_ids_P), r.num_samples, ref, r.return_texts, time.time() - t0)
