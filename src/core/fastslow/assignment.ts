/**
 * Which prompt each rollout of an RL batch is sampled under (FST: a problem's group is drawn under
 * several prompts of the pool). Per problem: the child on trial and its parent first (so the trial
 * compares them on the same problems), then members drawn without replacement with probability
 * proportional to their weight until prompts_per_group prompts are chosen; the problem's group_size
 * rollouts are split evenly over them, the first chosen taking the remainder. Pure: the draws come
 * from the state's RNG, so a resumed run plans the same batches.
 */
import { weightedChoice, type RngState } from '../rng';
import type { FastSlowState } from './pool';
import { members } from './pool';
import { frontWinsOf } from './window';

/** A member's weight in the draw: 1 + the window problems it wins (the 1 keeps an unscored or stale member drawable). */
export function assignmentWeights(state: FastSlowState, step: number, window: number): Array<{ id: number; weight: number }> {
  const wins = frontWinsOf(state, step, window);
  return members(state).map((p) => ({ id: p.id, weight: 1 + (wins.get(p.id) ?? 0) }));
}

/** How group_size rollouts split over k prompts: evenly, the first `group_size % k` one more. */
export function splitGroup(groupSize: number, k: number): number[] {
  if (k < 1 || k > groupSize) throw new Error(`cannot split a group of ${groupSize} rollouts over ${k} prompts`);
  return Array.from({ length: k }, (_, i) => Math.floor(groupSize / k) + (i < groupSize % k ? 1 : 0));
}

export interface AssignmentInput {
  n_problems: number;
  group_size: number;
  prompts_per_group: number;
  /** the members and their draw weights, ascending id */
  weighted: ReadonlyArray<{ id: number; weight: number }>;
  trial: { child: number; parent: number } | null;
  rng: RngState;
}

/** prompts_PG[p][g]: the prompt id of problem p's g-th rollout (a prompt's rollouts are contiguous). */
export function planPromptAssignment(a: AssignmentInput): number[][] {
  if (!a.weighted.length && !a.trial) throw new Error('the prompt pool is empty: nothing to sample under');
  const out: number[][] = [];
  for (let p = 0; p < a.n_problems; p++) {
    const chosen: number[] = a.trial ? [a.trial.parent, a.trial.child] : [];
    const rest = a.weighted.filter((w) => !chosen.includes(w.id));
    const k = Math.min(a.group_size, Math.max(chosen.length, Math.min(a.prompts_per_group, chosen.length + rest.length)));
    while (chosen.length < k) {
      const i = weightedChoice(a.rng, rest.map((w) => w.weight));
      chosen.push(rest[i].id);
      rest.splice(i, 1);
    }
    const counts = splitGroup(a.group_size, chosen.length);
    out.push(chosen.flatMap((id, i) => Array.from({ length: counts[i] }, () => id)));
  }
  return out;
}
