/**
 * The parts of metrics.jsonl rows every training workflow shares (DESIGN §4.6): the row type, the
 * test and optimiser fields, the step-0 evaluation row, and the means they are made of. Pure.
 */
import { klToBaseMetrics, type KlToBase } from './klToBase';

/** One metrics.jsonl row: `key` makes a retried write idempotent, `step` orders the rows. */
export type MetricsRow = { key: string; step: number } & Record<string, unknown>;

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

/** The share of true values (accuracy of a list of verdicts); 0 for none. */
export function fractionTrue(xs: readonly boolean[]): number {
  return mean(xs.map((c) => (c ? 1 : 0)));
}

/** A test-split evaluation: accuracy and mean reward of one sample per problem. */
export interface TestScore {
  accuracy: number;
  reward: number;
  /** KL(π_θ‖π_base) on this evaluation's rollouts, where measured (core/klToBase.ts) */
  kl_to_base?: KlToBase;
}

/** The test metrics of a row (an evaluation's accuracy and mean reward, and its KL to the base where measured). */
export function testMetrics(t: TestScore): { 'test/env/all/correct': number; 'test/env/all/reward/total': number } & Record<string, number> {
  return { 'test/env/all/correct': t.accuracy, 'test/env/all/reward/total': t.reward, ...(t.kl_to_base ? klToBaseMetrics(t.kl_to_base) : {}) };
}

/**
 * The row of the evaluation before any training (rl, sft, expert iteration): step 0. It also carries
 * env/all/correct and env/all/reward/total (this evaluation's, there being no batch yet) as every
 * batch row does, so a script that reads those two keys from every row, as the seeds' do, works.
 */
export function initialEvalRow(t: TestScore): MetricsRow {
  return { key: 'eval-0', step: 0, 'progress/batch': 0, ...testMetrics(t), 'env/all/correct': t.accuracy, 'env/all/reward/total': t.reward };
}

/** What an evaluation workflow (evaluatePrompt, evaluation) measured on its split. */
export interface EvaluationScores {
  accuracy: number;
  mean_reward: number;
  /** evaluatePrompt */
  format_ok_rate?: number;
  /** evaluation */
  answer_proportion?: number;
  thinking_proportion?: number;
  /** evaluation of an episodic task (tau2-airline, core/tau2.ts) */
  tau2?: { pass_hat: Record<string, number>; refusal_floor: number; cost_per_episode_usd: number };
}

/**
 * The one metrics row of an evaluation workflow (key `evaluation`, step 0), its names prefixed by
 * the split: `<split>/env/all/correct`, `<split>/env/all/reward/total`, then whichever of
 * format_ok, answer_proportion, thinking_proportion and `tau2/pass^k`, refusal_floor and
 * cost_per_episode_usd it measured.
 */
export function evaluationRow(split: string, s: EvaluationScores): MetricsRow {
  const row: MetricsRow = { key: 'evaluation', step: 0, [`${split}/env/all/correct`]: s.accuracy, [`${split}/env/all/reward/total`]: s.mean_reward };
  if (s.format_ok_rate !== undefined) row[`${split}/env/all/format_ok`] = s.format_ok_rate;
  if (s.answer_proportion !== undefined) row[`${split}/answer_proportion`] = s.answer_proportion;
  if (s.thinking_proportion !== undefined) row[`${split}/thinking_proportion`] = s.thinking_proportion;
  if (s.tau2) {
    for (const [k, v] of Object.entries(s.tau2.pass_hat)) row[`${split}/tau2/${k}`] = v;
    row[`${split}/tau2/refusal_floor`] = s.tau2.refusal_floor;
    row[`${split}/tau2/cost_per_episode_usd`] = s.tau2.cost_per_episode_usd;
  }
  return row;
}

/**
 * The optimiser metrics of a train step as a row's `optim/*` fields (the RL row adds the KL pair and
 * the LR): `optim/loss` is the sum over the step's trained tokens (Tinker's loss:sum),
 * `optim/loss_per_token` the mean per trained token (TRL's logged loss) when the trainer reported it.
 */
export function optimMetrics(m: { loss: number; loss_per_token?: number; entropy: number; grad_norm: number; tokens: number }): Record<string, number> {
  return {
    'optim/loss': m.loss,
    ...(typeof m.loss_per_token === 'number' ? { 'optim/loss_per_token': m.loss_per_token } : {}),
    'optim/entropy': m.entropy,
    'optim/grad_norm': m.grad_norm,
    'optim/tokens': m.tokens,
  };
}
