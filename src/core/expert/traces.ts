/**
 * What a traces blob yields (the scored samples of a policy pass): the verified successes, the
 * first attempt shown to the teacher, the traces picked for distillation, traceGeneration's choice
 * of one completion per problem with its stats, and an evaluation's summary. Pure.
 */
import type { SuccessPick } from './successes';

/** The fields of a scored sample these rules read (activities/tasks.ts ScoredSample has them all). */
export interface TraceFacts {
  /** index into the split */
  index: number;
  sample_index: number;
  correct: boolean;
  output: string;
}

/** Verified successes, (problem, sample) in trace order; the caller applies the per-problem cap. */
export function verifiedPicks(traces: readonly TraceFacts[]): SuccessPick[] {
  return traces.filter((t) => t.correct).map((t) => ({ index: t.index, sample_index: t.sample_index }));
}

/** The first recorded attempt of each problem (in `indices` order, '' when none), for the teacher to look at. */
export function firstAttempts(traces: readonly TraceFacts[], indices: readonly number[]): string[] {
  return indices.map((i) => traces.find((t) => t.index === i)?.output ?? '');
}

/**
 * The traces the picks name, in trace order. Picks name (index, sample_index) within their own
 * source (student or expert traces): the same pair in another source is a different, possibly
 * failed, sample. Only verified-correct traces are ever taken.
 */
export function pickedTraces<T extends TraceFacts>(traces: readonly T[], picks: readonly SuccessPick[]): T[] {
  const want = new Set(picks.map((p) => `${p.index}:${p.sample_index}`));
  return traces.filter((t) => t.correct && want.has(`${t.index}:${t.sample_index}`));
}

/** traceGeneration's completion for one problem: its first verified sample, else the reference solution. */
export interface ChosenTrace {
  index: number;
  completion: string;
  source: 'sample' | 'reference';
  /** samples drawn until the first success (max_attempts when none succeeded) */
  attempts: number;
}

export interface TraceStats {
  total: number;
  successes: number;
  fallbacks: number;
  success_rate: number;
  mean_attempts: number;
  /** problems with neither a verified sample nor a reference: left out */
  skipped: number;
  /** problems left out before sampling for want of a gold answer */
  skipped_no_ground_truth: number;
  // the same counts under the names of the seeds' generate_traces.py stats file
  /** = total */
  total_samples: number;
  /** = successes */
  grpo_successes: number;
  /** = fallbacks */
  fallback_count: number;
  /** mean attempts of the problems a sample solved (0 when none) */
  avg_attempts_for_successes: number;
  /** = mean_attempts (a fallback counts max_attempts) */
  avg_attempts_overall: number;
}

/**
 * One completion per problem, in `indices` order: the lowest-numbered verified sample, else the
 * problem's reference completion (`referenceOf`, counted as a fallback), else none (skipped).
 */
export function chooseTraces(
  indices: readonly number[],
  traces: readonly TraceFacts[],
  referenceOf: (index: number) => string | undefined,
  maxAttempts: number,
  skippedNoGroundTruth = 0,
): { chosen: ChosenTrace[]; stats: TraceStats } {
  const chosen: ChosenTrace[] = [];
  let successes = 0;
  let fallbacks = 0;
  let skipped = 0;
  let attempts = 0;
  let successAttempts = 0;
  for (const i of indices) {
    const first = traces.filter((t) => t.index === i && t.correct).sort((a, b) => a.sample_index - b.sample_index)[0];
    const reference = first ? undefined : referenceOf(i);
    if (first) {
      successes++;
      chosen.push({ index: i, completion: first.output, source: 'sample', attempts: first.sample_index + 1 });
      successAttempts += first.sample_index + 1;
    } else if (reference) {
      fallbacks++;
      chosen.push({ index: i, completion: reference, source: 'reference', attempts: maxAttempts });
    } else {
      skipped++;
      continue;
    }
    attempts += chosen[chosen.length - 1].attempts;
  }
  const total = successes + fallbacks;
  const meanAttempts = total ? attempts / total : 0;
  return {
    chosen,
    stats: {
      total,
      successes,
      fallbacks,
      success_rate: total ? successes / total : 0,
      mean_attempts: meanAttempts,
      skipped,
      skipped_no_ground_truth: skippedNoGroundTruth,
      total_samples: total,
      grpo_successes: successes,
      fallback_count: fallbacks,
      avg_attempts_for_successes: successes ? successAttempts / successes : 0,
      avg_attempts_overall: meanAttempts,
    },
  };
}

/** An evaluation's per-sample facts beyond TraceFacts. */
export interface EvaluatedTrace extends TraceFacts {
  reward: number;
  extracted: string | null;
}

/** Whether a completion shows a reasoning block (<think> or </think>). */
export function showsThinking(output: string): boolean {
  return /<think>|<\/think>/i.test(output);
}

/** evaluation's summary over every sample: accuracy, the share with an extracted answer, the share that shows thinking, mean reward. */
export function evaluationSummary(traces: readonly EvaluatedTrace[]): { n: number; accuracy: number; answer_proportion: number; thinking_proportion: number; mean_reward: number } {
  const n = traces.length;
  const frac = (f: (t: EvaluatedTrace) => boolean) => (n ? traces.filter(f).length / n : 0);
  return {
    n,
    accuracy: frac((t) => t.correct),
    answer_proportion: frac((t) => t.extracted !== null),
    thinking_proportion: frac((t) => showsThinking(t.output)),
    mean_reward: n ? traces.reduce((a, t) => a + t.reward, 0) / n : 0,
  };
}
