/** Which attempts count for distillation (DESIGN §5): the failed problems and the per-problem success cap. Pure. */

/** Keep at most `max` verified successes per problem (the first ones found). */
export function capSuccesses(counts: Record<string, number>, index: number, found: number, max: number): number {
  const have = counts[String(index)] ?? 0;
  const take = Math.max(0, Math.min(found, max - have));
  counts[String(index)] = have + take;
  return take;
}

/** Problems none of whose attempts was verified correct: the ones the teacher writes hints for. */
export function failedProblems(indices_P: readonly number[], correct_PG: readonly boolean[][]): number[] {
  return indices_P.filter((_, p) => !(correct_PG[p] ?? []).some(Boolean));
}

export interface SuccessPick {
  index: number;
  sample_index: number;
}

/**
 * The verified successes kept for distillation, at most `max` per problem over the whole run
 * (`counts` carries what earlier rounds kept and is updated in place). Order is preserved.
 */
export function keepSuccesses(counts: Record<string, number>, picks: readonly SuccessPick[], max: number): SuccessPick[] {
  const kept: SuccessPick[] = [];
  for (const p of picks) if (capSuccesses(counts, p.index, 1, max) === 1) kept.push(p);
  return kept;
}
