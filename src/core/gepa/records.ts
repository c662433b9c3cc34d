/**
 * The rows a GEPA run writes, built from its state: metrics.jsonl (one row per event, names under
 * gepa/ and final/), prompts.jsonl (one row per candidate) and proposals.jsonl (one row per
 * reflection, or per merge, with its outcome). Keys make every write idempotent.
 */
import { candidatePrompt, summarizeState } from './engine';
import type { ProposalOutcome } from './proposal';
import type { GepaState } from './types';

type Row = { key: string; step: number } & Record<string, unknown>;

/** What each metrics row of a run says happened. */
export type GepaEvent = 'seed' | 'skip_perfect' | 'rejected_reflection' | 'rejected' | 'accepted' | 'rejected_merge' | 'accepted_merge' | 'final';

/** The run's totals after an event, and the event's own columns. */
export function metricsRow(state: GepaState, event: GepaEvent, columns: Record<string, unknown> = {}, iteration = state.counters.iterations): Row {
  const sum = summarizeState(state);
  return {
    key: `gepa-${iteration}-${sum.metric_calls}`,
    step: iteration,
    'gepa/iteration': iteration,
    'gepa/metric_calls': sum.metric_calls,
    'gepa/best_val_score': sum.best_val_score,
    'gepa/n_candidates': sum.n_candidates,
    'gepa/accepted': state.counters.accepted,
    'gepa/rejected': state.counters.rejected,
    'gepa/skipped_perfect': state.counters.skipped_perfect,
    'gepa/cache_hits': state.counters.cache_hits,
    'gepa/reflection_calls': sum.reflection_usage.calls,
    'gepa/reflection_tokens_in': sum.reflection_usage.tokens_in,
    'gepa/reflection_tokens_out': sum.reflection_usage.tokens_out,
    'gepa/reflection_cost_usd': sum.reflection_usage.cost_usd,
    'gepa/event': event,
    ...columns,
  };
}

/** The test-split scores of gepa.eval_test. */
export interface FinalTest {
  test_score: number;
  seed_test_score: number;
  n_test: number;
}

/**
 * The last metrics row: best and seed val scores, and with gepa.eval_test their test scores; also
 * under the names tinker-cookbook's GEPA recipe logs (final/best_score, final/num_candidates,
 * final/total_metric_calls, final/test_score), so a script reading those works on our runs.
 */
export function finalMetricsRow(state: GepaState, test: FinalTest | null): Row {
  return {
    ...metricsRow(state, 'final'),
    key: 'gepa-final',
    'final/best_score': summarizeState(state).best_val_score,
    'final/seed_score': state.candidates[0].val_mean,
    'final/num_candidates': summarizeState(state).n_candidates,
    'final/total_metric_calls': summarizeState(state).metric_calls,
    ...(test ? { 'final/test_score': test.test_score, 'final/seed_test_score': test.seed_test_score, 'final/n_test': test.n_test } : {}),
  };
}

/**
 * best_prompt.txt of the run directory, as tinker-cookbook's GEPA recipe writes it: each component
 * of the best candidate, in order, as `=== <name> ===`, its text, and a blank line.
 */
export function bestPromptText(state: GepaState, id: number): string {
  const c = state.candidates[id];
  return state.component_names.map((name) => `=== ${name} ===\n${c.components[name]}\n\n`).join('');
}

/** One candidate of prompts.jsonl; `phase` is the alternation's folder, or 'gepa'. */
export function promptRow(state: GepaState, id: number, phase: string | undefined): Record<string, unknown> & { key: string } {
  const c = state.candidates[id];
  return {
    key: `cand-${c.id}`,
    candidate_id: c.id,
    parent_ids: c.parents,
    components: c.components,
    text: candidatePrompt(state, c),
    val_score: c.val_mean,
    val_scores: c.val_scores,
    iteration: c.iteration,
    metric_calls: c.metric_calls,
    phase: phase ?? 'gepa',
  };
}

export type ProposalRow = Record<string, unknown> & { component: string };

/** The start of a proposal's text kept in proposals.jsonl. */
export const PROPOSAL_ROW_TEXT_CHARS = 2000;

/** One reflection on `component` as proposals.jsonl records it. */
export function reflectionProposal(component: string, p: ProposalOutcome): ProposalRow {
  return {
    component,
    ok: p.ok,
    reason: p.reason,
    text: p.text.slice(0, PROPOSAL_ROW_TEXT_CHARS),
    first_reply_unfenced: p.first_reply_unfenced,
    first_reply_excerpt: p.first_reply_excerpt,
    closed_at_bound: p.closed_at_bound,
    reflection_calls: p.calls,
    tokens_in: p.usage.prompt_tokens,
    tokens_out: p.usage.completion_tokens,
    cost_usd: p.cost_usd,
  };
}

/** The rows of one iteration's proposals with their outcome ('rejected_reflection', a verdict's reason, 'accepted as candidate N' ...). */
export function proposalRows(iteration: number, parentId: number, rows: readonly ProposalRow[], outcome: string): Array<ProposalRow & { key: string }> {
  return rows.map((r) => ({ key: `prop-${iteration}-${r.component}`, iteration, parent_id: parentId, outcome, ...r }));
}

/** A minibatch evaluation: per problem, the mean score and the spread over its rollouts. */
export interface MinibatchScores {
  scores: number[];
  spreads: number[];
}

const total = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const meanOf = (xs: readonly number[]) => total(xs) / Math.max(1, xs.length);

/**
 * The parent-vs-child columns of a metrics row: summed scores, the accepted child's val score, and
 * with several rollouts per problem the mean spread.
 */
export function minibatchMetricColumns(parent: MinibatchScores, child: MinibatchScores, rolloutsPerProblem: number, childVal?: number): Record<string, number> {
  return {
    'gepa/parent_minibatch': total(parent.scores),
    'gepa/child_minibatch': total(child.scores),
    ...(childVal !== undefined ? { 'gepa/child_val': childVal } : {}),
    ...(rolloutsPerProblem > 1 ? { 'gepa/parent_minibatch_spread': meanOf(parent.spreads), 'gepa/child_minibatch_spread': meanOf(child.spreads) } : {}),
  };
}

/** The minibatch scores behind a verdict, per problem, as each proposal row records them. */
export function minibatchProposalColumns(parent: MinibatchScores, child: MinibatchScores, rolloutsPerProblem: number): Record<string, number[]> {
  return {
    parent_minibatch: parent.scores,
    child_minibatch: child.scores,
    ...(rolloutsPerProblem > 1 ? { parent_minibatch_spread: parent.spreads, child_minibatch_spread: child.spreads } : {}),
  };
}
