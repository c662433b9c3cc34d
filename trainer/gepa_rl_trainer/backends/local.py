"""Local backend: PyTorch + transformers + peft, CPU by default, CUDA when present.

sample(req) and train_step(req) follow the contract in src/types.ts (PolicySampleRequest/Result,
TrainStepRequest/Result), read by gepa_rl_trainer.requests. The parts live beside it: the live
model and its Adam state (model_cache.py), the sampling loop (sampling.py), the losses
(gepa_rl_trainer/losses.py). Tensor names carry their shape: tokens_BT, logprobs_T, advantages_D.
"""
from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path
from typing import Callable

import torch
from transformers import DynamicCache

from .. import blobs
from .. import checkpoints as ckpts
from ..datums import chat_prompt_ids, training_examples
from ..errors import InvalidRequest, NonFiniteLoss
from ..losses import batch_loss, entropy_sum, kl_sample_train_sums, kl_to_base_sums, sampling_log_softmax
from ..requests import TrainStepRequest, parse_sample_request, parse_train_step_request, require, sample_result
from .model_cache import Live, ModelCache
from .sampling import Prefill, expanded, prefill_distinct, sample_rollouts

TRAIN_MICROBATCH = int(os.environ.get("GEPA_RL_TRAIN_MICROBATCH", "8"))


def clip_grad_norm(params, grad_clip: float) -> float:
    """The gradient norm before clipping; clipped to grad_clip when grad_clip > 0, untouched when 0
    (as Tinker's AdamParams.grad_clip_norm; tinker-cookbook does not clip)."""
    if grad_clip > 0:
        return float(torch.nn.utils.clip_grad_norm_(params, grad_clip))
    return float(torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None]))


def packed_completion_inputs(batch, pre: Prefill, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[int]]:
    """The completions of a batch laid end to end in one row after the distinct prompts' cache (laid
    end to end too), with no padding: every completion token but the last (which predicts nothing
    scored). Returns (tokens_1N, positions_1N, mask_11NK: which cached prompt slots and packed tokens
    each token may attend to — its own prompt's real tokens, then its own completion up to itself —
    and each example's offset in the row). K = U*Wp + N."""
    U, Wp = pre.mask_UT.shape
    rows = pre.rows_B.tolist()
    ids, pos, ex, offsets = [], [], [], []
    plen_U = pre.mask_UT.sum(dim=1).tolist()
    for b, d in enumerate(batch):
        c = d["completion"][:-1]
        offsets.append(len(ids))
        ids += c
        pos += range(plen_U[rows[b]], plen_U[rows[b]] + len(c))
        ex += [b] * len(c)
    N = len(ids)
    ex_N = torch.tensor(ex, dtype=torch.long, device=device)
    u_N = pre.rows_B.index_select(0, ex_N)
    slot_u_K = torch.arange(U, device=device).repeat_interleave(Wp)
    prompt_NK = (slot_u_K[None, :] == u_N[:, None]) & pre.mask_UT.reshape(-1).bool()[None, :]
    idx_N = torch.arange(N, device=device)
    own_NN = (ex_N[:, None] == ex_N[None, :]) & (idx_N[None, :] <= idx_N[:, None])
    mask_11NK = torch.cat([prompt_NK, own_NN], dim=1)[None, None]
    return torch.tensor([ids], dtype=torch.long, device=device), torch.tensor([pos], dtype=torch.long, device=device), mask_11NK, offsets


def padded_completion_logits(model, batch, pre: Prefill, pad: int, device) -> tuple[torch.Tensor, list[int]]:
    """The completions right-padded, one row per example, over the prompts' cache expanded to one
    row per example: the logits of every completion token but the first, as (logits_NV, offsets)
    with example b's rows at offsets[b] .. offsets[b] + C_b - 2."""
    past, mask_BT, positions_B, _ = expanded(pre)
    B, width = len(batch), max(len(d["completion"]) for d in batch) - 1
    tokens_BC = torch.full((B, width), pad, dtype=torch.long)
    mask_BC = torch.zeros((B, width), dtype=torch.long)
    for b, d in enumerate(batch):
        c = d["completion"][:-1]
        tokens_BC[b, : len(c)] = torch.tensor(c, dtype=torch.long)
        mask_BC[b, : len(c)] = 1
    tokens_BC, mask_BC = tokens_BC.to(device), mask_BC.to(device)
    positions_BC = positions_B[:, None] + torch.arange(width, device=device)[None, :]
    logits_BCV = model(input_ids=tokens_BC, attention_mask=torch.cat([mask_BT, mask_BC], dim=1), position_ids=positions_BC, past_key_values=past, use_cache=True).logits
    return logits_BCV.reshape(B * width, -1), [b * width for b in range(B)]


def packed_completion_logits(model, batch, pre: Prefill, device) -> tuple[torch.Tensor, list[int]]:
    """The completions end to end in one row over the distinct prompts' cache (laid end to end too),
    no pad computed: the logits of every completion token but the first, as (logits_NV, offsets)."""
    tokens_1N, positions_1N, mask_11NK, offsets = packed_completion_inputs(batch, pre, device)
    U, Wp = pre.mask_UT.shape
    # the distinct prompts' cache as one row: slot u*Wp + t holds prompt u's position t
    packed = DynamicCache(ddp_cache_data=[(k.transpose(0, 1).reshape(1, k.shape[1], U * Wp, k.shape[3]), v.transpose(0, 1).reshape(1, v.shape[1], U * Wp, v.shape[3])) for k, v in ((layer.keys, layer.values) for layer in pre.past.layers)])
    return model(input_ids=tokens_1N, attention_mask=mask_11NK, position_ids=positions_1N, past_key_values=packed, use_cache=True).logits[0], offsets


def cheaper_completion_layout(model, batch, pre: Prefill) -> str:
    """'packed' or 'padded', whichever costs fewer estimated FLOPs: 2 x parameters per token run,
    plus 4 x hidden size x layers per attention (query, key) pair. Packing computes no pad token, but
    its one row attends over every prompt and completion of the batch (masked, still computed): it
    wins on short completions of uneven length (RL), padding wins on long ones (SFT)."""
    cfg = model.config
    per_pair = 4 * int(getattr(cfg, "hidden_size", 1)) * int(getattr(cfg, "num_hidden_layers", 1))
    per_token = 2 * sum(p.numel() for p in model.parameters())
    U, Wp = pre.mask_UT.shape
    n = sum(len(d["completion"]) - 1 for d in batch)
    w = max(len(d["completion"]) for d in batch) - 1
    packed = per_token * n + per_pair * n * (U * Wp + n)
    padded = per_token * len(batch) * w + per_pair * len(batch) * w * (Wp + w)
    return "packed" if packed <= padded else "padded"


def forward_logprobs(model, tok, batch, device, layout: str | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The learner's view of a batch: the distinct prompts once (a group's completions share theirs),
    left-padded with positions 0.. as for a lone sequence (the sampler's layout); then the completions
    over their cache, packed in one row or right-padded (`layout`; default: the cheaper one). Per
    example the log-probabilities of its completion tokens under the distribution they were sampled
    from (its temperature and top_p): (logp_T of the targets, logp_TV over the vocabulary). Gradients
    flow through the prompts' cache, so the result and its gradient equal one forward per whole
    sequence, in either layout."""
    pre = prefill_distinct(model, [d["prompt"] for d in batch], tok.pad_token_id, device)
    first_BV = pre.last_logits_UV.index_select(0, pre.rows_B)
    logits_NV, offsets = None, []
    if any(len(d["completion"]) > 1 for d in batch):
        layout = layout or cheaper_completion_layout(model, batch, pre)
        if layout == "packed":
            logits_NV, offsets = packed_completion_logits(model, batch, pre, device)
        elif layout == "padded":
            logits_NV, offsets = padded_completion_logits(model, batch, pre, tok.pad_token_id, device)
        else:
            raise ValueError(f"layout must be packed or padded (got {layout!r})")
    rows = []
    for b, d in enumerate(batch):
        C = len(d["completion"])
        target_T = torch.tensor(d["completion"], dtype=torch.long, device=device)
        logits_TV = first_BV[b : b + 1] if C == 1 else torch.cat([first_BV[b : b + 1], logits_NV[offsets[b] : offsets[b] + C - 1]], dim=0)
        logp_TV = sampling_log_softmax(logits_TV, d.get("temperature", 1.0), d.get("top_p", 1.0), keep_X=target_T)
        rows.append((logp_TV.gather(-1, target_T[:, None]).squeeze(-1), logp_TV))
    return rows


class LocalBackend:
    def __init__(self, heartbeat: Callable[[str], None] | None = None):
        self.models = ModelCache()
        self.device = self.models.device
        self._lock = threading.Lock()
        self.heartbeat = heartbeat or (lambda _msg: None)
        self._vllm = None

    def tokenizer(self, base_model: str):
        return self.models.tokenizer(base_model)

    def live_model(self, model_ref: dict, checkpoint: str | None) -> Live:
        return self.models.live_model(model_ref, checkpoint)

    def vllm(self):
        """The vLLM engine of policy.sampler=vllm, started on first use (vllm_sampler.py)."""
        if self._vllm is None:
            from .vllm_sampler import VllmSampler

            self._vllm = VllmSampler(self.heartbeat)
        return self._vllm

    # ----------------------------------------------------------------------------- sampling
    def sample(self, req: dict) -> dict:
        t0 = time.time()
        r = parse_sample_request(req)
        with self._lock:
            tok = self.tokenizer(r.model["base_model"])
            prompt_ids_P = [chat_prompt_ids(tok, p) for p in r.prompts]
            if r.sampler == "vllm":  # the checkpoint as a vLLM LoRA adapter (or its weights loaded into the engine)
                rollouts = self.vllm().sample(r.model, r.checkpoint, tok, prompt_ids_P, r.num_samples, r.sampling)
            else:
                model = self.live_model(r.model, r.checkpoint).model
                rollouts = sample_rollouts(model, tok, prompt_ids_P, r.num_samples, r.sampling, self.device, self.heartbeat)
        # the distribution the logprobs are of: train_step scores the learner under the same one
        sampling = {"temperature": r.sampling.temperature, "top_p": r.sampling.top_p}
        ref = blobs.write_json(r.blob_dir, {"model": r.model, "checkpoint": r.checkpoint, "sampling": sampling, "rollouts": rollouts})
        return sample_result(rollouts, len(prompt_ids_P), r.num_samples, ref, r.return_texts, time.time() - t0)

    # ----------------------------------------------------------------------------- training
    def train_step(self, req: dict) -> dict:
        t0 = time.time()
        r = parse_train_step_request(req)
        step, root, out_dir, keep, reused = ckpts.step_target(req, t0)
        if reused is not None:
            return reused
        with self._lock:
            tok = self.tokenizer(r.model["base_model"])
            data = training_examples(req, tok)
            if not data:
                raise InvalidRequest("nothing to train on: every example has zero advantage or no completion tokens")
            live = self.live_model(r.model, r.checkpoint_in)
            metrics = self._optimiser_step(live, tok, data, r)
            try:
                self._save(live, out_dir, req, metrics, keep)
            except BaseException:
                self.models.drop()  # weights and Adam state have moved past checkpoint_in: never reuse them
                raise
            live.checkpoint = str(out_dir)
        ckpts.record(root, step, out_dir, metrics, keep)
        ckpts.prune_superseded(root, r.checkpoint_in, out_dir, step)
        return {"checkpoint_out": str(out_dir), "metrics": metrics, "reused": False, "seconds": time.time() - t0}

    # ----------------------------------------------------------------------------- KL to the base
    def kl_to_base(self, req: dict) -> dict:
        """policy_kl_to_base: KL(pi_theta || pi_base) on rollouts the policy sampled (the test split's),
        pi_theta = the weights at `checkpoint`, pi_base = those at `base_checkpoint` (null: the base
        model). Both are scored by the learner's forward at the rollouts' sampling temperature over the
        whole vocabulary (no top-p: a nucleus of one would give the other's tokens probability 0), as
        TRL scores its reference model. LoRA from the base model: the base is the live model with its
        adapter disabled (peft disable_adapter, no second copy); full fine-tune (lora_rank=0) or a run
        started from a checkpoint: a frozen copy of the start weights (ModelCache.reference_model).
        Returns per-token means (losses.kl_to_base_sums): kl (whole-vocabulary), k1, k3, and tokens."""
        t0 = time.time()
        require(req, "model", "rollouts_refs")
        model_ref, checkpoint, base_ckpt = req["model"], req.get("checkpoint"), req.get("base_checkpoint")
        data = []
        for ref in req["rollouts_refs"]:
            blob = blobs.read_json(ref)
            temperature = float((blob.get("sampling") or {}).get("temperature", 1.0))
            data += [{"prompt": r["prompt_token_ids"], "completion": r["token_ids"], "temperature": temperature, "top_p": 1.0} for r in blob["rollouts"] if r["token_ids"]]
        sums = {"kl": 0.0, "k1": 0.0, "k3": 0.0}
        tokens = sum(len(d["completion"]) for d in data)
        with self._lock, torch.no_grad():
            tok = self.tokenizer(model_ref["base_model"])
            live = self.live_model(model_ref, checkpoint)
            lora = int(model_ref.get("lora_rank") or 0) > 0
            for c in range(0, len(data), TRAIN_MICROBATCH):
                batch = data[c : c + TRAIN_MICROBATCH]
                policy_rows = forward_logprobs(live.model, tok, batch, self.device)
                if checkpoint == base_ckpt:
                    base_rows = policy_rows  # the same weights
                elif lora and base_ckpt is None:
                    with live.model.disable_adapter():
                        base_rows = forward_logprobs(live.model, tok, batch, self.device)
                else:
                    base_rows = forward_logprobs(self.models.reference_model(model_ref, base_ckpt).model, tok, batch, self.device)
                for d, (_, lp_TV), (_, lb_TV) in zip(batch, policy_rows, base_rows):
                    target_T = torch.tensor(d["completion"], dtype=torch.long, device=lp_TV.device)
                    exact, k1, k3 = kl_to_base_sums(lp_TV, lb_TV, target_T)
                    sums["kl"] += exact
                    sums["k1"] += k1
                    sums["k3"] += k3
                self.heartbeat(f"kl to base: {min(c + TRAIN_MICROBATCH, len(data))}/{len(data)}")
        n = max(tokens, 1)
        return {"kl": sums["kl"] / n, "k1": sums["k1"] / n, "k3": sums["k3"] / n, "tokens": tokens, "sequences": len(data), "seconds": time.time() - t0}

    def _optimiser_step(self, live: Live, tok, data: list[dict], r: TrainStepRequest) -> dict:
        """Gradients accumulated over microbatches, clipped, one Adam step; the step's metrics."""
        opt = self.models.optimizer(live, r.optim, r.run_id, r.step)
        model = live.model
        model.train()
        opt.zero_grad(set_to_none=True)
        n_seq = len(data)
        total_tokens = sum(len(d["completion"]) for d in data)
        sums = {"loss": 0.0, "entropy": 0.0, "kl1": 0.0, "kl2": 0.0, "kl_n": 0}
        try:
            for c in range(0, n_seq, TRAIN_MICROBATCH):
                self._accumulate(model, tok, data[c : c + TRAIN_MICROBATCH], r.loss, sums)
                self.heartbeat(f"train step {r.step}: {min(c + TRAIN_MICROBATCH, n_seq)}/{n_seq}")
            params = [p for p in model.parameters() if p.requires_grad]
            grad_norm = clip_grad_norm(params, r.optim.grad_clip)
            if not math.isfinite(sums["loss"]) or not math.isfinite(grad_norm):
                raise NonFiniteLoss(
                    f"step {r.step}: loss={sums['loss']} grad_norm={grad_norm} is not finite; no checkpoint written, "
                    f"the last good checkpoint is {r.checkpoint_in}"
                )
            opt.step()
        except BaseException:
            # a NaN loss, a heartbeat cancel, an error mid-step: the cache may hold half-updated
            # state, so the retry rebuilds from checkpoint_in instead of stepping twice
            opt.zero_grad(set_to_none=True)
            self.models.drop()
            raise
        opt.zero_grad(set_to_none=True)
        model.eval()
        return {
            "loss": sums["loss"],  # the sum over trained tokens (Tinker's loss:sum): what is backpropagated
            "loss_per_token": sums["loss"] / max(total_tokens, 1),  # the mean per trained token (what TRL logs as loss)
            "entropy": sums["entropy"] / max(total_tokens, 1),
            "kl_sample_train_v1": sums["kl1"] / max(sums["kl_n"], 1),
            "kl_sample_train_v2": sums["kl2"] / max(sums["kl_n"], 1),
            "grad_norm": grad_norm,
            "tokens": total_tokens,
            "learning_rate": r.optim.learning_rate,
        }

    def _accumulate(self, model, tok, batch, loss_name, sums):
        """One microbatch: its summed loss backpropagated, its entropy and KL sums added to `sums`."""
        rows = forward_logprobs(model, tok, batch, self.device)
        lp_D = [lp_T for lp_T, _ in rows]
        old_D = [None if loss_name == "cross_entropy" else torch.tensor(d["logprobs"], dtype=lp_T.dtype, device=lp_T.device) for d, lp_T in zip(batch, lp_D)]
        with torch.no_grad():
            for _, logp_TV in rows:
                sums["entropy"] += float(entropy_sum(logp_TV))
        for d, lp_T, old_T in zip(batch, lp_D, old_D):
            if old_T is not None:
                kl1, kl2 = kl_sample_train_sums(lp_T, old_T)
                sums["kl1"] += kl1
                sums["kl2"] += kl2
                sums["kl_n"] += len(d["completion"])
        total = batch_loss(loss_name, lp_D, old_D, [d["advantage"] for d in batch])
        total.backward()
        sums["loss"] += float(total.detach())

    def _save(self, live: Live, out_dir: Path, req: dict, metrics: dict, keep: bool):
        with ckpts.writing(out_dir, int(req["step"])) as tmp:
            if int(req["model"].get("lora_rank") or 0) > 0:
                live.model.save_pretrained(str(tmp))
            else:
                from safetensors.torch import save_model as save_weights

                save_weights(live.model, str(tmp / "model.safetensors"))  # stores tied tensors once
            torch.save(live.optimizer.state_dict(), tmp / "optimizer.pt")
            meta = {
                "run_id": req["run_id"],
                "step": int(req["step"]),
                "model": req["model"],
                "checkpoint_in": req.get("checkpoint_in"),
                "loss": req["loss"],
                "keep": keep,
                "metrics": metrics,
            }
            ckpts.commit(tmp, out_dir, meta)
