/**
 * The slow loop's decisions, pure (DESIGN §5 "Fast–slow training"): what a batch adds to the
 * window, when a GEPA round runs, its parent (GEPA's Pareto rule over the window), the RL rollouts
 * it reflects on (already sampled: no policy call for the parent), the trial's verdict and its
 * effect on the pool, pruning to pool_size (never the best), and the best prompt.
 */
import { nextFloat, shuffle } from '../rng';
import { bestCandidate, prunePool, selectParentFromFront } from '../gepa/pareto';
import { REMEMBERED_TEXT_CHARS } from '../gepa/rejections';
import type { RejectedProposal } from '../gepa/types';
import type { FastSlowState, PoolPrompt, ScoreEntry } from './pool';
import { addPrompt, members, promptById } from './pool';
import { judgeTrial, trialEvidence, type TrialVerdict } from './acceptance';
import { windowCandidates } from './window';

/** A batch's rollouts as window entries: per (problem, prompt) the mean reward and the count. */
export function batchEntries(step: number, indices_P: readonly number[], prompts_PG: readonly (readonly number[])[], rewards_PG: readonly (readonly number[])[]): ScoreEntry[] {
  const out: ScoreEntry[] = [];
  indices_P.forEach((problem, p) => {
    for (const prompt of [...new Set(prompts_PG[p])]) {
      const rs = rewards_PG[p].filter((_, g) => prompts_PG[p][g] === prompt);
      out.push({ step, prompt, problem, mean: rs.reduce((a, b) => a + b, 0) / rs.length, n: rs.length });
    }
  });
  return out;
}

/** A GEPA round runs after step `step` (0-based) when `step + 1` is a multiple of gepa_every, no child is on trial, and a later batch can judge it. */
export function isGepaStep(step: number, gepaEvery: number, nBatches: number, trialOpen: boolean): boolean {
  return gepaEvery > 0 && (step + 1) % gepaEvery === 0 && step + 1 < nBatches && !trialOpen;
}

/** The parent: among members with scores in the window, by GEPA's Pareto rule (core/gepa selectParentFromFront); the seed when none has any. */
export function selectParent(state: FastSlowState, step: number, window: number): number {
  const cands = windowCandidates(members(state), state.entries, step, window).filter((c) => c.val_scores.some((s) => s !== -Infinity));
  if (!cands.length) return members(state)[0]?.id ?? 0;
  return selectParentFromFront(cands, state.rng);
}

/**
 * The (step, problem) pairs of the parent's window rollouts the reflector is shown: `size` of them,
 * drawn from the state's RNG (GEPA's minibatch, taken from samples RL already paid for).
 */
export function reflectionMinibatch(state: FastSlowState, parent: number, step: number, window: number, size: number): Array<{ step: number; problem: number; mean: number }> {
  const mine = state.entries.filter((e) => e.prompt === parent && e.step <= step && e.step > step - window);
  return shuffle(state.rng, mine)
    .slice(0, size)
    .map((e) => ({ step: e.step, problem: e.problem, mean: e.mean }))
    .sort((a, b) => a.step - b.step || a.problem - b.problem);
}

/** GEPA skips reflection when the parent is already perfect on its minibatch. */
export function minibatchIsPerfect(mb: ReadonlyArray<{ mean: number }>, perfectScore: number): boolean {
  return mb.length > 0 && mb.every((e) => e.mean >= perfectScore);
}

/** One step's rollout rows in sampling order (row k = rollout k of the policy_sample call): its problem and prompt. */
export interface StepRows {
  step: number;
  row_problem: number[];
  row_prompt: number[];
}

/** The rows of `step` sampled on `problem` under `prompt` (their positions in the step's traces). */
export function traceRows(rows: StepRows, problem: number, prompt: number): number[] {
  return rows.row_problem.flatMap((q, k) => (q === problem && rows.row_prompt[k] === prompt ? [k] : []));
}

/** A proposal goes on trial from step `fromStep` for `batches` batches (child_eval=rollouts). */
export function startTrial(state: FastSlowState, text: string, parent: number, fromStep: number, batches: number, round = state.counters.rounds): PoolPrompt {
  const child = addPrompt(state, { text, parent, origin: 'gepa', born: fromStep, status: 'trial' });
  state.trial = { child: child.id, parent, from_step: fromStep, batches_left: batches, round };
  state.counters.proposed += 1;
  return child;
}

function remember(state: FastSlowState, p: RejectedProposal, memory: number): void {
  state.rejected.push({ ...p, text: p.text.slice(0, REMEMBERED_TEXT_CHARS) });
  while (state.rejected.length > memory) state.rejected.shift();
}

/**
 * After a batch: the trial loses a batch; at 0 it is judged on the paired rollouts, and the child
 * becomes a member (then the pool is pruned) or is dropped and remembered for the reflector.
 * Returns the verdict when one was reached, with the ids pruned.
 */
export function advanceTrial(state: FastSlowState, opts: { min_improvement_threshold: number; pool_size: number; rejected_memory: number; step: number; window: number }): (TrialVerdict & { child: number; parent: number; round: number; pruned: number[] }) | null {
  const t = state.trial;
  if (!t) return null;
  t.batches_left -= 1;
  if (t.batches_left > 0) return null;
  const v = judgeTrial(trialEvidence(state.entries, t.parent, t.child, t.from_step), opts.min_improvement_threshold);
  state.trial = null;
  return { ...v, ...settleChild(state, t.child, t.parent, v, opts), child: t.child, parent: t.parent, round: t.round };
}

/** A judged child (either way of evaluating it): kept as a member and the pool pruned, or dropped and remembered. */
export function settleChild(
  state: FastSlowState,
  child: number,
  parent: number,
  v: Pick<TrialVerdict, 'accept' | 'parent_mean' | 'child_mean'>,
  opts: { pool_size: number; rejected_memory: number; step: number; window: number },
): { pruned: number[] } {
  const c = promptById(state, child);
  if (!v.accept) {
    c.status = 'rejected';
    state.counters.rejected += 1;
    remember(state, { text: c.text, reason: 'not better', parent_score: v.parent_mean, child_score: v.child_mean }, opts.rejected_memory);
    return { pruned: [] };
  }
  c.status = 'member';
  state.counters.accepted += 1;
  return { pruned: prunePoolToSize(state, opts.pool_size, opts.step, opts.window) };
}

/** A rejected reflection (no usable text) is remembered like GEPA's. */
export function rememberRejectedReflection(state: FastSlowState, p: { text: string; reason: RejectedProposal['reason'] | null }, memory: number): void {
  if (p.reason === 'reflection error') state.counters.reflection_errors += 1;
  remember(state, { text: p.text, reason: p.reason ?? 'empty', parent_score: null, child_score: null }, memory);
}

/** fast_slow.pool_size: GEPA's pruning rule (core/gepa prunePool) on the window's scores; never the best, never the child on trial. */
export function prunePoolToSize(state: FastSlowState, poolSize: number, step: number, window: number): number[] {
  const cands = windowCandidates(members(state), state.entries, step, window);
  const pruned = prunePool(cands, poolSize);
  for (const id of pruned) promptById(state, id).status = 'pruned';
  return pruned;
}

/** The best member: the highest mean window reward (ties: the older); the seed before any score. */
export function bestPrompt(state: FastSlowState, step: number, window: number): PoolPrompt {
  const m = members(state);
  const cands = windowCandidates(m, state.entries, step, window).filter((c) => c.val_scores.some((s) => s !== -Infinity));
  if (!cands.length) return m[0] ?? state.pool[0];
  return promptById(state, bestCandidate(cands).id);
}

/** set_prompt: the text joins the pool as a member (pruned to pool_size like an accepted child); returns it. */
export function addSetPrompt(state: FastSlowState, text: string, step: number, poolSize: number, window: number): { added: PoolPrompt; pruned: number[] } {
  const added = addPrompt(state, { text, parent: null, origin: 'set_prompt', born: step, status: 'member' });
  state.counters.set_prompts += 1;
  // the new prompt has no scores yet: the pruning it triggers chooses among the others
  const cands = windowCandidates(members(state).filter((p) => p.id !== added.id), state.entries, step, window);
  const pruned = cands.length + 1 > poolSize ? prunePool(cands, Math.max(1, poolSize - 1)) : [];
  for (const id of pruned) promptById(state, id).status = 'pruned';
  return { added, pruned };
}

/** A fresh train minibatch for child_eval=minibatch: `size` distinct problems drawn from the state's RNG. */
export function freshMinibatch(state: FastSlowState, trainSize: number, size: number): number[] {
  const picked = new Set<number>();
  while (picked.size < Math.min(size, trainSize)) picked.add(Math.floor(nextFloat(state.rng) * trainSize));
  return [...picked].sort((a, b) => a - b);
}

/** Reflection LM usage summed over the run (as GEPA's: calls, tokens, USD where priced). */
export function recordUsage(state: FastSlowState, r: { calls: number; usage: { prompt_tokens: number; completion_tokens: number }; cost_usd: number | null }): void {
  const u = state.reflection_usage;
  u.calls += r.calls;
  u.tokens_in += r.usage.prompt_tokens;
  u.tokens_out += r.usage.completion_tokens;
  if (r.cost_usd !== null) u.cost_usd = (u.cost_usd ?? 0) + r.cost_usd;
}
