/**
 * The GEPA loop as pure state transitions, so the workflow stays thin: it asks `planIteration`
 * what to do, runs the evaluations and the reflection, and reports back through the `record*`
 * functions. All randomness comes from `state.rng`; the state is plain JSON.
 */
import { createRng } from '../rng';
import { mean } from '../metrics';
import { acceptIfImproved, isPerfect, keepsFormat } from './acceptance';
import { canAfford, checkInitialBudget, spend, type BudgetRule, type Reservation } from './budget';
import { callsFor, stopDecision, type StopCause, type StopInputs } from './stop';
import { inheritRoundRobin, renderSystemPrompt, selectComponents } from './components';
import { bestCandidate, liveCandidates, paretoFronts, prunePool, selectParentFromFront } from './pareto';
import { initSampler, nextMinibatch } from './sampler';
import { acceptMerge, chooseMergeTriplet, initMergeState, markMergeTried, MERGE_SUBSAMPLE, mergeSubsample, mergeTriplets } from './merge';
import type { Candidate, GepaOptions, GepaState, ReflectionUsage } from './types';


export function initState(args: {
  seed: number;
  components: Record<string, string>;
  val_size: number;
  train_size: number;
  max_metric_calls: number;
  minibatch_size: number;
  rollouts_per_problem?: number;
  /** gepa.budget_rule (default strict) */
  budget_rule?: BudgetRule;
  /** keep an evaluation cache (evalCache.ts) */
  cache_evaluation?: boolean;
}): GepaState {
  const k = args.rollouts_per_problem ?? 1;
  checkInitialBudget(args.max_metric_calls, args.val_size, Math.min(args.minibatch_size, Math.max(1, args.train_size)), k);
  if (args.train_size <= 0) throw new Error('the train set is empty: GEPA draws its reflection minibatches from it');
  const names = Object.keys(args.components);
  if (!names.length) throw new Error('a candidate needs at least one component');
  return {
    component_names: names,
    candidates: [],
    budget: args.budget_rule === 'reference' ? { metric_calls: 0, max_metric_calls: args.max_metric_calls, rule: 'reference' } : { metric_calls: 0, max_metric_calls: args.max_metric_calls },
    val_size: args.val_size,
    train_size: args.train_size,
    rng: createRng(args.seed),
    sampler: initSampler(),
    rr_cursor: {},
    rejected: Object.fromEntries(names.map((n) => [n, []])),
    best_id: 0,
    iterations_without_improvement: 0,
    counters: { iterations: 0, accepted: 0, skipped_perfect: 0, rejected: 0, rejected_unfenced: 0, reflection_errors: 0, cache_hits: 0 },
    reflection_usage: emptyUsage(),
    merge: initMergeState(),
    stop_reason: null,
    rollouts_per_problem: k,
    eval_cache: args.cache_evaluation ? {} : null,
  };
}

/**
 * How an evaluation is paid: from the reservation of the iteration in flight that ran it (parallel.ts),
 * and for how many problems (the others came from the evaluation cache, eval_cache.ts, and cost nothing).
 */
export interface Payment {
  from?: Reservation;
  /** problems actually sampled (default: all of them) */
  paid?: number;
}

const paidCalls = (state: GepaState, n: number, pay?: Payment) => callsFor(state, pay?.paid ?? n);

/** A candidate scored on the full val set, and the iteration that produced it (default: the latest planned). */
export interface EvaluatedCandidate {
  components: Record<string, string>;
  parents: number[];
  val_scores: number[];
  iteration?: number;
}

/** Add a candidate scored on the full val set (the seed, or an accepted child); spends val_size (less its cache hits). */
export function addEvaluatedCandidate(state: GepaState, c: EvaluatedCandidate, pay?: Payment): Candidate {
  if (c.val_scores.length !== state.val_size) {
    throw new Error(`a candidate needs one val score per val instance (${state.val_size}); got ${c.val_scores.length}`);
  }
  spend(state.budget, paidCalls(state, state.val_size, pay), pay?.from);
  const cand: Candidate = {
    id: state.candidates.length,
    components: { ...c.components },
    parents: c.parents.slice(),
    iteration: c.iteration ?? state.counters.iterations,
    val_scores: c.val_scores.slice(),
    val_mean: mean(c.val_scores),
    metric_calls: state.budget.metric_calls,
  };
  const prevBest = state.candidates.length ? bestCandidate(state.candidates).val_mean : -Infinity;
  state.candidates.push(cand);
  inheritRoundRobin(state.rr_cursor, cand.id, cand.parents);
  if (cand.val_mean > prevBest) {
    state.best_id = cand.id;
    state.iterations_without_improvement = 0;
  }
  return cand;
}

export type Plan =
  | { kind: 'stop'; cause: StopCause; reason: string }
  /** a stop decision while iterations are in flight: dispatch nothing, wait for one to land, then ask again (what lands can change the decision) */
  | { kind: 'wait'; cause: StopCause; reason: string }
  | { kind: 'reflect'; parent_id: number; minibatch: number[] }
  | { kind: 'merge'; parent_ids: [number, number]; ancestor: number; components: Record<string, string>; sources: number[]; subsample: number[] };

/**
 * The next iteration: stop (every cause in one place, stop.ts; its reason becomes the run's
 * stop_reason), a scheduled merge, or a reflective mutation of a parent from the front on the next
 * minibatch.
 */
export function planIteration(state: GepaState, opts: GepaOptions, inputs: StopInputs = {}): Plan {
  const stop = stopDecision(state, opts, inputs);
  if (stop && (inputs.in_flight ?? 0) > 0) return { kind: 'wait', ...stop };
  if (stop) {
    state.stop_reason = stop.reason;
    return { kind: 'stop', ...stop };
  }
  state.counters.iterations += 1;
  state.iterations_without_improvement += 1;
  const merge = planMerge(state, opts);
  if (merge) return merge;
  const parent_id = selectParentFromFront(state.candidates, state.rng);
  const minibatch = nextMinibatch(state.sampler, state.train_size, opts.minibatch_size, state.rng);
  return { kind: 'reflect', parent_id, minibatch };
}

/**
 * The components the reflector rewrites on this iteration, chosen only once the parent's minibatch
 * was not perfect (as the reference): a skipped iteration leaves the round-robin pointer where it was.
 */
export function componentsToReflect(state: GepaState, parentId: number, opts: GepaOptions): string[] {
  return selectComponents(state.component_names, state.rr_cursor, parentId, opts.component_selector);
}

/** A scheduled merge, tried on the iteration right after an accepted child, when a triplet exists and fits the budget. */
function planMerge(state: GepaState, opts: GepaOptions): Plan | null {
  const m = state.merge;
  const scheduled = !!opts.use_merge && m.due > 0 && m.last_found_new;
  m.last_found_new = false;
  if (!scheduled) return null;
  const t = chooseMergeTriplet(state.candidates, mergeTriplets(state.candidates, state.component_names, m), state.rng);
  if (!t) return null; // stays due: tried again after the next accepted child
  const [a, b] = [state.candidates[t.a], state.candidates[t.b]];
  const subsample = mergeSubsample(a.val_scores, b.val_scores, MERGE_SUBSAMPLE, state.rng);
  if (!canAfford(state.budget, callsFor(state, subsample.length + state.val_size))) return null;
  markMergeTried(m, t);
  m.due -= 1;
  m.tested += 1;
  return { kind: 'merge', parent_ids: [t.a, t.b], ancestor: t.ancestor, components: t.merged.components, sources: t.merged.sources, subsample };
}

/** The merged child's subsample evaluation: spends its calls; says whether it goes on to the val set. */
export function judgeMerge(state: GepaState, plan: Extract<Plan, { kind: 'merge' }>, childScores: readonly number[], pay?: Payment): { accept: boolean; parent_sums: [number, number]; child_sum: number } {
  if (childScores.length !== plan.subsample.length) throw new Error(`a merge subsample needs ${plan.subsample.length} scores; got ${childScores.length}`);
  spend(state.budget, paidCalls(state, childScores.length, pay), pay?.from);
  const [a, b] = plan.parent_ids.map((id) => plan.subsample.map((i) => state.candidates[id].val_scores[i]));
  const sum = (xs: readonly number[]) => xs.reduce((x, y) => x + y, 0);
  return { accept: acceptMerge(a, b, childScores), parent_sums: [sum(a), sum(b)], child_sum: sum(childScores) };
}

export function recordMergeAccepted(state: GepaState, c: EvaluatedCandidate, opts?: GepaOptions, pay?: Payment): Candidate {
  state.merge.accepted += 1;
  const cand = addEvaluatedCandidate(state, c, pay);
  if (opts?.pool_size) prunePool(state.candidates, opts.pool_size);
  return cand;
}

/** The parent's minibatch evaluation: spends its calls; true when reflection should be skipped (all perfect). */
export function recordParentMinibatch(state: GepaState, scores: readonly number[], opts: GepaOptions, pay?: Payment): boolean {
  spend(state.budget, paidCalls(state, scores.length, pay), pay?.from);
  if (isPerfect(scores, opts.perfect_score)) {
    state.counters.skipped_perfect += 1;
    return true;
  }
  return false;
}

/** The child's minibatch evaluation: spends its calls; says whether it goes on to the val set. */
export function judgeChild(
  state: GepaState,
  parent: { scores: readonly number[]; format_ok: readonly boolean[] },
  child: { scores: readonly number[]; format_ok: readonly boolean[] },
  opts: Pick<GepaOptions, 'format_guard' | 'min_improvement_threshold'>,
  pay?: Payment,
): { accept: boolean; reason: 'not better' | 'format regression' | null } {
  spend(state.budget, paidCalls(state, child.scores.length, pay), pay?.from);
  if (!acceptIfImproved(parent.scores, child.scores, opts.min_improvement_threshold ?? 0)) return { accept: false, reason: 'not better' };
  if (opts.format_guard && !keepsFormat(parent.format_ok, child.format_ok)) return { accept: false, reason: 'format regression' };
  return { accept: true, reason: null };
}

const emptyUsage = (): ReflectionUsage => ({ calls: 0, tokens_in: 0, tokens_out: 0, cost_usd: null });

/** Add one reflection activity's usage to the run's totals. */
export function recordReflectionUsage(
  state: GepaState,
  r: { calls: number; usage: { prompt_tokens: number; completion_tokens: number }; cost_usd: number | null },
): ReflectionUsage {
  const u = state.reflection_usage;
  u.calls += r.calls;
  u.tokens_in += r.usage.prompt_tokens;
  u.tokens_out += r.usage.completion_tokens;
  if (r.cost_usd !== null) u.cost_usd = (u.cost_usd ?? 0) + r.cost_usd;
  return u;
}

/** An accepted reflective child; it schedules one merge while fewer than max_merge_invocations are tried or due. */
export function recordAccepted(state: GepaState, c: EvaluatedCandidate, opts?: GepaOptions, pay?: Payment): Candidate {
  state.counters.accepted += 1;
  const m = state.merge;
  m.last_found_new = true;
  if (opts?.use_merge && m.tested + m.due < (opts.max_merge_invocations ?? 5)) m.due += 1;
  const cand = addEvaluatedCandidate(state, c, pay);
  if (opts?.pool_size) prunePool(state.candidates, opts.pool_size);
  return cand;
}

export function candidatePrompt(state: GepaState, c: Candidate): string {
  return renderSystemPrompt(c.components, state.component_names);
}

export interface GepaSummary {
  iteration: number;
  metric_calls: number;
  max_metric_calls: number;
  /** val rows each candidate is scored on */
  val_size: number;
  best_val_score: number | null;
  best_candidate_id: number | null;
  best_candidate_excerpt: string;
  n_candidates: number;
  /** candidates still in the pool (all of them without gepa.pool_size) */
  n_live_candidates: number;
  counters: GepaState['counters'];
  reflection_usage: ReflectionUsage;
  merges: { tested: number; accepted: number };
  stop_reason: string | null;
}

export function summarizeState(state: GepaState): GepaSummary {
  const best = state.candidates.length ? bestCandidate(state.candidates) : null;
  return {
    iteration: state.counters.iterations,
    metric_calls: state.budget.metric_calls,
    max_metric_calls: state.budget.max_metric_calls,
    val_size: state.val_size,
    best_val_score: best ? best.val_mean : null,
    best_candidate_id: best ? best.id : null,
    best_candidate_excerpt: best ? candidatePrompt(state, best).slice(0, 200) : '',
    n_candidates: state.candidates.length,
    n_live_candidates: liveCandidates(state.candidates).length,
    counters: { ...state.counters },
    reflection_usage: { ...state.reflection_usage },
    merges: { tested: state.merge.tested, accepted: state.merge.accepted },
    stop_reason: state.stop_reason,
  };
}

export function frontier(state: GepaState): { fronts: number[][]; best_per_instance: number[] } {
  const fronts = paretoFronts(liveCandidates(state.candidates));
  return { fronts, best_per_instance: fronts.map((f, i) => (f.length ? state.candidates[f[0]].val_scores[i] : 0)) };
}
