/** One metrics.jsonl row per RL batch, with tinker-cookbook's metric names (DESIGN §4.6). Pure. */
import { mean, testMetrics, type MetricsRow, type TestScore } from '../metrics';

export interface RlBatchFacts {
  batch: number;
  n_batches: number;
  rewards_PG: number[][];
  correct_PG: boolean[][];
  format_ok_PG: boolean[][];
  num_tokens_PG: number[][];
  n_constant_groups: number;
  optim: Record<string, number> | null;
  test: TestScore | null;
  seconds_batch: number;
  seconds_total: number;
}

export function rlMetricsRow(f: RlBatchFacts): Record<string, number | null> {
  const row: Record<string, number | null> = {
    'progress/batch': f.batch,
    'progress/done_frac': (f.batch + 1) / f.n_batches,
    'env/all/reward/total': mean(f.rewards_PG.flat()),
    'env/all/correct': mean(f.correct_PG.flat().map(Number)),
    'env/all/format_ok': mean(f.format_ok_PG.flat().map(Number)),
    'env/all/ac_tokens_per_turn': mean(f.num_tokens_PG.flat()),
    'env/all/frac_constant_groups': f.rewards_PG.length ? f.n_constant_groups / f.rewards_PG.length : 0,
    'time/batch': f.seconds_batch,
    'time/total': f.seconds_total,
  };
  if (f.optim) {
    row['optim/loss'] = f.optim.loss;
    if (typeof f.optim.loss_per_token === 'number') row['optim/loss_per_token'] = f.optim.loss_per_token;
    row['optim/entropy'] = f.optim.entropy;
    row['optim/kl_sample_train_v1'] = f.optim.kl_sample_train_v1;
    row['optim/kl_sample_train_v2'] = f.optim.kl_sample_train_v2;
    row['optim/grad_norm'] = f.optim.grad_norm;
    row['optim/lr'] = f.optim.learning_rate;
    row['optim/tokens'] = f.optim.tokens;
  }
  if (f.test) Object.assign(row, testMetrics(f.test));
  return row;
}

/** RL batch `batch`'s metrics.jsonl row: its key, its step (batches done), the checkpoint it left, then rlMetricsRow. */
export function rlBatchRow(f: RlBatchFacts & { checkpoint: string | null }): MetricsRow {
  const { checkpoint, ...facts } = f;
  return { key: `batch-${f.batch}`, step: f.batch + 1, checkpoint, ...rlMetricsRow(facts) };
}
