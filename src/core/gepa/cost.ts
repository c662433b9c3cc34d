/**
 * The USD budget of a GEPA run (`gepa.max_cost_usd`), counted over every paid call: the policy's
 * episodes (agent and user simulator) and the reflection LM. Checked before an iteration is
 * started, so a run stops before it would spend more: the next iteration's cost is estimated from
 * the costliest metric call rate seen so far (the highest per-call mean of any one evaluation: a
 * better child may talk longer than its parent), for a reflective iteration's calls (the minibatch
 * twice and, when the child is accepted, the whole val set), plus the mean reflection cost so far.
 * It is an estimate from observed costs, not a guarantee: an iteration far costlier than every
 * evaluation before it can still overshoot.
 */

export interface CostSoFar {
  /** USD spent on metric calls (episodes) */
  metric_usd: number;
  metric_calls: number;
  /** the highest USD per metric call of any single evaluation so far */
  max_usd_per_call: number;
  reflection_usd: number;
  reflection_calls: number;
}

export function nextIterationCostEstimate(c: CostSoFar, minibatchSize: number, valSize: number): number {
  const perCall = Math.max(c.max_usd_per_call, c.metric_calls ? c.metric_usd / c.metric_calls : 0);
  const perReflection = c.reflection_calls ? c.reflection_usd / c.reflection_calls : 0;
  return perCall * (2 * minibatchSize + valSize) + perReflection;
}

/**
 * null while the budget can pay for the next iteration; else the stop reason. `iterations`: the next
 * one and those in flight (gepa.parallel_proposals), whose cost is not in `c` yet, each estimated alike.
 */
export function costBudgetStop(maxUsd: number | undefined, c: CostSoFar, minibatchSize: number, valSize: number, iterations = 1): string | null {
  if (maxUsd === undefined) return null;
  const spent = c.metric_usd + c.reflection_usd;
  const next = nextIterationCostEstimate(c, minibatchSize, valSize) * iterations;
  if (spent + next <= maxUsd) return null;
  const what = iterations > 1 ? `the next iteration and the ${iterations - 1} in flight` : 'the next iteration';
  return `cost budget: spent $${spent.toFixed(4)} of max_cost_usd $${maxUsd}; ${what} (~$${next.toFixed(4)}) would exceed it`;
}

/** The USD a run's metric calls have cost so far (carried across continue-as-new). */
export interface MetricSpend {
  metric_cost_usd: number;
  /** the highest USD per metric call of any single evaluation so far */
  max_usd_per_call: number;
}

export const noMetricSpend = (): MetricSpend => ({ metric_cost_usd: 0, max_usd_per_call: 0 });

/** Add one evaluation's cost (of `problems` problems) to the run's spend. */
export function recordMetricCost(s: MetricSpend, costUsd: number, problems: number): void {
  s.metric_cost_usd += costUsd;
  if (problems) s.max_usd_per_call = Math.max(s.max_usd_per_call, costUsd / problems);
}

/** What the cost stop reads: the metric spend, with the calls and reflection usage counted in the state. */
export function costSoFar(s: MetricSpend, state: { budget: { metric_calls: number }; reflection_usage: { calls: number; cost_usd: number | null } }): CostSoFar {
  return {
    metric_usd: s.metric_cost_usd,
    metric_calls: state.budget.metric_calls,
    max_usd_per_call: s.max_usd_per_call,
    reflection_usd: state.reflection_usage.cost_usd ?? 0,
    reflection_calls: state.reflection_usage.calls,
  };
}
