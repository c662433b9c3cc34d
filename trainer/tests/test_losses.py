"""The per-token rules of the local backend (gepa_rl_trainer/losses.py) against hand-computed values."""
import math

import pytest
import torch

from gepa_rl_trainer.losses import batch_loss, cross_entropy_loss, entropy_sum, kl_sample_train_sums, policy_loss, sampling_log_softmax, sequence_loss

P_V = torch.tensor([0.1, 0.2, 0.3, 0.4])
LOGITS_V = P_V.log()


def probs(logp):
    return logp.exp().tolist()


def test_temperature_one_is_the_softmax_and_greedy_scores_at_temperature_one():
    assert probs(sampling_log_softmax(LOGITS_V)) == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert probs(sampling_log_softmax(LOGITS_V, temperature=0)) == pytest.approx([0.1, 0.2, 0.3, 0.4])


def test_temperature_half_squares_the_probabilities():
    # softmax(log p / 0.5) = p^2 / sum p^2 = [.01, .04, .09, .16] / .30
    assert probs(sampling_log_softmax(LOGITS_V, temperature=0.5)) == pytest.approx([1 / 30, 4 / 30, 9 / 30, 16 / 30])


def test_top_p_keeps_the_nucleus_and_renormalises():
    # sorted .4, .3, .2, .1; mass above each: 0, .4, .7, .9; top_p .5 keeps .4 and .3 -> 4/7, 3/7
    assert probs(sampling_log_softmax(LOGITS_V, top_p=0.5)) == pytest.approx([0, 0, 3 / 7, 4 / 7])
    # a kept token (the learner keeps the sampled one) stays in whatever its rank: .4 + .3 + .1
    keep = torch.tensor(0)
    assert probs(sampling_log_softmax(LOGITS_V, top_p=0.5, keep_X=keep)) == pytest.approx([1 / 8, 0, 3 / 8, 4 / 8])
    # per row of a batch, and after the temperature: T=.5 gives [1, 4, 9, 16]/30; mass above 9/30 is .53,
    # above 4/30 is .83, so top_p .6 keeps 16 and 9 -> 16/25, 9/25
    both = sampling_log_softmax(torch.stack([LOGITS_V, LOGITS_V.flip(0)]), temperature=0.5, top_p=0.6)
    assert probs(both[0]) == pytest.approx([0, 0, 9 / 25, 16 / 25]) and probs(both[1]) == pytest.approx([16 / 25, 9 / 25, 0, 0])


def test_entropy_is_zero_log_zero_safe():
    logp = sampling_log_softmax(LOGITS_V, top_p=0.5)[None]
    h = -(4 / 7 * math.log(4 / 7) + 3 / 7 * math.log(3 / 7))
    assert float(entropy_sum(torch.cat([logp, logp]))) == pytest.approx(2 * h)


def test_losses_are_sums_over_tokens():
    lp = torch.tensor([0.5, 0.25]).log()
    old = torch.tensor([0.25, 0.25]).log()  # ratios 2 and 1
    assert float(policy_loss("importance_sampling", lp, old, 2.0)) == pytest.approx(-(2 * 2 + 1 * 2))
    # ppo: min(2A, 1.2A) + min(A, A); A=2 -> 2.4 + 2; A=-1 -> -2 + -1
    assert float(policy_loss("ppo", lp, old, 2.0)) == pytest.approx(-4.4)
    assert float(policy_loss("ppo", lp, old, -1.0)) == pytest.approx(3.0)
    assert float(cross_entropy_loss(lp)) == pytest.approx(-(math.log(0.5) + math.log(0.25)))
    with pytest.raises(ValueError, match="unknown policy loss 'dpo'"):
        policy_loss("dpo", lp, old, 1.0)


def test_ppo_gives_no_gradient_through_a_clipped_token():
    lp = torch.tensor([0.5, 0.25]).log().requires_grad_()
    old = torch.tensor([0.25, 0.25]).log()
    policy_loss("ppo", lp, old, 1.0).backward()  # token 0: ratio 2 > 1.2 with A > 0 is clipped
    assert lp.grad.tolist() == pytest.approx([0.0, -1.0])


# A batch of two sequences of different lengths, values by hand:
#   A: learner p = [.5, .25], sampler p = [.25, .25] -> ratios [2, 1], advantage 2
#   B: learner p = [.5],      sampler p = [.5]       -> ratio  [1],    advantage -1
LP_D = [torch.tensor([0.5, 0.25]).log(), torch.tensor([0.5]).log()]
OLD_D = [torch.tensor([0.25, 0.25]).log(), torch.tensor([0.5]).log()]
ADV_D = [2.0, -1.0]


def test_batch_losses_are_sums_over_sequences_and_tokens_as_tinker():
    # importance_sampling: A -(2*2 + 1*2) = -6, B -(1*-1) = 1 -> -5 (a mean over 3 tokens would be -5/3, over 2 sequences -2.5)
    assert float(batch_loss("importance_sampling", LP_D, OLD_D, ADV_D)) == pytest.approx(-5.0)
    # ppo: A -(min(4, 1.2*2) + min(2, 2)) = -4.4, B -min(-1, -1) = 1 -> -3.4
    assert float(batch_loss("ppo", LP_D, OLD_D, ADV_D)) == pytest.approx(-3.4)
    # cross_entropy: A -(ln .5 + ln .25) = 3 ln 2, B -ln .5 = ln 2 -> 4 ln 2 (advantages and sampler logprobs unused)
    assert float(batch_loss("cross_entropy", LP_D, [None, None], ADV_D)) == pytest.approx(4 * math.log(2))


def test_batch_gradient_is_not_divided_by_tokens_or_sequences():
    lp_D = [lp.clone().requires_grad_() for lp in LP_D]
    batch_loss("importance_sampling", lp_D, OLD_D, ADV_D).backward()
    # d/d logp_t of -ratio_t * A = -ratio_t * A: A [-2*2, -1*2], B [-1*-1]
    assert lp_D[0].grad.tolist() == pytest.approx([-4.0, -2.0]) and lp_D[1].grad.tolist() == pytest.approx([1.0])
    lp_D = [lp.clone().requires_grad_() for lp in LP_D]
    batch_loss("cross_entropy", lp_D, [None, None], ADV_D).backward()
    assert lp_D[0].grad.tolist() == pytest.approx([-1.0, -1.0]) and lp_D[1].grad.tolist() == pytest.approx([-1.0])


def test_kl_sample_train_sums_and_a_policy_loss_without_sampler_logprobs():
    # old - new = [ln .25 - ln .5, 0] = [-ln 2, 0]: v1 sum -ln 2, v2 sum (ln 2)^2 / 2
    v1, v2 = kl_sample_train_sums(LP_D[0], OLD_D[0])
    assert (v1, v2) == (pytest.approx(-math.log(2)), pytest.approx(math.log(2) ** 2 / 2))
    with pytest.raises(ValueError, match="needs the sampler's logprobs"):
        sequence_loss("ppo", LP_D[0], None, 1.0)


def test_cispo_weights_log_prob_by_the_clipped_ratio_with_its_gradient_stopped():
    # ratios 2, 1, 0.2 -> weights clip(., 0, 1.28) = 1.28, 1, 0.2 (no lower bound, as MiniMax-M1)
    lp = torch.tensor([0.5, 0.25, 0.05]).log().requires_grad_()
    old = torch.tensor([0.25, 0.25, 0.25]).log()
    loss = policy_loss("cispo", lp, old, 2.0)
    assert float(loss) == pytest.approx(-(1.28 * 2 * math.log(0.5) + 1 * 2 * math.log(0.25) + 0.2 * 2 * math.log(0.05)))
    loss.backward()
    # d/d logp_t = -w_t * A: the clipped token (ratio 2) still moves, weighted by the bound, unlike ppo
    assert lp.grad.tolist() == pytest.approx([-2.56, -2.0, -0.4])
    # on-policy (ratio 1 everywhere) it is REINFORCE: -A * sum log p
    on = torch.tensor([0.5, 0.25]).log()
    assert float(policy_loss("cispo", on, on.clone(), -1.0)) == pytest.approx(math.log(0.5) + math.log(0.25))
