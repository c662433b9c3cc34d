/**
 * Advantage groups of a fast–slow batch (fast_slow.advantage_group):
 * - `problem` (FST): one group per problem across all its prompts, so a prompt that helps raises
 *   its rollouts' advantages against the problem's other rollouts;
 * - `prompt` (E-SPL arXiv 2602.14697): one group per (problem, prompt), a baseline per prompt.
 * Inside a group the rule is RL's (core/rl/advantages.ts). Shapes: _PG problem x rollout. Pure.
 */
import { computeBatchAdvantages, type AdvantageOptions } from '../rl/advantages';

export type AdvantageGroup = 'problem' | 'prompt';

export function fastSlowAdvantages(
  rewards_PG: number[][],
  prompts_PG: number[][],
  opts: AdvantageOptions & { advantage_group: AdvantageGroup },
): { advantages_PG: number[][]; n_groups: number; n_constant_groups: number } {
  if (opts.advantage_group === 'problem') {
    const r = computeBatchAdvantages(rewards_PG, opts);
    return { advantages_PG: r.advantages_PG, n_groups: rewards_PG.length, n_constant_groups: r.n_constant_groups };
  }
  let n_groups = 0;
  let n_constant_groups = 0;
  const advantages_PG = rewards_PG.map((rewards_G, p) => {
    const out = rewards_G.map(() => 0);
    const ids = [...new Set(prompts_PG[p])];
    const positions = ids.map((id) => prompts_PG[p].flatMap((q, g) => (q === id ? [g] : [])));
    const r = computeBatchAdvantages(positions.map((pos) => pos.map((g) => rewards_G[g])), opts);
    positions.forEach((pos, j) => pos.forEach((g, i) => (out[g] = r.advantages_PG[j][i])));
    n_groups += ids.length;
    n_constant_groups += r.n_constant_groups;
    return out;
  });
  return { advantages_PG, n_groups, n_constant_groups };
}
