/**
 * When RL's sampling is off-policy by construction. The local learner scores every rollout under the
 * distribution it was sampled from (its temperature and top_p, recorded in the rollouts blob), so
 * its importance ratios are 1 at any temperature. Tinker's built-in losses score at temperature 1 on
 * the full vocabulary: with temperature != 1 or top_p < 1 the sampler's logprobs (of the tempered or
 * truncated distribution) and the learner's differ before any update, and kl_sample_train measures
 * that gap, not learning.
 */
export function offPolicySamplingWarning(backend: 'local' | 'tinker', temperature: number, top_p: number): string | null {
  if (backend === 'local' || (temperature === 1 && top_p >= 1)) return null;
  const what = [temperature !== 1 ? `policy.temperature=${temperature}` : null, top_p < 1 ? `policy.top_p=${top_p}` : null].filter(Boolean).join(' and ');
  return (
    `${what} with policy.backend=tinker: RL samples from a ${temperature !== 1 ? 'tempered' : 'truncated'} distribution while Tinker's losses score ` +
    'at temperature 1 on the full vocabulary, so importance ratios are not 1 before any update and optim/kl_sample_train_* measure that gap; ' +
    'set temperature=1 top_p=1 for on-policy RL on Tinker (the local backend scores under the sampling distribution)'
  );
}
