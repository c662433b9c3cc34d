import type { Budget } from './budget';
import type { RngState } from '../rng';
import type { EvalCache } from './evalCache';

/** A candidate program: named text components, the system prompt first. */
export interface Candidate {
  id: number;
  components: Record<string, string>;
  parents: number[];
  iteration: number;
  /** score per val instance (same order as the val set) */
  val_scores: number[];
  val_mean: number;
  /** metric calls spent when it was accepted */
  metric_calls: number;
  /** dropped from the pool (gepa.pool_size): no longer a parent or on a front; never the best */
  pruned?: boolean;
}

export interface RejectedProposal {
  text: string;
  reason: 'unfenced' | 'unclosed fence' | 'empty' | 'unchanged' | 'truncated' | 'too long' | 'not better' | 'format regression' | 'reflection error' | 'task guard';
  parent_score: number | null;
  child_score: number | null;
  /** the reflector's first reply had no fenced block (a repair turn was asked for) */
  first_reply_unfenced?: boolean;
}

/** Reflection LM usage summed over the run (reflection calls are not metric calls). */
export interface ReflectionUsage {
  calls: number;
  tokens_in: number;
  tokens_out: number;
  /** null while every call so far had an unknown price (local models) */
  cost_usd: number | null;
}

export interface SamplerState {
  epoch: number;
  order: number[];
  pos: number;
}

export interface GepaCounters {
  iterations: number;
  accepted: number;
  skipped_perfect: number;
  rejected: number;
  /** replies that held no usable proposal (truncated, unclosed fence, empty, too long, unfenced with fence_repair) */
  rejected_unfenced: number;
  reflection_errors: number;
  /** val rows served by the evaluation cache (evalCache.ts): not sampled, not paid */
  cache_hits: number;
}

/** The merge proposer's state (merge.ts). */
export interface MergeState {
  /** merges scheduled and not yet tried */
  due: number;
  /** merges tried (a triplet was found and its child evaluated on the subsample) */
  tested: number;
  accepted: number;
  /** the previous iteration added a candidate (reflective child) */
  last_found_new: boolean;
  /** "a,b,ancestor" of every tried triplet */
  tried_triplets: string[];
  /** "a,b:source per component" of every tried merge */
  tried_merges: string[];
}

export interface GepaState {
  component_names: string[];
  candidates: Candidate[];
  budget: Budget;
  val_size: number;
  train_size: number;
  rng: RngState;
  sampler: SamplerState;
  /** next component index per candidate id (round-robin) */
  rr_cursor: Record<string, number>;
  /** last rejected proposals per component, newest last */
  rejected: Record<string, RejectedProposal[]>;
  best_id: number;
  iterations_without_improvement: number;
  counters: GepaCounters;
  reflection_usage: ReflectionUsage;
  /** merge bookkeeping */
  merge: MergeState;
  /** why the run stopped (stop.ts), null while it runs */
  stop_reason: string | null;
  /** samples per problem in every evaluation, each a metric call */
  rollouts_per_problem: number;
  /** val scores already measured, by prompt and row (gepa.cache_evaluation); null when the run does not cache */
  eval_cache: EvalCache | null;
}

export interface GepaOptions {
  minibatch_size: number;
  component_selector: 'round_robin' | 'all';
  max_iterations?: number;
  score_threshold?: number;
  max_no_improvement?: number;
  perfect_score: number;
  /** how many rejected proposals per component are remembered and shown to the reflector */
  rejected_memory: number;
  /** system-aware merge of two front candidates (merge.ts) */
  use_merge?: boolean;
  max_merge_invocations?: number;
  /** at most this many candidates kept (pruned by the Pareto rule, never the best) */
  pool_size?: number;
  /** a child is accepted only if its minibatch mean beats the parent's by at least this (0: strictly better sum) */
  min_improvement_threshold?: number;
  /** also reject a child that lowers the format-ok count on the minibatch */
  format_guard?: boolean;
  /** stop before an iteration would push the USD spent past this (cost.ts) */
  max_cost_usd?: number;
  /** iterations in flight at once (parallel.ts); default 1 */
  parallel_proposals?: number;
}
