/**
 * When a GEPA run stops: one decision, taken before each iteration, for every cause (the `stop`
 * signal, the USD budget, the iteration limits and the metric-call budget). The run records the
 * decision's reason text as its stop_reason.
 */
import { canAfford, reflectiveIterationCost } from './budget';
import { costBudgetStop, type CostSoFar } from './cost';
import { bestCandidate } from './pareto';
import type { GepaOptions, GepaState } from './types';

/** Every cause a GEPA run can stop for, checked in this order. */
export const STOP_CAUSES = ['stop_signal', 'cost_budget', 'max_iterations', 'score_threshold', 'max_no_improvement', 'budget'] as const;
export type StopCause = (typeof STOP_CAUSES)[number];

export interface StopDecision {
  cause: StopCause;
  /** the run's stop_reason: what stopped it, with the numbers behind it */
  reason: string;
}

/** The stop_reason of a run ended by the `stop` signal. */
export const STOP_SIGNAL = 'stop_signal';

/** What the engine cannot see in its state: a `stop` request, and the USD spent so far (for gepa.max_cost_usd). */
export interface StopInputs {
  stop_requested?: boolean;
  cost?: CostSoFar;
  /** iterations dispatched and not yet landed (gepa.parallel_proposals): their USD is not in `cost` yet */
  in_flight?: number;
}

/** Metric calls of evaluating n problems: each of its rollouts_per_problem samples is one. */
export const callsFor = (state: GepaState, n: number) => n * state.rollouts_per_problem;

/** null while the run goes on; else the first cause (in STOP_CAUSES order) that ends it. */
export function stopDecision(state: GepaState, opts: GepaOptions, inputs: StopInputs = {}): StopDecision | null {
  if (inputs.stop_requested) return { cause: 'stop_signal', reason: STOP_SIGNAL };
  const costStop = inputs.cost ? costBudgetStop(opts.max_cost_usd, inputs.cost, opts.minibatch_size, state.val_size, 1 + (inputs.in_flight ?? 0)) : null;
  if (costStop) return { cause: 'cost_budget', reason: costStop };
  if (opts.max_iterations !== undefined && state.counters.iterations >= opts.max_iterations) {
    return { cause: 'max_iterations', reason: `max_iterations=${opts.max_iterations} reached` };
  }
  const best = state.candidates.length ? bestCandidate(state.candidates).val_mean : null;
  if (opts.score_threshold !== undefined && best !== null && best >= opts.score_threshold) {
    return { cause: 'score_threshold', reason: `best val score ${best} >= score_threshold=${opts.score_threshold}` };
  }
  if (opts.max_no_improvement !== undefined && state.iterations_without_improvement >= opts.max_no_improvement) {
    return { cause: 'max_no_improvement', reason: `${state.iterations_without_improvement} iterations without improvement (max_no_improvement=${opts.max_no_improvement})` };
  }
  const next = callsFor(state, reflectiveIterationCost(Math.min(opts.minibatch_size, state.train_size), state.val_size));
  if (!canAfford(state.budget, next)) {
    const why = state.budget.rule === 'reference' ? 'the limit is reached (gepa.budget_rule=reference: checked before each iteration)' : `the next iteration could need ${next}`;
    return { cause: 'budget', reason: `budget: ${state.budget.metric_calls}/${state.budget.max_metric_calls} metric calls used; ${why}` };
  }
  return null;
}
