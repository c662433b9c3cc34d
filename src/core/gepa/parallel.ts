/**
 * Parallel proposals (gepa.parallel_proposals = P): up to P iterations in flight at once. Each one
 * picks its parent from the front and its minibatch when it is dispatched (planIteration), and
 * lands its result (spends, counters, an accepted candidate) when it completes. The budget stays a
 * promise: before dispatch an iteration reserves its worst case (budget.ts `reserve`), its
 * evaluations are paid from that reservation, and what it did not spend is released when it lands
 * (`release`), so spent + reserved never exceeds max_metric_calls (strict rule). A stop decision
 * taken while iterations are in flight dispatches nothing and waits for them (planIteration's
 * `wait`): what lands can change it (a freed reservation, an improvement). P = 1 is the sequential
 * loop: each iteration lands before the next is planned, every decision as without this file.
 */
import { callsFor } from './stop';
import { reflectiveIterationCost } from './budget';
import type { Plan } from './engine';
import type { GepaState } from './types';

/** The most an iteration of this plan can spend: a reflection's two minibatches and an accepted child's val set; a merge's subsample and its val set. */
export function planWorstCase(state: GepaState, plan: Extract<Plan, { kind: 'reflect' | 'merge' }>): number {
  return plan.kind === 'reflect' ? callsFor(state, reflectiveIterationCost(plan.minibatch.length, state.val_size)) : callsFor(state, plan.subsample.length + state.val_size);
}

/** Whether another iteration may be dispatched beside `inFlight` others. */
export function mayDispatch(inFlight: number, parallelProposals: number): boolean {
  return inFlight < parallelProposals;
}
