/**
 * metrics.jsonl rows of fast–slow training, with tinker-cookbook's names (DESIGN §4.6): the RL
 * batch row (core/rl rlBatchRow: env/all/*, optim/*, test/env/all/* under the best prompt) plus the
 * pool's columns, per-prompt rewards as tinker-cookbook's per-env tags (env/prompt_<id>/...), the
 * seed prompt's test score with KL(π_θ‖π_base) on its rollouts (test/kl_to_base*, core/klToBase.ts),
 * and the final 2x2 table (with the trained weights' KL to the base). Pure.
 */
import { klToBaseMetrics } from '../klToBase';
import type { MetricsRow, TestScore } from '../metrics';
import { rlBatchRow, type RlBatchFacts } from '../rl/metrics';

export interface FastSlowBatchFacts extends RlBatchFacts {
  checkpoint: string | null;
  prompts_PG: number[][];
  pool_size: number;
  best_prompt_id: number;
  n_advantage_groups: number;
  trial_child: number | null;
  /** the test evaluation under the seed prompt beside the best prompt's (`test`), when evaluated */
  seed_test: TestScore | null;
}

export function fastSlowBatchRow(f: FastSlowBatchFacts): MetricsRow {
  const { prompts_PG, pool_size, best_prompt_id, n_advantage_groups, trial_child, seed_test, ...rl } = f;
  const row: MetricsRow = rlBatchRow(rl);
  const ids = [...new Set(prompts_PG.flat())].sort((a, b) => a - b);
  const total = prompts_PG.flat().length;
  for (const id of ids) {
    const rewards = f.rewards_PG.flatMap((rs, p) => rs.filter((_, g) => prompts_PG[p][g] === id));
    const correct = f.correct_PG.flatMap((cs, p) => cs.filter((_, g) => prompts_PG[p][g] === id));
    row[`env/prompt_${id}/reward/total`] = rewards.reduce((a, b) => a + b, 0) / rewards.length;
    row[`env/prompt_${id}/correct`] = correct.filter(Boolean).length / correct.length;
    row[`env/prompt_${id}/frac_rollouts`] = rewards.length / total;
  }
  row['fast_slow/pool_size'] = pool_size;
  row['fast_slow/prompts_in_batch'] = ids.length;
  row['fast_slow/best_prompt_id'] = best_prompt_id;
  row['fast_slow/n_advantage_groups'] = n_advantage_groups;
  row['fast_slow/trial_child'] = trial_child;
  if (seed_test) {
    row['test/seed_prompt/env/all/correct'] = seed_test.accuracy;
    row['test/seed_prompt/env/all/reward/total'] = seed_test.reward;
    // KL to the base is measured on the seed prompt's test rollouts (the prompt rl shares)
    if (seed_test.kl_to_base) Object.assign(row, klToBaseMetrics(seed_test.kl_to_base));
  }
  return row;
}

/** FST's attribution table on the test split: {base, trained} weights x {seed, best} prompt. */
export interface TwoByTwo {
  base_seed: TestScore;
  base_best: TestScore;
  trained_seed: TestScore;
  trained_best: TestScore;
  best_prompt_id: number;
}

export function twoByTwoRow(t: TwoByTwo, step: number): MetricsRow {
  return {
    key: 'final-2x2',
    step,
    'test/2x2/base_weights/seed_prompt/correct': t.base_seed.accuracy,
    'test/2x2/base_weights/best_prompt/correct': t.base_best.accuracy,
    'test/2x2/trained_weights/seed_prompt/correct': t.trained_seed.accuracy,
    'test/2x2/trained_weights/best_prompt/correct': t.trained_best.accuracy,
    'fast_slow/best_prompt_id': t.best_prompt_id,
    ...(t.trained_seed.kl_to_base ? klToBaseMetrics(t.trained_seed.kl_to_base) : {}),
  };
}
