/**
 * KL(π_θ‖π_base) on held-out prompts (FST, arXiv 2605.12484, reports it; issue 22 item 4): measured
 * by the trainer (policy_kl_to_base) on the rollouts of a test evaluation, π_θ the weights they were
 * sampled under, π_base the weights the run started from (policy.checkpoint; null: the base model).
 * Per token, over every sampled position of those rollouts, both distributions at the rollouts'
 * temperature (1 for greedy rollouts) over the whole vocabulary, top_p not applied:
 *   test/kl_to_base     the whole-vocabulary KL at each position (>= 0; the lowest variance);
 *   test/kl_to_base/k1  mean of log π_θ(x_t) − log π_base(x_t) over the sampled tokens
 *                       (tinker-cookbook's kl_policy_base; unbiased only for rollouts drawn
 *                       at T > 0 with top_p = 1; may be < 0 on few tokens);
 *   test/kl_to_base/k3  mean of r − 1 − log r, r = π_base(x_t)/π_θ(x_t) (TRL GRPO's `kl`);
 *   test/kl_to_base/tokens  the tokens they are means over.
 * Pure.
 */

export interface KlToBase {
  kl: number;
  k1: number;
  k3: number;
  tokens: number;
}

export const KL_TO_BASE_KEY = 'test/kl_to_base';

export function klToBaseMetrics(k: KlToBase): Record<string, number> {
  return { [KL_TO_BASE_KEY]: k.kl, [`${KL_TO_BASE_KEY}/k1`]: k.k1, [`${KL_TO_BASE_KEY}/k3`]: k.k3, [`${KL_TO_BASE_KEY}/tokens`]: k.tokens };
}

/** Why KL to the base is not measured on this backend (null: it is, on the local backend). */
export function klToBaseSkipReason(backend: string): string | null {
  if (backend === 'local') return null;
  if (backend === 'tinker') {
    return 'test/kl_to_base is not measured on policy.backend=tinker: it is the whole-vocabulary KL at each sampled position, and Tinker returns only the sampled tokens\' logprobs';
  }
  return `test/kl_to_base is not measured on policy.backend=${backend}: only the local trainer holds the weights to score`;
}
