"""The local backend's sampling loop: batched, KV-cached generation with a private seeded generator,
recording for every token the logprob of the distribution it was actually drawn from (the same
sampling_log_softmax the learner scores under, so an on-policy ratio is 1).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import torch
from transformers import DynamicCache

from ..errors import InvalidRequest
from ..losses import sampling_log_softmax
from ..requests import SamplingParams

SAMPLE_BATCH = int(os.environ.get("GEPA_RL_SAMPLE_BATCH", "32"))


def sample_rollouts(model, tok, prompt_ids_P: list[list[int]], n: int, sp: SamplingParams, device: torch.device, heartbeat: Callable[[str], None]) -> list[dict]:
    """n rollouts per prompt, in (prompt, sample) order, generated SAMPLE_BATCH sequences at a time;
    a prompt that leaves no room for max_tokens in the model's context is refused."""
    ctx = int(getattr(model.config, "max_position_embeddings", 2048))
    for i, ids in enumerate(prompt_ids_P):
        if len(ids) + sp.max_tokens > ctx:
            raise InvalidRequest(f"prompt {i} is {len(ids)} tokens; with max_tokens={sp.max_tokens} it exceeds the model's context of {ctx} tokens")
    seqs = [(p, s) for p in range(len(prompt_ids_P)) for s in range(n)]
    rollouts: list[dict] = []
    for c in range(0, len(seqs), SAMPLE_BATCH):
        chunk = seqs[c : c + SAMPLE_BATCH]
        rollouts += generate(model, tok, prompt_ids_P, chunk, sp.max_tokens, sp.temperature, sp.top_p, sp.seed * 1_000_003 + c, device)
        heartbeat(f"sampled {min(c + SAMPLE_BATCH, len(seqs))}/{len(seqs)}")
    return rollouts


def left_padded(prompts_U: list[list[int]], pad: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and mask of prompts left-padded to the longest (each prompt's last token in the last column)."""
    width = max(len(ids) for ids in prompts_U)
    tokens_UT = torch.full((len(prompts_U), width), pad, dtype=torch.long)
    mask_UT = torch.zeros((len(prompts_U), width), dtype=torch.long)
    for u, ids in enumerate(prompts_U):
        tokens_UT[u, width - len(ids) :] = torch.tensor(ids)
        mask_UT[u, width - len(ids) :] = 1
    return tokens_UT.to(device), mask_UT.to(device)


@dataclass
class Prefill:
    """The distinct prompts of a batch after one forward: their KV cache (one row per distinct prompt,
    left-padded), its mask, which distinct prompt each batch row has, and the logits of each distinct
    prompt's last token (its first completion token's distribution)."""
    past: DynamicCache
    mask_UT: torch.Tensor
    rows_B: torch.Tensor
    last_logits_UV: torch.Tensor


def prefill_distinct(model, prompts_B: list[list[int]], pad: int, device) -> Prefill:
    """One forward over the distinct prompts of a batch (a prompt repeated for several samples, or for a
    group's several completions, is run once), left-padded, each row's first real token at position 0
    (as when it is run alone). With grad, gradients flow back into this forward from whatever reads the
    cache."""
    index: dict[tuple[int, ...], int] = {}
    distinct_U: list[list[int]] = []
    rows: list[int] = []
    for ids in prompts_B:
        key = tuple(ids)
        if key not in index:
            index[key] = len(distinct_U)
            distinct_U.append(list(ids))
        rows.append(index[key])
    tokens_UT, mask_UT = left_padded(distinct_U, pad, device)
    positions_UT = (mask_UT.cumsum(dim=1) - 1).clamp(min=0)
    out = model(input_ids=tokens_UT, attention_mask=mask_UT, position_ids=positions_UT, use_cache=True, logits_to_keep=1)
    return Prefill(out.past_key_values, mask_UT, torch.tensor(rows, dtype=torch.long, device=device), out.logits[:, -1, :])


def expanded(pre: Prefill) -> tuple[DynamicCache, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The prefill as one row per batch row: (cache, mask_BT, next position per row, first-token logits)."""
    past = pre.past
    if pre.rows_B.tolist() != list(range(pre.mask_UT.shape[0])):
        past.reorder_cache(pre.rows_B)
    mask_BT = pre.mask_UT.index_select(0, pre.rows_B)
    return past, mask_BT, mask_BT.sum(dim=1), pre.last_logits_UV.index_select(0, pre.rows_B)


def draw(logp_BV: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One token per row from exp(logp_BV), by the inverse CDF: the first token whose cumulative
    probability (in float64) exceeds u * total, u uniform in [0, 1) from the private generator. A
    token of probability 0 (outside the top-p nucleus) can never be drawn. The same distribution as
    torch.multinomial, at about a fifth of its time over a 49k vocabulary on a CPU (it was a tenth
    of each decode step)."""
    cdf_BV = logp_BV.double().exp().cumsum(dim=-1)
    u_B1 = torch.rand((logp_BV.shape[0], 1), generator=gen, dtype=torch.float64, device=logp_BV.device) * cdf_BV[:, -1:]
    return torch.searchsorted(cdf_BV, u_B1, right=True).clamp(max=logp_BV.shape[-1] - 1).squeeze(-1)


def compact_at(n_rows: int, n_active: int) -> bool:
    """Whether to drop the finished rows from a decode batch of n_rows that has n_active rows left:
    when at least a quarter of it has finished (each drop copies the KV cache once; a decode step's
    matmuls cost less the fewer rows they carry, and a 135M model at batch 16 spends about 2.5x the
    time of batch 1 on them on a CPU)."""
    return 0 < n_active <= n_rows * 3 // 4


@torch.no_grad()
def _decode_loop(model, prompts_B: list[list[int]], max_tokens: int, temperature: float, top_p: float, seed: int, pad: int, eos: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Own loop with a KV cache: seeded by a private generator (reproducible, no global RNG), and the
    logprob recorded is that of the distribution actually sampled from. Returns (tokens_BT, logprobs_BT)
    of the new tokens; a finished row continues with pads. Finished rows are dropped from the batch
    (compact_at): every row attends only to itself, so what a row samples does not depend on which
    others are still in the batch."""
    B = len(prompts_B)
    greedy = temperature <= 0
    gen = torch.Generator(device=device).manual_seed(seed % (2**63))
    # Rows are left-padded: each row's first real token is position 0, as when it is sampled alone
    # and as the learner sees it. Without these position ids the prefill would count the pads and
    # every shorter row would be sampled from a shifted, wrong distribution. Each distinct prompt is
    # prefilled once for all its samples.
    past, mask_AT, positions_A, first_AV = expanded(prefill_distinct(model, prompts_B, pad, device))
    logits_AV = first_AV.float()
    tokens_BT = torch.full((B, max_tokens), pad, dtype=torch.long)
    logprobs_BT = torch.zeros((B, max_tokens))
    rows_A = torch.arange(B)  # the batch row of each row still in the batch
    done_A = torch.zeros(B, dtype=torch.bool, device=device)  # finished, not yet dropped: decodes pads
    width = 0
    for t in range(max_tokens):
        logp_AV = sampling_log_softmax(logits_AV, temperature, top_p)
        next_A = logp_AV.argmax(dim=-1) if greedy else draw(logp_AV, gen)
        lp_A = logp_AV.gather(-1, next_A[:, None]).squeeze(-1)
        next_A = torch.where(done_A, torch.full_like(next_A, pad), next_A)
        tokens_BT[rows_A, t] = next_A.cpu()
        logprobs_BT[rows_A, t] = torch.where(done_A, torch.zeros_like(lp_A), lp_A).float().cpu()
        width = t + 1
        done_A = done_A | (next_A == eos)
        n_going = len(rows_A) - int(done_A.sum())
        if n_going == 0 or t + 1 == max_tokens:
            break
        if compact_at(len(rows_A), n_going):
            keep_A = (~done_A).nonzero().squeeze(-1)
            past.reorder_cache(keep_A)
            rows_A, done_A = rows_A[keep_A.cpu()], done_A.index_select(0, keep_A)
            mask_AT, positions_A, next_A = mask_AT.index_select(0, keep_A), positions_A.index_select(0, keep_A), next_A.index_select(0, keep_A)
        mask_AT = torch.cat([mask_AT, torch.ones((len(rows_A), 1), dtype=mask_AT.dtype, device=device)], dim=1)
        out = model(input_ids=next_A[:, None], attention_mask=mask_AT, position_ids=positions_A[:, None], past_key_values=past, use_cache=True)
        positions_A = positions_A + 1
        past = out.past_key_values
        logits_AV = out.logits[:, -1, :].float()
    return tokens_BT[:, :width], logprobs_BT[:, :width]


def _rollout(tok, prompt_ids: list[int], toks_T: torch.Tensor, lps_T: torch.Tensor, p: int, s: int, eos: int) -> dict:
    """One row's tokens up to and including its first EOS ("stop"), else all of them ("length")."""
    ids: list[int] = []
    lps: list[float] = []
    stop = "length"
    for t in range(toks_T.shape[0]):
        tid = int(toks_T[t])
        ids.append(tid)
        lps.append(max(float(lps_T[t]), -1e4))
        if tid == eos:
            stop = "stop"
            break
    return {
        "prompt_index": p,
        "sample_index": s,
        "prompt_token_ids": list(prompt_ids),
        "token_ids": ids,
        "logprobs": lps,
        "text": tok.decode(ids, skip_special_tokens=True),
        "stop_reason": stop,
    }


def generate(model, tok, prompt_ids_P, chunk, max_tokens, temperature, top_p, seed, device) -> list[dict]:
    """Rollouts of one batch: chunk lists (prompt index, sample index) per row."""
    prompts_B = [prompt_ids_P[p] for p, _ in chunk]
    toks_BT, lps_BT = _decode_loop(model, prompts_B, max_tokens, temperature, top_p, seed, tok.pad_token_id, tok.eos_token_id, device)
    return [_rollout(tok, prompt_ids_P[p], toks_BT[b], lps_BT[b], p, s, tok.eos_token_id) for b, (p, s) in enumerate(chunk)]
