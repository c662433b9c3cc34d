"""The per-token rules of the local backend as pure functions on tensors: which distribution a token
is drawn from (shared by the sampler and the learner, so that an on-policy ratio is 1 whatever the
temperature or top_p), and the losses. Shape suffixes: _V vocabulary, _T tokens, _X any leading dims.

Loss scale follows Tinker's built-in losses (and so tinker-cookbook): each loss is a sum over the
trained tokens of every sequence of the batch, never a mean over tokens or sequences.
"""
from __future__ import annotations

import torch

PPO_CLIP_LOW, PPO_CLIP_HIGH = 0.8, 1.2  # Tinker's ppo clips the ratio to [0.8, 1.2]
# CISPO (MiniMax-M1, arXiv 2506.13585): no lower bound on the importance weight (the paper sets
# eps_low large), the upper bound 1 + 0.28 (DAPO's clip-higher eps). Sent to Tinker as its cispo config.
CISPO_CLIP_LOW, CISPO_CLIP_HIGH = 0.0, 1.28


def sampling_log_softmax(logits_XV: torch.Tensor, temperature: float = 1.0, top_p: float = 1.0, keep_X: torch.Tensor | None = None) -> torch.Tensor:
    """Log-probabilities of the distribution a token is sampled from: softmax(logits / temperature)
    restricted to the top-p nucleus (the most likely tokens until their mass reaches top_p) and
    renormalised; tokens outside it get -inf. temperature <= 0 (greedy) scores at temperature 1 over
    the whole vocabulary. keep_X: one token id per row that stays in the nucleus whatever its rank
    (the learner keeps the sampled token, so that a near-tie at the nucleus edge cannot give it
    probability 0); the nucleus itself is chosen without gradient."""
    z_XV = logits_XV.float()
    if temperature <= 0:
        return torch.log_softmax(z_XV, dim=-1)
    if temperature != 1.0:
        z_XV = z_XV / temperature
    if top_p < 1.0:
        with torch.no_grad():
            sorted_XV, idx_XV = torch.sort(z_XV, descending=True, dim=-1)
            p_sorted_XV = torch.softmax(sorted_XV, dim=-1)
            # a token is outside the nucleus when the tokens ranked above it already reach top_p
            outside_sorted_XV = p_sorted_XV.cumsum(dim=-1) - p_sorted_XV > top_p
            outside_XV = torch.zeros_like(outside_sorted_XV).scatter(-1, idx_XV, outside_sorted_XV)
            if keep_X is not None:
                outside_XV.scatter_(-1, keep_X[..., None], False)
        z_XV = z_XV.masked_fill(outside_XV, float("-inf"))
    return torch.log_softmax(z_XV, dim=-1)


def entropy_sum(logp_TV: torch.Tensor) -> torch.Tensor:
    """Sum over tokens of the entropy of each token's distribution (0 log 0 = 0 outside a nucleus)."""
    return torch.special.entr(logp_TV.exp()).sum()


def policy_loss(loss_name: str, logp_T: torch.Tensor, sampler_logp_T: torch.Tensor, advantage: float) -> torch.Tensor:
    """Importance-sampling, PPO or CISPO surrogate of one sequence, summed over its tokens:
    -sum_t ratio_t * A, ratio_t = p_learner / p_sampler; ppo takes the pessimistic side of the ratio
    clipped to [0.8, 1.2] (clipped tokens give no gradient); cispo is
    -sum_t sg(clip(ratio_t, CISPO_CLIP_LOW, CISPO_CLIP_HIGH)) * A * log p_learner_t, so a clipped
    token still gives the gradient of its log-probability, weighted by the bound (Tinker's cispo)."""
    ratio_T = torch.exp(logp_T - sampler_logp_T)
    if loss_name == "cispo":
        weight_T = torch.clamp(ratio_T, CISPO_CLIP_LOW, CISPO_CLIP_HIGH).detach()
        return -(weight_T * advantage * logp_T).sum()
    if loss_name == "ppo":
        return -torch.minimum(ratio_T * advantage, torch.clamp(ratio_T, PPO_CLIP_LOW, PPO_CLIP_HIGH) * advantage).sum()
    if loss_name == "importance_sampling":
        return -(ratio_T * advantage).sum()
    raise ValueError(f"unknown policy loss {loss_name!r} (expected importance_sampling, ppo or cispo)")


def cross_entropy_loss(logp_T: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of one sequence's target tokens, summed over them."""
    return -logp_T.sum()


def sequence_loss(loss_name: str, logp_T: torch.Tensor, sampler_logp_T: torch.Tensor | None, advantage: float) -> torch.Tensor:
    """The named loss of one sequence: cross_entropy (SFT, no sampler logprobs) or a policy loss."""
    if loss_name == "cross_entropy":
        return cross_entropy_loss(logp_T)
    if sampler_logp_T is None:
        raise ValueError(f"loss {loss_name!r} needs the sampler's logprobs of every completion token")
    return policy_loss(loss_name, logp_T, sampler_logp_T, advantage)


def batch_loss(loss_name: str, logp_D: list[torch.Tensor], sampler_logp_D: list[torch.Tensor | None], advantage_D: list[float]) -> torch.Tensor:
    """The loss of a batch, normalised as Tinker's built-in losses: the sum of its sequences' sums
    over tokens (a longer sequence weighs more; nothing is divided by tokens or sequences)."""
    total = None
    for lp_T, old_T, a in zip(logp_D, sampler_logp_D, advantage_D):
        term = sequence_loss(loss_name, lp_T, old_T, a)
        total = term if total is None else total + term
    if total is None:
        raise ValueError("a batch loss needs at least one sequence")
    return total


def kl_sample_train_sums(logp_T: torch.Tensor, sampler_logp_T: torch.Tensor) -> tuple[float, float]:
    """Per-token KL estimates between sampler and learner, summed over tokens (tinker-cookbook's
    kl_sample_train_v1 = mean of (old - new), v2 = mean of (old - new)^2 / 2; the caller divides by
    the number of tokens of the whole step)."""
    with torch.no_grad():
        diff_T = sampler_logp_T - logp_T
        return float(diff_T.sum()), float((0.5 * diff_T**2).sum())


def kl_to_base_sums(logp_TV: torch.Tensor, base_logp_TV: torch.Tensor, target_T: torch.Tensor) -> tuple[float, float, float]:
    """KL(pi_theta || pi_base) along one of the policy's own sampled sequences, as three per-token
    sums (the caller divides by the tokens of all sequences):
      exact: sum_t sum_v p_t(v) (log p_t(v) - log q_t(v)), the whole-vocabulary KL at each visited
             position (>= 0, 0 only where the two distributions are equal; the lowest variance);
      k1:    sum_t log p_t(x_t) - log q_t(x_t) over the sampled tokens (tinker-cookbook's
             kl_policy_base; unbiased only when x_t was drawn from p_t, i.e. T > 0
             and top_p = 1; can be negative on few tokens);
      k3:    sum_t r_t - 1 - log r_t, r_t = q_t(x_t) / p_t(x_t) (TRL GRPO's `kl`; >= 0; unbiased under the same condition).
    p = the policy (logp_TV), q = the base (base_logp_TV), both log-softmaxed the same way."""
    with torch.no_grad():
        p_TV = logp_TV.exp()
        exact_T = torch.where(p_TV > 0, p_TV * (logp_TV - base_logp_TV), torch.zeros_like(p_TV)).sum(dim=-1)
        d_T = logp_TV.gather(-1, target_T[:, None]).squeeze(-1) - base_logp_TV.gather(-1, target_T[:, None]).squeeze(-1)
        k3_T = torch.exp(-d_T) - 1 + d_T
        return float(exact_T.sum()), float(d_T.sum()), float(k3_T.sum())
