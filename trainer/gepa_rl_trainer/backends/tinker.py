"""Tinker backend: remote LoRA training and sampling through the official `tinker` SDK.

Same entry points as the local backend (sample, train_step; the contract of src/types.ts), chosen by
`policy.backend=tinker` with TINKER_API_KEY in the trainer worker's environment. The key is read
by the SDK from the environment and never stored on this object, logged or returned.

What is tested offline (trainer/tests/test_tinker.py): datum conversion for RL rollouts and SFT
examples, the missing-key error, that the key never appears in reprs, and that the SDK imports.
The Tinker service itself cannot be reached from this machine, so the calls into it are not
exercised by the tests.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .. import blobs
from ..errors import InvalidRequest

LOSSES = {"importance_sampling", "ppo", "cross_entropy"}


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


class TinkerBackend:
    def __init__(self, env: dict | None = None):
        env = os.environ if env is None else env
        if not env.get("TINKER_API_KEY"):
            raise MissingTinkerKey(
                "TINKER_API_KEY is not set: the tinker backend needs an API key from Thinking Machines (tinker console) "
                "in the trainer worker's environment; use policy.backend=local to train locally"
            )
        self._service = None
        self._training: dict[str, object] = {}  # (run) -> training client
        self._tok = None

    def __repr__(self) -> str:  # never shows the key
        return f"TinkerBackend(clients={len(self._training)})"

    def service(self):
        if self._service is None:
            import tinker

            self._service = tinker.ServiceClient()
        return self._service

    def _client(self, req: dict):
        key = f"{req.get('run_id')}|{req['model']['base_model']}"
        if key not in self._training:
            tc = self.service().create_lora_training_client(base_model=req["model"]["base_model"], rank=int(req["model"].get("lora_rank") or 32))
            if req.get("checkpoint_in"):
                tc.load_state_with_optimizer(self._tinker_path(req["checkpoint_in"]))
            self._training[key] = tc
        return self._training[key]

    @staticmethod
    def _tinker_path(checkpoint_dir: str) -> str:
        meta = Path(checkpoint_dir) / "meta.json"
        if not meta.is_file():
            raise InvalidRequest(f"checkpoint {checkpoint_dir} does not exist (no meta.json)")
        return json.loads(meta.read_text())["tinker_path"]

    def train_step(self, req: dict) -> dict:
        t0 = time.time()
        root = Path(req["checkpoint_root"]).resolve()
        out_dir = root / str(int(req["step"]))
        if (out_dir / "DONE").is_file():
            meta = json.loads((out_dir / "meta.json").read_text())
            return {"checkpoint_out": str(out_dir), "metrics": meta["metrics"], "reused": True, "seconds": time.time() - t0}
        if req["loss"] not in LOSSES:
            raise InvalidRequest(f"unknown loss {req['loss']!r}")
        tc = self._client(req)
        tok = tc.get_tokenizer()
        if req["loss"] == "cross_entropy":
            data = []
            for ex in blobs.read_json(req["sft_examples_ref"]):
                prompt = tok.apply_chat_template(ex["messages"], add_generation_prompt=True, tokenize=True)
                data.append(to_datum(sft_datum_arrays(list(prompt), tok.encode(ex["completion"], add_special_tokens=False) + [tok.eos_token_id])))
        else:
            rollouts = blobs.read_json(req["rollouts_ref"])["rollouts"]
            data = [
                to_datum(rl_datum_arrays(r["prompt_token_ids"], r["token_ids"], r["logprobs"], a))
                for r, a in zip(rollouts, req["advantages"])
                if a != 0 and r["token_ids"]
            ]
        import tinker

        o = req["optim"]
        fb = tc.forward_backward(data, req["loss"]).result()
        tc.optim_step(tinker.types.AdamParams(learning_rate=o["learning_rate"], beta1=o["beta1"], beta2=o["beta2"], eps=o["eps"], weight_decay=o.get("weight_decay", 0.0), grad_clip_norm=o.get("grad_clip", 0.0))).result()
        saved = tc.save_state(name=f"step-{req['step']}").result()
        metrics = {k: float(v) for k, v in (getattr(fb, "metrics", None) or {}).items() if isinstance(v, (int, float))}
        metrics.setdefault("tokens", float(sum(len(d.loss_fn_inputs["target_tokens"].data) for d in data)))
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "meta.json").write_text(json.dumps({"tinker_path": saved.path, "step": req["step"], "metrics": metrics}, allow_nan=False))
        (out_dir / "DONE").write_text("")
        return {"checkpoint_out": str(out_dir), "metrics": metrics, "reused": False, "seconds": time.time() - t0}

    def sample(self, req: dict) -> dict:
        import tinker

        t0 = time.time()
        prompts = req.get("prompts") or blobs.read_json(req["prompts_ref"])
        ckpt = req.get("checkpoint")
        if ckpt:
            sc = self.service().create_sampling_client(model_path=self._tinker_path(ckpt))
        else:
            sc = self.service().create_sampling_client(base_model=req["model"]["base_model"])
        tok = sc.get_tokenizer()
        sp = req["sampling"]
        params = tinker.types.SamplingParams(max_tokens=sp["max_tokens"], temperature=sp["temperature"], top_p=sp["top_p"], seed=sp["seed"])
        rollouts, num_tokens = [], []
        for p, msgs in enumerate(prompts):
            ids = list(tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True))
            res = sc.sample(prompt=tinker.types.ModelInput.from_ints(ids), num_samples=req["num_samples"], sampling_params=params).result()
            num_tokens.append([])
            for s, seq in enumerate(res.sequences):
                toks = list(seq.tokens)
                rollouts.append({"prompt_index": p, "sample_index": s, "prompt_token_ids": ids, "token_ids": toks, "logprobs": list(seq.logprobs or []),
                                 "text": tok.decode(toks, skip_special_tokens=True), "stop_reason": "length" if str(seq.stop_reason) == "length" else "stop"})
                num_tokens[-1].append(len(toks))
        ref = blobs.write_json(req["blob_dir"], {"model": req["model"], "checkpoint": ckpt, "rollouts": rollouts})
        return {"rollouts_ref": ref, "num_tokens": num_tokens, "texts": None, "seconds": time.time() - t0}
