/** GEPA analytics: each phase's candidates from prompts.jsonl, with their Pareto fronts and selection weights. */
import { frontWins, paretoFronts, removeDominatedCandidates, type Candidate } from '../core/gepa';
import type { Row } from './load';

export interface GepaPhase {
  phase: string;
  candidates: Candidate[];
  fronts: number[][];
  /** candidates on some front that parent selection keeps (not dominated) */
  selectable: Set<number>;
  /** per candidate: instances whose front holds it (ties included) */
  onFronts: Map<number, number>;
  /** per selectable candidate: instances it wins among the selectable ones (its selection weight) */
  wins: Map<number, number>;
}

/** GEPA candidates per phase from prompts.jsonl, with their Pareto fronts computed by the same core rules GEPA uses. */
export function gepaPhases(prompts: Row[], warnings: string[] = []): GepaPhase[] {
  const byPhase = new Map<string, Map<number, Row>>();
  for (const p of prompts) {
    if (typeof p.candidate_id !== 'number' || !Array.isArray(p.val_scores)) continue;
    const key = String(p.phase ?? '');
    if (!byPhase.has(key)) byPhase.set(key, new Map());
    byPhase.get(key)!.set(p.candidate_id, p);
  }
  const out: GepaPhase[] = [];
  for (const [phase, rows] of byPhase) {
    const candidates: Candidate[] = [...rows.values()]
      .sort((a, b) => a.candidate_id - b.candidate_id)
      .map((p) => ({ id: p.candidate_id, components: p.components ?? {}, parents: p.parent_ids ?? [], iteration: p.iteration ?? 0, val_scores: p.val_scores, val_mean: p.val_score ?? 0, metric_calls: p.metric_calls ?? 0 }));
    if (new Set(candidates.map((c) => c.val_scores.length)).size > 1) {
      warnings.push(`${phase || 'gepa'}: candidates were scored on val sets of different sizes; no Pareto front shown`);
      continue;
    }
    const fronts = paretoFronts(candidates);
    const selectable = removeDominatedCandidates(candidates, fronts);
    const onFronts = new Map<number, number>();
    for (const f of fronts) for (const id of f) onFronts.set(id, (onFronts.get(id) ?? 0) + 1);
    out.push({ phase, candidates, fronts, selectable, onFronts, wins: frontWins(fronts, selectable) });
  }
  return out;
}
