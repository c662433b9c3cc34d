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


@torch.no_grad()
def _decode_loop(model, prompts_B: list[list[int]], max_tokens: int, temperature: float, top_p: float, seed: int, pad: int, eos: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Own loop with a KV cache: seeded by a private generator (reproducible, no global RNG), and the
    logprob recorded is that of the distribution actually sampled from. Returns (tokens_BT, logprobs_BT)
    of the new tokens; a finished row continues with pads."""
    B = len(prompts_B)
    greedy = temperature <= 0
    gen = torch.Generator(device=device).manual_seed(seed % (2**63))
    # Rows are left-padded: each row's first real token is position 0, as when it is sampled alone
    # and as the learner sees it. Without these position ids the prefill would count the pads and
    # every shorter row would be sampled from a shifted, wrong distribution. Each distinct prompt is
    # prefilled once for all its samples.
    past, mask_BT, positions_B, first_BV = expanded(prefill_distinct(model, prompts_B, pad, device))
    logits_BV = first_BV.float()
    done_B = torch.zeros(B, dtype=torch.bool, device=device)
    new_tokens: list[torch.Tensor] = []
    new_logprobs: list[torch.Tensor] = []
    for _ in range(max_tokens):
        logp_BV = sampling_log_softmax(logits_BV, temperature, top_p)
        if greedy:
            next_B = logp_BV.argmax(dim=-1)
        else:
            next_B = draw(logp_BV, gen)
        lp_B = logp_BV.gather(-1, next_B[:, None]).squeeze(-1)
        next_B = torch.where(done_B, torch.full_like(next_B, pad), next_B)
        new_tokens.append(next_B)
        new_logprobs.append(lp_B)
        done_B = done_B | (next_B == eos)
        if bool(done_B.all()):
            break
        mask_BT = torch.cat([mask_BT, torch.ones((B, 1), dtype=mask_BT.dtype, device=device)], dim=1)
        out = model(input_ids=next_B[:, None], attention_mask=mask_BT, position_ids=positions_B[:, None], past_key_values=past, use_cache=True)
        positions_B = positions_B + 1
        past = out.past_key_values
        logits_BV = out.logits[:, -1, :].float()
    toks_BT = torch.stack(new_tokens, dim=1).cpu() if new_tokens else torch.zeros((B, 0), dtype=torch.long)
    lps_BT = torch.stack(new_logprobs, dim=1).cpu() if new_logprobs else torch.zeros((B, 0))
    return toks_BT, lps_BT


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
