/**
 * Fast–slow training's prompt pool (DESIGN §5 "Fast–slow training"; FST arXiv 2605.12484): the
 * prompts RL samples under, their per-problem rewards from recent RL steps, and the child on trial.
 * Pure: the workflow keeps the state and carries it across continue-as-new.
 */
import type { RngState } from '../rng';
import type { RejectedProposal, ReflectionUsage } from '../gepa/types';

export type PromptStatus = 'member' | 'trial' | 'rejected' | 'pruned';

export interface PoolPrompt {
  id: number;
  text: string;
  /** the prompt it was reflected from (null: the seed, or one added by set_prompt) */
  parent: number | null;
  origin: 'seed' | 'gepa' | 'set_prompt';
  /** the RL step (batch) from which it was sampled */
  born: number;
  status: PromptStatus;
}

/** One prompt's rollouts on one problem at one RL step: their mean reward and how many there were. */
export interface ScoreEntry {
  step: number;
  prompt: number;
  /** index into the train split */
  problem: number;
  mean: number;
  n: number;
}

/** A child on trial: it gets rollouts beside its parent on every problem of the next `batches_left` batches. */
export interface Trial {
  child: number;
  parent: number;
  /** the first step it was sampled in */
  from_step: number;
  batches_left: number;
  /** the GEPA round that proposed it */
  round: number;
}

export interface FastSlowCounters {
  rounds: number;
  proposed: number;
  accepted: number;
  rejected: number;
  skipped_perfect: number;
  reflection_errors: number;
  set_prompts: number;
}

export interface FastSlowState {
  pool: PoolPrompt[];
  entries: ScoreEntry[];
  rng: RngState;
  trial: Trial | null;
  /** rejected proposals shown to the reflector, newest last */
  rejected: RejectedProposal[];
  counters: FastSlowCounters;
  reflection_usage: ReflectionUsage;
}

export function initFastSlowState(seedPrompt: string, rng: RngState): FastSlowState {
  return {
    pool: [{ id: 0, text: seedPrompt, parent: null, origin: 'seed', born: 0, status: 'member' }],
    entries: [],
    rng,
    trial: null,
    rejected: [],
    counters: { rounds: 0, proposed: 0, accepted: 0, rejected: 0, skipped_perfect: 0, reflection_errors: 0, set_prompts: 0 },
    reflection_usage: { calls: 0, tokens_in: 0, tokens_out: 0, cost_usd: null },
  };
}

/** The prompts RL draws from by weight (the child on trial is sampled by the planner's own rule). */
export function members(state: FastSlowState): PoolPrompt[] {
  return state.pool.filter((p) => p.status === 'member');
}

/** Members and the child on trial: the prompts a batch may sample under. */
export function livePrompts(state: FastSlowState): PoolPrompt[] {
  return state.pool.filter((p) => p.status === 'member' || p.status === 'trial');
}

export function promptById(state: FastSlowState, id: number): PoolPrompt {
  const p = state.pool[id];
  if (!p || p.id !== id) throw new Error(`no prompt ${id} in the pool (it has ${state.pool.length})`);
  return p;
}

/** A new prompt in the pool: a member (set_prompt) or a child on trial (a GEPA proposal); returns it. */
export function addPrompt(state: FastSlowState, p: Omit<PoolPrompt, 'id'>): PoolPrompt {
  const added = { ...p, id: state.pool.length };
  state.pool.push(added);
  return added;
}

/** Entries older than `keepSteps` steps before `step` are dropped (neither the window nor a trial reads them). */
export function pruneEntries(state: FastSlowState, step: number, keepSteps: number): void {
  state.entries = state.entries.filter((e) => e.step > step - keepSteps);
}
