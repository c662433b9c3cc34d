/**
 * The metric-call budget counts task rollouts only (never reflection calls). Under the default rule
 * (`strict`) it is checked before spending: an iteration starts only if it can afford its worst case
 * (parent minibatch + child minibatch + a full val evaluation of an accepted child), so the limit is
 * never exceeded. Under `reference` (gepa.budget_rule, gepa-ai/gepa's rule) an iteration or a merge
 * starts while fewer than the limit are spent, and what it then spends is not checked: the last one
 * can go past the limit.
 */
export const BUDGET_RULES = ['strict', 'reference'] as const;
export type BudgetRule = (typeof BUDGET_RULES)[number];

/** Names: the cap is `max_metric_calls` (the user's gepa key), the count spent `metric_calls`. */
export interface Budget {
  metric_calls: number;
  max_metric_calls: number;
  /** absent: strict */
  rule?: BudgetRule;
  /**
   * calls held back for iterations in flight (gepa.parallel_proposals, parallel.ts): the unspent
   * part of each one's worst case. Absent while nothing is in flight.
   */
  reserved?: number;
}
export class BudgetError extends Error {
  override name = 'BudgetError';
}

/** The least budget that pays for the seed's val evaluation plus one full iteration (worst case). */
export function minimumBudget(valSize: number, minibatch: number, rollouts = 1): number {
  return (valSize + reflectiveIterationCost(minibatch, valSize)) * rollouts;
}

/**
 * Refuse, before anything is spent, a budget that cannot pay for the seed evaluation plus one
 * iteration: such a run would only score the seed and stop.
 */
export function checkInitialBudget(maxMetricCalls: number, valSize: number, minibatch: number, rollouts = 1): void {
  if (valSize <= 0) throw new BudgetError('the val set is empty: GEPA needs at least one val example to score candidates');
  const need = minimumBudget(valSize, minibatch, rollouts);
  if (maxMetricCalls < need) {
    const small = maxMetricCalls < valSize * rollouts ? ` (it is smaller than one evaluation of the val set, ${valSize} rows)` : '';
    const per = rollouts > 1 ? `, each × ${rollouts} rollouts_per_problem` : '';
    throw new BudgetError(
      `max_metric_calls=${maxMetricCalls} cannot pay for the seed evaluation on ${valSize} val rows plus one iteration ` +
        `(2 × minibatch ${minibatch} + ${valSize} val = ${reflectiveIterationCost(minibatch, valSize)}${per})${small}: ` +
        `it needs at least ${need}. Raise gepa.max_metric_calls to ${need} or more, or lower gepa.val_size / gepa.minibatch_size${rollouts > 1 ? ' / gepa.rollouts_per_problem' : ''}.`,
    );
  }
}

/** Iterations a default val size leaves room for, each paying its worst case (a child accepted onto the val set). */
export const DEFAULT_ITERATIONS_PAID = 3;
/** The default val size is never made smaller than this (or than the split, when it is smaller). */
export const MIN_DEFAULT_VAL_SIZE = 8;

/**
 * The val rows GEPA scores candidates on: `requested` (gepa.val_size) when given, capped by the
 * split (`all`: the whole split, as gepa-ai/gepa scores every candidate on its whole valset);
 * otherwise the whole split, made smaller when needed so the budget pays the seed plus
 * DEFAULT_ITERATIONS_PAID full iterations (but never below MIN_DEFAULT_VAL_SIZE): budget 150 with
 * minibatch 3 scores 33 val rows, so a default run iterates instead of stopping after the seed.
 */
export function gepaValSize(a: { available: number; max_metric_calls: number; minibatch: number; requested?: number | 'all'; max_iterations?: number; rollouts_per_problem?: number }): number {
  if (a.requested === 'all') return a.available;
  if (a.requested !== undefined) return Math.min(a.requested, a.available);
  const k = Math.max(1, Math.min(a.max_iterations ?? DEFAULT_ITERATIONS_PAID, DEFAULT_ITERATIONS_PAID));
  const fits = Math.floor((a.max_metric_calls / (a.rollouts_per_problem ?? 1) - k * 2 * a.minibatch) / (k + 1));
  return Math.min(a.available, Math.max(fits, MIN_DEFAULT_VAL_SIZE));
}

export function reflectiveIterationCost(minibatch: number, valSize: number): number {
  return 2 * minibatch + valSize;
}

/**
 * Whether work that could cost `calls` may start: its worst case fits beside what is spent and what
 * iterations in flight hold reserved (strict), or the limit is not reached yet (reference).
 */
export function canAfford(budget: Budget, calls: number): boolean {
  return budget.rule === 'reference' ? budget.metric_calls < budget.max_metric_calls : budget.metric_calls + (budget.reserved ?? 0) + calls <= budget.max_metric_calls;
}

/** The unspent part of one in-flight iteration's reserved worst case. */
export interface Reservation {
  calls: number;
}

/**
 * Spend `calls`. From a reservation (an iteration in flight): they move from reserved to used, and
 * may not exceed what the reservation still holds (its worst case was wrong otherwise). Without one:
 * they must fit beside what is spent and reserved (strict).
 */
export function spend(budget: Budget, calls: number, from?: Reservation): void {
  if (from) {
    if (calls > from.calls) throw new BudgetError(`spending ${calls} metric calls exceeds the ${from.calls} this iteration still holds reserved`);
    from.calls -= calls;
    setReserved(budget, (budget.reserved ?? 0) - calls);
  } else if (budget.rule !== 'reference' && !canAfford(budget, calls)) {
    throw new BudgetError(`spending ${calls} metric calls would exceed the budget (${budget.metric_calls}/${budget.max_metric_calls} used${budget.reserved ? `, ${budget.reserved} reserved` : ''})`);
  }
  budget.metric_calls += calls;
}

/** Hold back an iteration's worst case before it is dispatched (strict: it must fit; reference: held, never refused). */
export function reserve(budget: Budget, calls: number): Reservation {
  if (budget.rule !== 'reference' && !canAfford(budget, calls)) {
    throw new BudgetError(`reserving ${calls} metric calls would exceed the budget (${budget.metric_calls}/${budget.max_metric_calls} used, ${budget.reserved ?? 0} reserved)`);
  }
  setReserved(budget, (budget.reserved ?? 0) + calls);
  return { calls };
}

/** An iteration landed: what it did not spend of its reservation goes back to the budget. Returns that amount. */
export function release(budget: Budget, r: Reservation): number {
  const back = r.calls;
  r.calls = 0;
  setReserved(budget, (budget.reserved ?? 0) - back);
  return back;
}

function setReserved(budget: Budget, n: number): void {
  if (n > 0) budget.reserved = n;
  else delete budget.reserved;
}

/**
 * The line a GEPA run prints at its start: how many val rows candidates are scored on, of how many,
 * under which budget, and how to score them all when that is a subset (with the budget that needs,
 * minimumBudget on the whole split, when this one is smaller).
 */
export function valSubsetLine(a: { val_size: number; available: number; max_metric_calls: number; minibatch: number; rollouts_per_problem?: number }): string {
  if (a.val_size >= a.available) return `val: all ${a.available} rows, budget ${a.max_metric_calls}`;
  const needs = minimumBudget(a.available, Math.min(a.minibatch, a.available), a.rollouts_per_problem ?? 1);
  return `val: ${a.val_size} of ${a.available} rows, budget ${a.max_metric_calls}; gepa.val_size=all scores all${a.max_metric_calls < needs ? ` (with gepa.max_metric_calls >= ${needs})` : ''}`;
}
