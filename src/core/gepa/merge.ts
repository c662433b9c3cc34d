/**
 * System-aware merge (GEPA, arXiv 2507.19457, "merge"; optional, gepa.use_merge). Two candidates on
 * the Pareto front that descend from a common ancestor have often improved different components;
 * a child taking each component from the side that changed it can combine both lessons.
 *
 * Rules (pure; all randomness from the workflow-state rng):
 * - Scheduling: each accepted reflective child schedules one merge, while fewer than
 *   max_merge_invocations merges were tried; a scheduled merge is tried on the iteration right
 *   after an accepted child (otherwise the iteration is a reflective one).
 * - Triplets (a, b, ancestor): a < b both survivors of the fronts (redundant candidates removed),
 *   neither an ancestor of the other; ancestor a common ancestor scoring no better (val mean) than
 *   either; some component equal to the ancestor's on exactly one side; the merged child differs
 *   from both parents; the triplet and the (a, b, sources) merge not tried before.
 *   Unlike the reference, which samples a few random pairs and may miss every valid one, all
 *   triplets are enumerated: a pair is drawn uniformly among the pairs that have one, then its
 *   ancestor with probability proportional to its val mean (uniform when all are 0).
 * - Components: changed on one side only -> that side's text; changed on both -> the text of the
 *   parent with the higher val mean (the lower id on a tie); unchanged -> a's.
 * - Acceptance: the child is run on a subsample of the val set, chosen where the parents differ
 *   (up to ceil(k/3) instances where a wins, as many where b wins, then ties and the rest, k = 5),
 *   the parents' scores there being known from their val evaluations; it is accepted when its sum
 *   is at least the better parent's (the reference's rule), then evaluated on the full val set.
 * - Budget: a merge iteration spends the subsample, plus the val set when accepted; it is planned
 *   only when both fit.
 */
import { shuffle, weightedChoice, type RngState } from '../rng';
import { paretoFronts, removeDominatedCandidates, liveCandidates } from './pareto';
import type { Candidate, MergeState } from './types';

export function initMergeState(): MergeState {
  return { due: 0, tested: 0, accepted: 0, last_found_new: false, tried_triplets: [], tried_merges: [] };
}

/** Val instances a merged child is first run on (gepa's merge proposer samples 5). */
export const MERGE_SUBSAMPLE = 5;

/** Every ancestor of a candidate (parents, their parents, ...). */
export function ancestorsOf(candidates: readonly Candidate[], id: number): Set<number> {
  const out = new Set<number>();
  const stack = [...candidates[id].parents];
  while (stack.length) {
    const p = stack.pop()!;
    if (out.has(p)) continue;
    out.add(p);
    stack.push(...candidates[p].parents);
  }
  return out;
}

export interface MergedComponents {
  components: Record<string, string>;
  /** which parent each component was taken from, in component order */
  sources: number[];
}

/** The merged child's components (see the rules above); names in the ancestor's order. */
export function mergeComponents(names: readonly string[], anc: Candidate, a: Candidate, b: Candidate): MergedComponents {
  const components: Record<string, string> = {};
  const sources: number[] = [];
  for (const n of names) {
    const ta = a.components[n];
    const tb = b.components[n];
    const t0 = anc.components[n];
    let from: Candidate;
    if (ta === tb) from = a;
    else if (ta === t0) from = b;
    else if (tb === t0) from = a;
    else from = b.val_mean > a.val_mean ? b : a;
    components[n] = from.components[n];
    sources.push(from.id);
  }
  return { components, sources };
}

export interface MergeTriplet {
  a: number;
  b: number;
  ancestor: number;
  merged: MergedComponents;
}

const sameComponents = (names: readonly string[], x: Record<string, string>, y: Record<string, string>) => names.every((n) => x[n] === y[n]);
const mergeKey = (a: number, b: number, sources: number[]) => `${a},${b}:${sources.join(',')}`;

/** All admissible (a, b, ancestor) triplets, a < b, in a fixed order. */
export function mergeTriplets(candidates: readonly Candidate[], names: readonly string[], st: Pick<MergeState, 'tried_triplets' | 'tried_merges'>): MergeTriplet[] {
  if (candidates.length < 3) return [];
  const live = liveCandidates(candidates);
  const survivors = [...removeDominatedCandidates(live, paretoFronts(live))].sort((x, y) => x - y);
  const tried = new Set(st.tried_triplets);
  const triedMerges = new Set(st.tried_merges);
  const out: MergeTriplet[] = [];
  for (let i = 0; i < survivors.length; i++) {
    for (let j = i + 1; j < survivors.length; j++) {
      const a = candidates[survivors[i]];
      const b = candidates[survivors[j]];
      const ancA = ancestorsOf(candidates, a.id);
      const ancB = ancestorsOf(candidates, b.id);
      if (ancA.has(b.id) || ancB.has(a.id)) continue;
      const common = [...ancA].filter((x) => ancB.has(x)).sort((x, y) => x - y);
      for (const k of common) {
        const anc = candidates[k];
        if (tried.has(`${a.id},${b.id},${k}`)) continue;
        if (anc.val_mean > a.val_mean || anc.val_mean > b.val_mean) continue;
        const desirable = names.some((n) => a.components[n] !== b.components[n] && (a.components[n] === anc.components[n] || b.components[n] === anc.components[n]));
        if (!desirable) continue;
        const merged = mergeComponents(names, anc, a, b);
        if (sameComponents(names, merged.components, a.components) || sameComponents(names, merged.components, b.components)) continue;
        if (triedMerges.has(mergeKey(a.id, b.id, merged.sources))) continue;
        out.push({ a: a.id, b: b.id, ancestor: k, merged });
      }
    }
  }
  return out;
}

/** Draw a pair uniformly among the pairs with a triplet, then its ancestor by val mean. */
export function chooseMergeTriplet(candidates: readonly Candidate[], triplets: readonly MergeTriplet[], rng: RngState): MergeTriplet | null {
  if (!triplets.length) return null;
  const pairs = [...new Set(triplets.map((t) => `${t.a},${t.b}`))];
  const pair = pairs[weightedChoice(rng, pairs.map(() => 1))];
  const options = triplets.filter((t) => `${t.a},${t.b}` === pair);
  const w = options.map((t) => candidates[t.ancestor].val_mean);
  const total = w.reduce((x, y) => x + y, 0);
  return options[weightedChoice(rng, total > 0 ? w : w.map(() => 1))];
}

/** Mark a triplet as tried (it is never tried again). */
export function markMergeTried(st: MergeState, t: MergeTriplet): void {
  st.tried_triplets.push(`${t.a},${t.b},${t.ancestor}`);
  st.tried_merges.push(mergeKey(t.a, t.b, t.merged.sources));
}

/**
 * Val instances to run the merged child on: where a beats b, where b beats a, then ties, up to
 * ceil(k/3) from each in that order (each bucket shuffled), then the rest; never more than the val set.
 */
export function mergeSubsample(aScores: readonly number[], bScores: readonly number[], k: number, rng: RngState): number[] {
  const ids = aScores.map((_, i) => i);
  const buckets = [ids.filter((i) => aScores[i] > bScores[i]), ids.filter((i) => bScores[i] > aScores[i]), ids.filter((i) => aScores[i] === bScores[i])].map((bk) => shuffle(rng, bk));
  const want = Math.min(k, ids.length);
  const each = Math.max(1, Math.ceil(k / 3));
  const out: number[] = [];
  for (const bk of buckets) out.push(...bk.slice(0, Math.min(each, want - out.length)));
  for (const bk of buckets) for (const i of bk) if (out.length < want && !out.includes(i)) out.push(i);
  return out;
}

/** The reference's acceptance: the merged child's subsample sum is at least the better parent's. */
export function acceptMerge(aSub: readonly number[], bSub: readonly number[], childSub: readonly number[]): boolean {
  const sum = (xs: readonly number[]) => xs.reduce((x, y) => x + y, 0);
  return sum(childSub) >= Math.max(sum(aSub), sum(bSub));
}
