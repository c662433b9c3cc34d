const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** The child is kept only if its summed minibatch score strictly beats the parent's on the same minibatch. */
export function acceptIfStrictlyBetter(parent: readonly number[], child: readonly number[]): boolean {
  return sum(child) > sum(parent);
}

/** Format-regression guard (alternation seeds): the child may not lower the format-ok count. */
export function keepsFormat(parentFormatOk: readonly boolean[], childFormatOk: readonly boolean[]): boolean {
  return childFormatOk.filter(Boolean).length >= parentFormatOk.filter(Boolean).length;
}

/** Skip reflection when the parent is already perfect on the minibatch. */
export function isPerfect(scores: readonly number[], perfectScore: number): boolean {
  return scores.length > 0 && scores.every((s) => s >= perfectScore);
}
