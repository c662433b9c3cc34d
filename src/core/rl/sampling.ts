/**
 * When RL's sampling is off-policy by construction: the sampler's logprobs are those of the
 * tempered (temperature != 1) or truncated (top_p < 1) distribution while the learner scores the
 * same tokens at T=1 on the full vocabulary, so the importance ratios are not 1 even before the
 * first update and kl_sample_train measures that gap, not learning.
 */
export function offPolicySamplingWarning(temperature: number, top_p: number): string | null {
  if (temperature === 1 && top_p >= 1) return null;
  const what = [temperature !== 1 ? `policy.temperature=${temperature}` : null, top_p < 1 ? `policy.top_p=${top_p}` : null].filter(Boolean).join(' and ');
  return (
    `${what}: RL samples from a ${temperature !== 1 ? 'tempered' : 'truncated'} distribution while the learner scores at temperature 1 ` +
    'on the full vocabulary, so importance ratios are not 1 before any update and optim/kl_sample_train_* measure that gap; ' +
    'set temperature=1 top_p=1 for on-policy RL'
  );
}
