/**
 * The metric-call budget counts task rollouts only (never reflection calls). It is checked before
 * spending: an iteration starts only if it can afford its worst case (parent minibatch + child
 * minibatch + a full val evaluation of an accepted child), so the limit is never exceeded.
 */
export class BudgetError extends Error {
  override name = 'BudgetError';
}

export function checkInitialBudget(limit: number, valSize: number): void {
  if (valSize <= 0) throw new BudgetError('the val set is empty: GEPA needs at least one val example to score candidates');
  if (limit < valSize) {
    throw new BudgetError(`max_metric_calls=${limit} is smaller than one evaluation of the val set (${valSize} rows)`);
  }
}

export function reflectiveIterationCost(minibatch: number, valSize: number): number {
  return 2 * minibatch + valSize;
}

export function canAfford(budget: { used: number; limit: number }, calls: number): boolean {
  return budget.used + calls <= budget.limit;
}

export function spend(budget: { used: number; limit: number }, calls: number): void {
  if (!canAfford(budget, calls)) {
    throw new BudgetError(`spending ${calls} metric calls would exceed the budget (${budget.used}/${budget.limit} used)`);
  }
  budget.used += calls;
}
