/**
 * Per-instance Pareto fronts and parent selection (GEPA, arXiv 2507.19457 §3; DESIGN §5).
 * fronts[i] = ids of the candidates with the best score on val instance i (ties all on it).
 */
import { weightedChoice, type RngState } from '../rng';
import type { Candidate } from './types';

export function paretoFronts(candidates: readonly Candidate[]): number[][] {
  if (!candidates.length) return [];
  const n = candidates[0].val_scores.length;
  const fronts: number[][] = [];
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (const c of candidates) best = Math.max(best, c.val_scores[i]);
    fronts.push(candidates.filter((c) => c.val_scores[i] === best).map((c) => c.id));
  }
  return fronts;
}

/**
 * Remove candidates whose every front also holds another surviving candidate. Candidates are
 * examined from the lowest val mean up (ties: the older first), so a weaker candidate goes
 * before a stronger one it duplicates; each removal is checked against the survivors so far.
 */
export function removeDominatedCandidates(candidates: readonly Candidate[], fronts: readonly number[][]): Set<number> {
  const onSomeFront = new Set(fronts.flat());
  const alive = new Set(candidates.filter((c) => onSomeFront.has(c.id)).map((c) => c.id));
  const order = candidates.filter((c) => alive.has(c.id)).sort((a, b) => a.val_mean - b.val_mean || a.id - b.id);
  for (const c of order) {
    const its = fronts.filter((f) => f.includes(c.id));
    const redundant = its.every((f) => f.some((o) => o !== c.id && alive.has(o)));
    if (redundant && alive.size > 1) alive.delete(c.id);
  }
  return alive;
}

/** How many instance fronts (restricted to survivors) each survivor is on. */
export function frontWins(fronts: readonly number[][], survivors: Set<number>): Map<number, number> {
  const wins = new Map<number, number>();
  for (const f of fronts) for (const id of f) if (survivors.has(id)) wins.set(id, (wins.get(id) ?? 0) + 1);
  return wins;
}

/** The candidates still in the pool (gepa.pool_size prunes the others). */
export function liveCandidates(candidates: readonly Candidate[]): Candidate[] {
  return candidates.filter((c) => !c.pruned);
}

/**
 * gepa.pool_size: while more than `poolSize` candidates are live, prune one, never the best: first
 * a candidate the Pareto rule already removes (every front it is on holds another survivor), else
 * the one on the fewest fronts; ties go to the lower val mean, then the older. Returns pruned ids.
 */
export function prunePool(candidates: Candidate[], poolSize: number): number[] {
  const out: number[] = [];
  const bestId = bestCandidate(candidates).id;
  for (;;) {
    const live = liveCandidates(candidates);
    if (live.length <= Math.max(1, poolSize)) return out;
    const fronts = paretoFronts(live);
    const survivors = removeDominatedCandidates(live, fronts);
    const wins = frontWins(fronts, new Set(live.map((c) => c.id)));
    const victim = live
      .filter((c) => c.id !== bestId)
      .sort((a, b) => Number(survivors.has(a.id)) - Number(survivors.has(b.id)) || (wins.get(a.id) ?? 0) - (wins.get(b.id) ?? 0) || a.val_mean - b.val_mean || a.id - b.id)[0];
    victim.pruned = true;
    out.push(victim.id);
  }
}

/** Parent chosen among the live candidates with probability proportional to the number of instances it wins. */
export function selectParentFromFront(all: readonly Candidate[], rng: RngState): number {
  const candidates = liveCandidates(all);
  const fronts = paretoFronts(candidates);
  const survivors = removeDominatedCandidates(candidates, fronts);
  const wins = [...frontWins(fronts, survivors).entries()].sort((a, b) => a[0] - b[0]);
  return wins[weightedChoice(rng, wins.map(([, w]) => w))][0];
}

export function bestCandidate(candidates: readonly Candidate[]): Candidate {
  return candidates.reduce((best, c) => (c.val_mean > best.val_mean ? c : best));
}
