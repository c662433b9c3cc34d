const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** The child is kept only if its summed minibatch score strictly beats the parent's on the same minibatch. */
export function acceptIfStrictlyBetter(parent: readonly number[], child: readonly number[]): boolean {
  return sum(child) > sum(parent);
}

/**
 * gepa.min_improvement_threshold: with t > 0 the child's minibatch mean must beat the parent's by at
 * least t; t = 0 is the reference's strict rule (acceptIfStrictlyBetter).
 */
export function acceptIfImproved(parent: readonly number[], child: readonly number[], threshold = 0): boolean {
  if (threshold <= 0) return acceptIfStrictlyBetter(parent, child);
  const n = Math.max(1, child.length);
  return sum(child) / n - sum(parent) / Math.max(1, parent.length) >= threshold - 1e-12;
}

/** Per problem, the mean and the spread (population standard deviation) of its samples' scores. */
export function problemMeans(scores_PG: readonly (readonly number[])[]): number[] {
  return scores_PG.map((xs) => (xs.length ? sum(xs) / xs.length : 0));
}

export function problemSpreads(scores_PG: readonly (readonly number[])[]): number[] {
  return scores_PG.map((xs) => {
    if (xs.length < 2) return 0;
    const m = sum(xs) / xs.length;
    return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length);
  });
}

/** Format-regression guard (alternation seeds): the child may not lower the format-ok count. */
export function keepsFormat(parentFormatOk: readonly boolean[], childFormatOk: readonly boolean[]): boolean {
  return childFormatOk.filter(Boolean).length >= parentFormatOk.filter(Boolean).length;
}

/** Skip reflection when the parent is already perfect on the minibatch. */
export function isPerfect(scores: readonly number[], perfectScore: number): boolean {
  return scores.length > 0 && scores.every((s) => s >= perfectScore);
}
