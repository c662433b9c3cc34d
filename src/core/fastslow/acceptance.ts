/**
 * A child on trial is kept or dropped from the RL rollouts it got beside its parent: on each
 * (step, problem) where both were sampled, the mean reward of each; the child is kept by GEPA's rule
 * on those paired means (core/gepa/acceptance.ts acceptIfImproved: a strictly larger sum, or with
 * min_improvement_threshold t > 0 a mean larger by at least t). No paired problem: dropped. Pure.
 */
import { acceptIfImproved } from '../gepa/acceptance';
import type { ScoreEntry } from './pool';

export interface TrialEvidence {
  /** "step:problem" of each pair, in entry order */
  pairs: string[];
  parent_means: number[];
  child_means: number[];
}

export function trialEvidence(entries: readonly ScoreEntry[], parent: number, child: number, fromStep: number): TrialEvidence {
  const key = (e: ScoreEntry) => `${e.step}:${e.problem}`;
  const parentAt = new Map(entries.filter((e) => e.prompt === parent && e.step >= fromStep).map((e) => [key(e), e.mean]));
  const ev: TrialEvidence = { pairs: [], parent_means: [], child_means: [] };
  for (const e of entries) {
    if (e.prompt !== child || e.step < fromStep || !parentAt.has(key(e))) continue;
    ev.pairs.push(key(e));
    ev.parent_means.push(parentAt.get(key(e))!);
    ev.child_means.push(e.mean);
  }
  return ev;
}

export interface TrialVerdict {
  accept: boolean;
  reason: 'not better' | 'no paired problems' | null;
  parent_mean: number;
  child_mean: number;
  n_pairs: number;
}

const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export function judgeTrial(ev: TrialEvidence, minImprovement = 0): TrialVerdict {
  const base = { parent_mean: avg(ev.parent_means), child_mean: avg(ev.child_means), n_pairs: ev.pairs.length };
  if (!ev.pairs.length) return { accept: false, reason: 'no paired problems', ...base };
  const accept = acceptIfImproved(ev.parent_means, ev.child_means, minImprovement);
  return { accept, reason: accept ? null : 'not better', ...base };
}
