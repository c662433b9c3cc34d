/** Advantages per group (DESIGN §5 RL). Shapes: _G per group member, _PG problem x member. */

export function groupCenteredAdvantages(rewards_G: number[]): number[] {
  const mean = rewards_G.reduce((a, b) => a + b, 0) / Math.max(rewards_G.length, 1);
  return rewards_G.map((r) => r - mean);
}

/**
 * GRPO as TRL computes it (`scale_rewards="group"`): centred and divided by the group's sample
 * standard deviation (Bessel-corrected, n - 1) + 1e-4. A one-member group is centred to 0.
 */
export function grpoStdAdvantages(rewards_G: number[], eps = 1e-4): number[] {
  const centred = groupCenteredAdvantages(rewards_G);
  if (centred.length < 2) return centred.map(() => 0);
  const std = Math.sqrt(centred.reduce((a, c) => a + c * c, 0) / (centred.length - 1));
  return centred.map((c) => c / (std + eps));
}

export function isConstant(rewards_G: number[]): boolean {
  return rewards_G.every((r) => r === rewards_G[0]);
}

export interface AdvantageOptions {
  advantage: 'group_centered' | 'grpo_std';
  drop_constant_reward_groups: boolean;
}

export function computeBatchAdvantages(
  rewards_PG: number[][],
  opts: AdvantageOptions,
): { advantages_PG: number[][]; n_constant_groups: number } {
  let n_constant_groups = 0;
  const advantages_PG = rewards_PG.map((rewards_G) => {
    const constant = isConstant(rewards_G);
    if (constant) n_constant_groups++;
    const keep = !(constant && opts.drop_constant_reward_groups);
    if (!keep) return rewards_G.map(() => 0);
    return opts.advantage === 'grpo_std' ? grpoStdAdvantages(rewards_G) : groupCenteredAdvantages(rewards_G);
  });
  return { advantages_PG, n_constant_groups };
}

/**
 * Whether a batch teaches anything: with every advantage 0 (every group constant, or dropped) the
 * policy-gradient loss is 0 whatever the weights, so the train step is skipped and the checkpoint
 * stays (no optimiser state moves, no step is spent).
 */
export function hasLearningSignal(advantages_D: readonly number[]): boolean {
  return advantages_D.some((a) => a !== 0);
}
