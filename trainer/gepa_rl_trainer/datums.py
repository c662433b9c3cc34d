"""What a train_step trains on, read from its request the same way by every backend (local, tinker)."""
from __future__ import annotations

from . import blobs
from .errors import InvalidRequest


def chat_prompt_ids(tok, messages: list[dict]) -> list[int]:
    """Token ids of a chat prompt ready for the assistant's turn (rendered to text, then tokenised:
    apply_chat_template(tokenize=True) returns a dict, not ids, in recent transformers)."""
    text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return list(tok(text, add_special_tokens=False)["input_ids"])


def sft_examples(req: dict) -> list[dict]:
    """The {messages, completion} SFT examples of a cross_entropy request, checked."""
    if not req.get("sft_examples_ref"):
        raise InvalidRequest("loss=cross_entropy needs sft_examples_ref (got none)")
    examples = blobs.read_json(req["sft_examples_ref"])
    for i, ex in enumerate(examples):
        if not isinstance(ex, dict) or "messages" not in ex or "completion" not in ex:
            raise InvalidRequest(f"SFT example {i} needs messages and completion (got {str(ex)[:200]})")
    return examples


def training_examples(req: dict, tok) -> list[dict]:
    """{prompt, completion, logprobs, advantage} per example: SFT examples (completion + EOS, no
    sampler logprobs, advantage 1) for cross_entropy; otherwise the rollouts with a non-zero
    advantage and at least one completion token, with the temperature and top_p they were sampled
    at (the learner scores them under that same distribution)."""
    loss = req["loss"]
    if loss == "cross_entropy":
        data = []
        for ex in sft_examples(req):
            comp = list(tok(ex["completion"], add_special_tokens=False)["input_ids"]) + [tok.eos_token_id]
            data.append({"prompt": chat_prompt_ids(tok, ex["messages"]), "completion": comp, "logprobs": None, "advantage": 1.0})
        return data
    if not req.get("rollouts_ref"):
        raise InvalidRequest(f"loss={loss} needs rollouts_ref (got none)")
    blob = blobs.read_json(req["rollouts_ref"])
    rollouts = blob["rollouts"]
    # the distribution the sampler's logprobs are of (blobs without it were sampled at temperature 1)
    sampling = blob.get("sampling") or {}
    temperature, top_p = float(sampling.get("temperature", 1.0)), float(sampling.get("top_p", 1.0))
    adv_D = req.get("advantages")
    if not isinstance(adv_D, list) or len(adv_D) != len(rollouts):
        raise InvalidRequest(f"advantages must have one value per rollout ({len(rollouts)}); got {None if adv_D is None else len(adv_D)}")
    return [
        {"prompt": r["prompt_token_ids"], "completion": r["token_ids"], "logprobs": r["logprobs"], "advantage": float(a),
         "temperature": temperature, "top_p": top_p}
        for r, a in zip(rollouts, adv_D)
        if a != 0 and r["token_ids"]
    ]
