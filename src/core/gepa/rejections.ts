/**
 * GEPA's memory of rejected proposals: each rejection is counted by its kind and remembered (newest
 * last, at most gepa.rejected_memory per component) so the reflector is shown what not to repeat.
 */
import type { GepaState, RejectedProposal } from './types';

/** Replies that held no usable proposal (counted as rejected_unfenced). */
const NO_PROPOSAL: ReadonlySet<RejectedProposal['reason']> = new Set(['unfenced', 'unclosed fence', 'empty', 'truncated', 'too long']);
/** Kept in a remembered rejection: the start of its text. */
export const REMEMBERED_TEXT_CHARS = 2000;

export function recordRejected(state: GepaState, component: string, p: RejectedProposal, memory: number): void {
  state.counters.rejected += 1;
  if (NO_PROPOSAL.has(p.reason)) state.counters.rejected_unfenced += 1;
  if (p.reason === 'reflection error') state.counters.reflection_errors += 1;
  const list = (state.rejected[component] ??= []);
  list.push({ ...p, text: p.text.slice(0, REMEMBERED_TEXT_CHARS) });
  while (list.length > memory) list.shift();
}

/** A reflection that returned no usable text for `component` (its reason says why); no scores. */
export function recordRejectedReflection(
  state: GepaState,
  component: string,
  p: { text: string; reason: RejectedProposal['reason'] | null; first_reply_unfenced: boolean },
  memory: number,
): void {
  recordRejected(state, component, { text: p.text, reason: p.reason ?? 'empty', parent_score: null, child_score: null, first_reply_unfenced: p.first_reply_unfenced }, memory);
}

/**
 * A child that lost on the minibatch: every component it rewrote is remembered with the summed
 * minibatch scores of parent and child and the verdict's reason.
 */
export function recordRejectedChild(
  state: GepaState,
  c: {
    parent: Record<string, string>;
    child: Record<string, string>;
    components: readonly string[];
    reason: RejectedProposal['reason'];
    parent_score: number;
    child_score: number;
    /** components whose first reflection reply had no fence */
    unfenced_first: ReadonlySet<string>;
  },
  memory: number,
): void {
  for (const comp of c.components) {
    if (c.child[comp] === c.parent[comp]) continue;
    recordRejected(state, comp, { text: c.child[comp], reason: c.reason, parent_score: c.parent_score, child_score: c.child_score, first_reply_unfenced: c.unfenced_first.has(comp) }, memory);
  }
}
