/** Which problems have a ground truth, and what a row distils to when no sample is used. Pure. */

/**
 * A problem has a ground truth when its gold answer is a non-blank string. Without one nothing can
 * be verified (the `contains` grader even matches every completion against an empty gold), so
 * such a problem is never sampled, rewarded, hinted or distilled.
 */
export function hasGroundTruth(answer: string | null | undefined): boolean {
  return typeof answer === 'string' && answer.trim().length > 0;
}

/** Split problem indices by whether their gold answer (same order) is usable; order is kept. */
export function partitionByGroundTruth(indices: readonly number[], answers: ReadonlyArray<string | null | undefined>): { with_truth: number[]; without_truth: number[] } {
  if (answers.length !== indices.length) {
    throw new Error(`partitionByGroundTruth: ${indices.length} indices but ${answers.length} answers`);
  }
  const with_truth: number[] = [];
  const without_truth: number[] = [];
  indices.forEach((i, k) => (hasGroundTruth(answers[k]) ? with_truth : without_truth).push(i));
  return { with_truth, without_truth };
}

/**
 * The reference completion a row distils to (SFT from reference, trace-generation fallback): its
 * worked solution (e.g. a GSM8K rationale); else its bare gold answer, flagged as a fallback so
 * callers can count it; else nothing.
 */
export function referenceCompletion(row: { solution?: unknown; answer?: string | null }): { completion: string; source: 'solution' | 'answer' } | null {
  if (typeof row.solution === 'string' && row.solution.trim()) return { completion: row.solution, source: 'solution' };
  if (hasGroundTruth(row.answer)) return { completion: row.answer as string, source: 'answer' };
  return null;
}

/**
 * sftTraining's examples from reference solutions, in row order: each row's referenceCompletion;
 * rows trained on their bare gold answer are counted (`answer_fallbacks`), rows with neither are
 * left out and counted (`skipped`).
 */
export function referenceExamples<T extends { solution?: unknown; answer?: string | null }>(rows: readonly T[]): { picked: Array<{ row: T; completion: string }>; skipped: number; answer_fallbacks: number } {
  const picked: Array<{ row: T; completion: string }> = [];
  let skipped = 0;
  let answer_fallbacks = 0;
  for (const row of rows) {
    const ref = referenceCompletion(row);
    if (!ref) {
      skipped++;
      continue;
    }
    if (ref.source === 'answer') answer_fallbacks++;
    picked.push({ row, completion: ref.completion });
  }
  return { picked, skipped, answer_fallbacks };
}
