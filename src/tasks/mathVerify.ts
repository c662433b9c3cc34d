/**
 * Scores of math answers from Math-Verify's verdicts. Math-Verify runs in the Python grader
 * (trainer/gepa_rl_trainer/math_grading.py): a run's scoring activity receives one verdict per
 * completion, batched per chunk, and `gepa-rl grade` asks the grader process itself. Nothing here
 * judges equivalence; which tasks go there is decided by gradedByMathVerify (src/config/task.ts).
 */
import type { MathVerdict, ScoreResult } from '../types';

export class MissingVerdict extends Error {
  override name = 'MissingVerdict';
}

/** The score a verdict gives; `boxedFormat`: the task asks for \boxed{} and this completion has none. */
export function scoreFromVerdict(v: MathVerdict | undefined, opts: { formatOk: boolean; formatHint?: string } = { formatOk: true }): ScoreResult {
  if (!v) throw new MissingVerdict('math answers are decided by Math-Verify in the Python grader (queue gepa-rl-grader); this score call got no verdict');
  const hint = !v.correct && !opts.formatOk && opts.formatHint ? ` (format: ${opts.formatHint})` : '';
  return { reward: v.correct ? 1 : 0, correct: v.correct, format_ok: opts.formatOk, extracted: v.extracted, feedback: v.feedback + hint };
}
