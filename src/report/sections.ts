/** The report's sections other than the curves, each from the rows it shows. */
import type { Candidate } from '../core/gepa';
import { wordDiff } from './diff';
import type { GepaPhase } from './gepa';
import { esc, num } from './html';
import type { ReportData, Row } from './load';

const noData = '<p class="empty">no data</p>';
const promptText = (p: Row): string => (typeof p.text === 'string' ? p.text : p.components ? Object.values(p.components).join('\n---\n') : '');

/** The run's scalars, then its summary's (GEPA: budget used, why it stopped, val and test scores side by side). */
export function factsRows(d: ReportData): string[] {
  const scalars = (o: Row | null | undefined, prefix = '') => Object.entries(o ?? {}).filter(([, v]) => v === null || typeof v !== 'object').map(([k, v]) => [`${prefix}${k}`, v] as const);
  return d.run ? [...scalars(d.run), ...scalars(d.run.summary, 'summary.')].map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v ?? '-')}</td></tr>`) : [];
}

/** Every accepted prompt, diffed against its parent (else the prompt before it). */
export function promptRows(d: ReportData): string[] {
  // candidate ids restart in each GEPA phase: a parent is looked up within its own phase
  const keyOf = (p: Row, id: unknown) => `${p.phase ?? ''}:${String(id)}`;
  const byId = new Map(d.prompts.map((p) => [keyOf(p, p.candidate_id ?? p.id ?? ''), p]));
  // rows of iterations in flight together (gepa.parallel_proposals) land in the file as they complete:
  // shown by candidate id within each phase, the phases in the order they first appear
  // (sort is stable: rows without a numeric id come last in their phase, in file order)
  const phases = [...new Set(d.prompts.map((p) => String(p.phase ?? '')))];
  const rank = (p: Row) => phases.indexOf(String(p.phase ?? ''));
  const idOf = (p: Row) => (typeof p.candidate_id === 'number' ? p.candidate_id : Number.MAX_SAFE_INTEGER);
  const rows = [...d.prompts].sort((a, b) => rank(a) - rank(b) || idOf(a) - idOf(b));
  return rows.map((p, i) => {
    const parent = (p.parent_ids ?? [])[0];
    const before = parent !== undefined && byId.has(keyOf(p, parent)) ? promptText(byId.get(keyOf(p, parent))!) : i > 0 ? promptText(rows[i - 1]) : '';
    return `<tr><td>${esc(p.phase ?? '')}</td><td>${esc(p.candidate_id ?? i)}</td><td>${esc((p.parent_ids ?? []).join(', '))}</td><td>${num(p.val_score)}</td><td>${esc(p.metric_calls ?? '')}</td><td class="diff">${wordDiff(before, promptText(p))}</td></tr>`;
  });
}

/** One row per reflection proposal: its outcome, why, the minibatch scores behind the verdict, tokens. */
export function proposalRows(d: ReportData): string[] {
  const mb = (xs: unknown, sd: unknown) =>
    Array.isArray(xs) ? xs.map((x, i) => `${num(x)}${Array.isArray(sd) && typeof sd[i] === 'number' && sd[i] > 0 ? ` ± ${num(sd[i])}` : ''}`).join(', ') : '';
  return d.proposals.slice(0, 500).map((p) => {
    const scores = Array.isArray(p.parent_minibatch) ? `minibatch parent [${mb(p.parent_minibatch, p.parent_minibatch_spread)}] → child [${mb(p.child_minibatch, p.child_minibatch_spread)}]` : '';
    const why = [p.reason, p.first_reply_unfenced ? 'first reply unfenced (asked again for a fence: gepa.fence_repair)' : '', p.closed_at_bound ? 'closed at the proposal bound (the grammar ended the block)' : '', scores].filter(Boolean).join('; ');
    const tokens = [p.tokens_in, p.tokens_out].every((t) => typeof t === 'number') ? `${p.tokens_in} / ${p.tokens_out}` : '';
    return `<tr><td>${esc(p.phase ?? '')}</td><td>${esc(p.iteration)}</td><td>${esc(p.component)}</td><td>${esc(p.parent_id)}</td><td>${esc(p.outcome)}</td><td>${esc(why)}</td><td>${esc(tokens)}</td><td><pre>${esc(String(p.text ?? '').slice(0, 400))}</pre></td></tr>`;
  });
}

export function paretoTables(g: GepaPhase[]): string {
  if (!g.length) return noData;
  const rows = g.flatMap((p) =>
    p.candidates.map((c) => {
      const n = p.onFronts.get(c.id) ?? 0;
      const state = !n ? 'not on the front' : p.selectable.has(c.id) ? 'on the front' : 'on the front, dominated (never picked as parent)';
      return `<tr data-candidate="${c.id}" data-on-front="${n > 0}" class="${n ? 'front' : ''}"><td>${esc(p.phase)}</td><td>${c.id}</td><td>${num(c.val_mean)}</td><td>${n} / ${p.fronts.length}</td><td>${p.wins.get(c.id) ?? 0}</td><td>${state}</td></tr>`;
    }),
  );
  const perInstance = g.map(
    (p) =>
      `<details><summary>${esc(p.phase || 'gepa')}: best candidates per val instance</summary><table data-table="pareto-instances"><tr><th>val instance</th><th>best score</th><th>candidates on its front</th></tr>${p.fronts
        .map((f, i) => `<tr><td>${i}</td><td>${num(f.length ? p.candidates.find((c) => c.id === f[0])!.val_scores[i] : null)}</td><td>${f.join(', ')}</td></tr>`)
        .join('')}</table></details>`,
  );
  return `<table data-table="pareto"><tr><th>phase</th><th>candidate</th><th>val score</th><th>instances on front</th><th>instances won (parent weight)</th><th></th></tr>${rows.join('')}</table>${perInstance.join('')}`;
}

/** One phase's candidates as a tree, each child under its (first) parent; a merge names its other parents. */
function lineageTree(p: GepaPhase): string {
  const ids = new Set(p.candidates.map((c) => c.id));
  const children = new Map<number, Candidate[]>();
  const roots: Candidate[] = [];
  for (const c of p.candidates) {
    const parent = c.parents.find((x) => ids.has(x) && x !== c.id);
    if (parent === undefined) roots.push(c);
    else children.set(parent, [...(children.get(parent) ?? []), c]);
  }
  const best = p.candidates.reduce((a, b) => (b.val_mean > a.val_mean ? b : a));
  const seen = new Set<number>();
  const node = (c: Candidate): string => {
    if (seen.has(c.id)) return '';
    seen.add(c.id);
    const n = p.onFronts.get(c.id) ?? 0;
    const tags = [`val ${num(c.val_mean)}`, n ? `on the front of ${n} instance${n === 1 ? '' : 's'}` : '', c.parents.length > 1 ? `merge of ${c.parents.join(' + ')}` : '', c.id === best.id ? 'best' : '']
      .filter(Boolean)
      .join(' · ');
    const kids = (children.get(c.id) ?? []).map(node).join('');
    return `<li data-candidate="${c.id}"><b>#${c.id}</b> <span class="tags">${esc(tags)}</span>${kids ? `<ul>${kids}</ul>` : ''}</li>`;
  };
  return `<div class="tree"><h3>${esc(p.phase || 'gepa')}</h3><ul data-tree="lineage">${roots.map(node).join('')}</ul></div>`;
}

export function lineageTrees(g: GepaPhase[]): string {
  return g.length ? g.map(lineageTree).join('') : noData;
}

/** The first 100 sample trajectories: prompt messages, completion, feedback. */
export function sampleDetails(d: ReportData): string[] {
  return d.samples.slice(0, 100).map(
    (s) => `<details><summary>${esc(s.phase ?? '')} step ${esc(s.step)} · reward ${num(s.reward)} ${s.correct ? '✓' : '✗'}</summary>${(s.prompt ?? [])
      .map((m: Row) => `<div class="msg ${esc(m.role)}"><b>${esc(m.role)}</b><pre>${esc(m.content)}</pre></div>`)
      .join('')}<div class="msg assistant"><b>completion</b><pre>${esc(s.completion)}</pre></div><p class="feedback">${esc(s.feedback)}</p></details>`,
  );
}

export function checkpointRows(d: ReportData): string[] {
  return d.checkpoints.map((c) => `<tr><td>${esc(c.phase ?? '')}</td><td>${esc(c.step)}</td><td>${esc(c.path)}</td><td>${num(c.metrics?.loss)}</td></tr>`);
}
