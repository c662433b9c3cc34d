/**
 * The score window (fast_slow.score_window): a prompt's reward on a problem measured under older
 * weights goes stale, so the Pareto front reads only the last `window` RL steps. Problems are the
 * front's instances; a prompt not sampled on a problem in the window has no score there (-Infinity:
 * never on that problem's front). Pure.
 */
import { frontWins, paretoFronts, removeDominatedCandidates } from '../gepa/pareto';
import type { Candidate } from '../gepa/types';
import type { FastSlowState, PoolPrompt, ScoreEntry } from './pool';

/** Entries of steps (step - window, step]: the last `window` steps up to and including `step`. */
export function inWindow(entries: readonly ScoreEntry[], step: number, window: number): ScoreEntry[] {
  return entries.filter((e) => e.step <= step && e.step > step - window);
}

/**
 * Per prompt, per problem: the mean reward over the window's rollouts (entries weighted by their
 * rollout counts, so two steps on the same problem count each rollout once).
 */
export function windowScores(entries: readonly ScoreEntry[], step: number, window: number): Map<number, Map<number, { mean: number; n: number }>> {
  const out = new Map<number, Map<number, { mean: number; n: number }>>();
  for (const e of inWindow(entries, step, window)) {
    const byProblem = out.get(e.prompt) ?? new Map<number, { mean: number; n: number }>();
    out.set(e.prompt, byProblem);
    const cur = byProblem.get(e.problem) ?? { mean: 0, n: 0 };
    const n = cur.n + e.n;
    byProblem.set(e.problem, { mean: (cur.mean * cur.n + e.mean * e.n) / n, n });
  }
  return out;
}

/**
 * The window as GEPA candidates (core/gepa/pareto.ts reads these): one per given prompt, val_scores
 * over the window's problems in ascending index order (-Infinity where the prompt was not sampled),
 * val_mean the mean over the problems it was sampled on (0 with none).
 */
export function windowCandidates(prompts: readonly PoolPrompt[], entries: readonly ScoreEntry[], step: number, window: number): Candidate[] {
  const scores = windowScores(entries, step, window);
  const ids = new Set(prompts.map((p) => p.id));
  const problems = [...new Set(inWindow(entries, step, window).filter((e) => ids.has(e.prompt)).map((e) => e.problem))].sort((a, b) => a - b);
  return prompts.map((p) => {
    const mine = scores.get(p.id);
    const val_scores = problems.map((q) => mine?.get(q)?.mean ?? -Infinity);
    const present = val_scores.filter((s) => s !== -Infinity);
    return {
      id: p.id,
      components: { system_prompt: p.text },
      parents: p.parent === null ? [] : [p.parent],
      iteration: p.born,
      val_scores,
      val_mean: present.length ? present.reduce((a, b) => a + b, 0) / present.length : 0,
      metric_calls: 0,
    };
  });
}

/** A member's view for status and the report: its recent reward, rollouts in the window, whether it is on the front. */
export interface PoolEntryView {
  id: number;
  parent: number | null;
  origin: PoolPrompt['origin'];
  status: PoolPrompt['status'];
  excerpt: string;
  recent_reward: number | null;
  window_rollouts: number;
  front_wins: number;
  on_front: boolean;
}

/** How many window problems each member wins (Pareto fronts after dominated members are removed, as GEPA's parent choice). */
export function frontWinsOf(state: FastSlowState, step: number, window: number): Map<number, number> {
  const cands = windowCandidates(state.pool.filter((p) => p.status === 'member'), state.entries, step, window);
  if (!cands.length || !cands[0].val_scores.length) return new Map();
  const fronts = paretoFronts(cands);
  return frontWins(fronts, removeDominatedCandidates(cands, fronts));
}

export function poolView(state: FastSlowState, step: number, window: number, excerptChars = 120): PoolEntryView[] {
  const scores = windowScores(state.entries, step, window);
  const wins = frontWinsOf(state, step, window);
  return state.pool
    .filter((p) => p.status === 'member' || p.status === 'trial')
    .map((p) => {
      const mine = [...(scores.get(p.id)?.values() ?? [])];
      const n = mine.reduce((a, s) => a + s.n, 0);
      return {
        id: p.id,
        parent: p.parent,
        origin: p.origin,
        status: p.status,
        excerpt: p.text.length > excerptChars ? p.text.slice(0, excerptChars) + '…' : p.text,
        recent_reward: n ? mine.reduce((a, s) => a + s.mean * s.n, 0) / n : null,
        window_rollouts: n,
        front_wins: wins.get(p.id) ?? 0,
        on_front: (wins.get(p.id) ?? 0) > 0,
      };
    });
}
