"""The one reader of policy_sample and train_step requests (the contract of src/types.ts), used by
every backend (local, tinker): required fields, where the prompts come from, the sampling defaults,
the loss names. A bad request raises InvalidRequest saying what was wrong and what was received.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import blobs
from .errors import InvalidRequest

LOSS_NAMES = ("importance_sampling", "ppo", "cispo", "cross_entropy")
SAMPLERS = ("torch", "vllm")  # policy.sampler: the local backend's PyTorch loop, or a vLLM engine

SAMPLE_FIELDS = ("model", "num_samples", "sampling", "blob_dir")
TRAIN_STEP_FIELDS = ("run_id", "step", "model", "checkpoint_root", "loss", "optim")


def require(req: dict, *fields: str) -> None:
    for f in fields:
        if f not in req or req[f] is None:
            raise InvalidRequest(f"request is missing field {f!r} (got keys {sorted(req)})")


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int
    temperature: float
    top_p: float
    seed: int


@dataclass(frozen=True)
class SampleRequest:
    model: dict
    checkpoint: str | None
    prompts: list[list[dict]]
    num_samples: int
    sampling: SamplingParams
    blob_dir: str
    return_texts: bool
    sampler: str = "torch"


def parse_sample_request(req: dict) -> SampleRequest:
    """A policy_sample request read: the prompts inline or from their blob, num_samples >= 1, and the
    sampling parameters with their defaults (max_tokens 256, temperature 1, top_p 1, seed 0)."""
    require(req, *SAMPLE_FIELDS)
    prompts = req.get("prompts")
    if prompts is None:
        if not req.get("prompts_ref"):
            raise InvalidRequest("request needs `prompts` or `prompts_ref` (got neither)")
        prompts = blobs.read_json(req["prompts_ref"])
    if not isinstance(prompts, list) or not all(isinstance(p, list) for p in prompts):
        raise InvalidRequest(f"prompts must be a list of chat-message lists (got {type(prompts).__name__})")
    n = int(req["num_samples"])
    if n < 1:
        raise InvalidRequest(f"num_samples must be >= 1 (got {n})")
    sp = req["sampling"]
    sampling = SamplingParams(
        max_tokens=int(sp.get("max_tokens", 256)),
        temperature=float(sp.get("temperature", 1.0)),
        top_p=float(sp.get("top_p", 1.0)),
        seed=int(sp.get("seed", 0)),
    )
    sampler = req["model"].get("sampler") or "torch"
    if sampler not in SAMPLERS:
        raise InvalidRequest(f"model.sampler must be torch or vllm (got {sampler!r})")
    return SampleRequest(
        model=req["model"],
        checkpoint=req.get("checkpoint"),
        prompts=prompts,
        num_samples=n,
        sampling=sampling,
        blob_dir=req["blob_dir"],
        return_texts=bool(req.get("return_texts")),
        sampler=sampler,
    )


def sample_result(rollouts: list[dict], n_prompts: int, n_samples: int, ref: dict, return_texts: bool, seconds: float) -> dict:
    """policy_sample's compact result: the blob ref, token counts (and texts) per prompt and sample."""
    num_tokens = [[0] * n_samples for _ in range(n_prompts)]
    texts = [[""] * n_samples for _ in range(n_prompts)]
    for r in rollouts:
        num_tokens[r["prompt_index"]][r["sample_index"]] = len(r["token_ids"])
        texts[r["prompt_index"]][r["sample_index"]] = r["text"]
    return {"rollouts_ref": ref, "num_tokens": num_tokens, "texts": texts if return_texts else None, "seconds": seconds}


@dataclass(frozen=True)
class AdamSettings:
    """Adam(W) settings of a train step, with the defaults both backends apply (β = (0.9, 0.95), no
    weight decay; grad_clip 0 = no clipping, as Tinker's AdamParams.grad_clip_norm)."""

    learning_rate: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    grad_clip: float


@dataclass(frozen=True)
class TrainStepRequest:
    raw: dict  # the request itself, for the readers that take it whole (checkpoints.step_target, datums.training_examples)
    run_id: str
    step: int
    model: dict
    checkpoint_in: str | None
    loss: str
    optim: AdamSettings


def parse_train_step_request(req: dict) -> TrainStepRequest:
    require(req, *TRAIN_STEP_FIELDS)
    loss = req["loss"]
    if loss not in LOSS_NAMES:
        raise InvalidRequest(f"unknown loss {loss!r} (expected importance_sampling, ppo, cispo or cross_entropy)")
    return TrainStepRequest(raw=req, run_id=req["run_id"], step=int(req["step"]), model=req["model"], checkpoint_in=req.get("checkpoint_in"), loss=loss, optim=adam_settings(req["optim"]))


def adam_settings(o: dict) -> AdamSettings:
    if not isinstance(o, dict) or o.get("learning_rate") is None:
        raise InvalidRequest(f"optim needs learning_rate (got {o!r})")
    return AdamSettings(
        learning_rate=float(o["learning_rate"]),
        beta1=float(o.get("beta1", 0.9)),
        beta2=float(o.get("beta2", 0.95)),
        eps=float(o.get("eps", 1e-8)),
        weight_decay=float(o.get("weight_decay", 0.0)),
        grad_clip=float(o.get("grad_clip", 0.0)),
    )
