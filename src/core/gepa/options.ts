/**
 * The engine's options from the run's gepa settings: one mapping, so a setting the config accepts
 * reaches the rule that reads it.
 */
import type { GepaOptions } from './types';

/**
 * The gepa settings the engine reads: a structural slice of the config's gepa section, the engine's
 * options with the ones the config always fills required.
 */
export type GepaSettings = GepaOptions & Required<Pick<GepaOptions, 'use_merge' | 'max_merge_invocations' | 'min_improvement_threshold' | 'format_guard'>>;

export function gepaOptions(g: GepaSettings): GepaOptions {
  return {
    minibatch_size: g.minibatch_size,
    component_selector: g.component_selector,
    max_iterations: g.max_iterations,
    score_threshold: g.score_threshold,
    max_no_improvement: g.max_no_improvement,
    perfect_score: g.perfect_score,
    rejected_memory: g.rejected_memory,
    use_merge: g.use_merge,
    max_merge_invocations: g.max_merge_invocations,
    pool_size: g.pool_size,
    min_improvement_threshold: g.min_improvement_threshold,
    format_guard: g.format_guard,
    max_cost_usd: g.max_cost_usd,
    parallel_proposals: g.parallel_proposals,
  };
}
