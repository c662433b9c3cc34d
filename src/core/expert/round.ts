/**
 * One expert-iteration round's bookkeeping (DESIGN §5): the tally of its teacher hints, the
 * run's running totals, which examples the M-step trains on and from which weights, and the
 * round's metrics.jsonl row. Pure.
 */
import { fractionTrue, mean, optimMetrics, testMetrics, type MetricsRow, type TestScore } from '../metrics';
import type { HintOutcome } from './hints';

/** The run's running counts (in the result, the status query and the continue-as-new carry). */
export interface ExpertTotals {
  hints: number;
  hints_leaked: number;
  /**
   * problems without a gold answer (empty or missing): left out at planning, or, should one reach
   * the teacher, refused by it (the same check, so the hint tally's no_truth is 0 in practice)
   */
  skipped_no_ground_truth: number;
  hints_dropped: number;
  teacher_errors: number;
  skipped_rounds: number;
}

export const NO_TOTALS: ExpertTotals = { hints: 0, hints_leaked: 0, skipped_no_ground_truth: 0, hints_dropped: 0, teacher_errors: 0, skipped_rounds: 0 };

/** What the teacher phase of one round produced, problem by problem. */
export interface HintTally {
  hints: number;
  leaked: number;
  dropped: number;
  no_truth: number;
  errors: number;
}

export const NO_HINTS: HintTally = { hints: 0, leaked: 0, dropped: 0, no_truth: 0, errors: 0 };

/** Count a round's hint outcomes (one per failed problem) and the leaking replies regenerated or dropped on the way. */
export function tallyHints(outcomes: readonly HintOutcome[], leaked: number): HintTally {
  const t = { ...NO_HINTS, leaked };
  for (const o of outcomes) {
    if (o.kind === 'hint') t.hints++;
    else if (o.kind === 'dropped') t.dropped++;
    else if (o.kind === 'no_ground_truth') t.no_truth++;
    else t.errors++;
  }
  return t;
}

/** The failed problems that got a hint, with their hints in the same order: what expert search samples. */
export function hintedProblems(failed: readonly number[], outcomes: readonly HintOutcome[]): { indices: number[]; hints: string[] } {
  const indices: number[] = [];
  const hints: string[] = [];
  failed.forEach((index, k) => {
    const o = outcomes[k];
    if (o?.kind === 'hint') {
      indices.push(index);
      hints.push(o.hint);
    }
  });
  return { indices, hints };
}

/**
 * Counts of a round added to the run's totals, as the round learns them: problems without a gold
 * answer (at planning), the hint tally (after expert search), whether the round was skipped.
 */
export function addRoundToTotals(totals: ExpertTotals, r: { skipped_no_ground_truth?: number; hints?: HintTally; skipped?: boolean }): ExpertTotals {
  const h = r.hints ?? NO_HINTS;
  return {
    hints: totals.hints + h.hints,
    hints_leaked: totals.hints_leaked + h.leaked,
    skipped_no_ground_truth: totals.skipped_no_ground_truth + (r.skipped_no_ground_truth ?? 0) + h.no_truth,
    hints_dropped: totals.hints_dropped + h.dropped,
    teacher_errors: totals.teacher_errors + h.errors,
    skipped_rounds: totals.skipped_rounds + (r.skipped ? 1 : 0),
  };
}

/**
 * The M-step's data and starting weights: with restart_from_base, the whole buffer (this round's
 * blob already in it) from the base weights; otherwise this round's successes alone (none: nothing
 * to train) from the current weights.
 */
export function distillationPlan<R, C>(a: { restart_from_base: boolean; buffer_refs: readonly R[]; round: { ref: R; n: number }; base: C; current: C }): { refs: R[]; checkpoint_in: C } {
  if (a.restart_from_base) return { refs: [...a.buffer_refs], checkpoint_in: a.base };
  return { refs: a.round.n > 0 ? [a.round.ref] : [], checkpoint_in: a.current };
}

/** Why a round trained nothing (its row's `expert/skipped`). */
export const ROUND_SKIPPED = {
  no_ground_truth: 'no problem with a ground truth',
  empty_buffer: 'empty distillation buffer',
} as const;

/** Where round `round` of `n_rounds` sits in metrics.jsonl: one row per round, step = rounds done. */
function roundHead(round: number, nRounds: number): MetricsRow {
  return { key: `round-${round}`, step: round + 1, 'progress/batch': round, 'progress/done_frac': (round + 1) / nRounds };
}

/** The row of a round none of whose planned problems has a gold answer: nothing sampled, nothing trained. */
export function skippedRoundRow(f: { round: number; n_rounds: number; skipped_no_ground_truth: number; buffer_size: number; checkpoint: string | null }): MetricsRow {
  return {
    ...roundHead(f.round, f.n_rounds),
    'expert/problems': 0,
    'expert/skipped_no_ground_truth': f.skipped_no_ground_truth,
    'expert/buffer_size': f.buffer_size,
    'expert/distill_examples': 0,
    'expert/skipped': ROUND_SKIPPED.no_ground_truth,
    checkpoint: f.checkpoint,
  };
}

/** The M-step of a round as its row sees it (null: skipped). */
export interface DistillFacts {
  steps: number;
  /** the loss of every step (summed over its tokens), per epoch */
  losses_E: number[][];
  /** the trained tokens of every step, per epoch */
  tokens_E: number[][];
  /** the last step's optimiser metrics */
  last: { loss: number; loss_per_token?: number; entropy: number; grad_norm: number; tokens: number } | null;
}

export interface ExpertRoundFacts {
  round: number;
  n_rounds: number;
  /** the student's attempts: [problem][attempt] */
  correct_PG: boolean[][];
  rewards_PG: number[][];
  problems: number;
  skipped_no_ground_truth: number;
  failed_problems: number;
  student_successes: number;
  hints: HintTally;
  expert_successes: number;
  successes_over_cap: number;
  buffer_size: number;
  distill_examples: number;
  distill: DistillFacts | null;
  sft_epochs: number;
  skipped: string | null;
  test: TestScore | null;
  checkpoint: string | null;
}

/** Epoch `k` of the M-step: the mean over its steps of each step's summed loss (null when it did not run that epoch). */
function epochLoss(d: DistillFacts | null, k: number): number | null {
  return d && d.losses_E[k]?.length ? mean(d.losses_E[k]) : null;
}

/** Epoch `k` of the M-step: its cross-entropy per trained token, Σ loss / Σ tokens over its steps (null when it did not run that epoch). */
function epochLossPerToken(d: DistillFacts | null, k: number): number | null {
  const tokens = d?.tokens_E[k]?.reduce((a, b) => a + b, 0) ?? 0;
  return d && d.losses_E[k]?.length && tokens > 0 ? d.losses_E[k].reduce((a, b) => a + b, 0) / tokens : null;
}

/** The row of a round that sampled: student accuracy, the hint tally, the successes kept, the M-step and the test score. */
export function expertRoundRow(f: ExpertRoundFacts): MetricsRow {
  const optim = f.distill?.last ?? null;
  return {
    ...roundHead(f.round, f.n_rounds),
    'env/all/correct': fractionTrue(f.correct_PG.flat()),
    'env/all/reward/total': mean(f.rewards_PG.flat()),
    'expert/problems': f.problems,
    'expert/skipped_no_ground_truth': f.skipped_no_ground_truth,
    'expert/failed_problems': f.failed_problems,
    'expert/student_successes': f.student_successes,
    'expert/hints': f.hints.hints,
    'expert/hints_leaked': f.hints.leaked,
    'expert/hints_dropped': f.hints.dropped,
    'expert/no_ground_truth': f.hints.no_truth,
    'expert/teacher_errors': f.hints.errors,
    'expert/expert_successes': f.expert_successes,
    'expert/successes_over_cap': f.successes_over_cap,
    'expert/buffer_size': f.buffer_size,
    'expert/distill_examples': f.distill_examples,
    'expert/distill_steps': f.distill?.steps ?? 0,
    // the examples' cross-entropy in the first and the last pass (the M-step fits them): the mean
    // step loss (each a sum over its tokens), and the mean per token
    'expert/distill_loss_first_epoch': epochLoss(f.distill, 0),
    'expert/distill_loss_last_epoch': epochLoss(f.distill, f.sft_epochs - 1),
    'expert/distill_loss_per_token_first_epoch': epochLossPerToken(f.distill, 0),
    'expert/distill_loss_per_token_last_epoch': epochLossPerToken(f.distill, f.sft_epochs - 1),
    'expert/skipped': f.skipped,
    ...(optim ? optimMetrics(optim) : {}),
    ...(f.test ? testMetrics(f.test) : {}),
    checkpoint: f.checkpoint,
  };
}
