/**
 * runs/<id>/report.html: self-contained (inline CSS and SVG, no scripts from anywhere), built from
 * the run directory: facts and config, learning curves, prompt evolution with diffs, GEPA lineage,
 * sample trajectories, checkpoints. Malformed JSONL lines are skipped and listed as warnings.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { frontWins, paretoFronts, removeDominatedCandidates, type Candidate } from '../core/gepa';

type Row = Record<string, any>;

export interface ReportData {
  dir: string;
  run: Row | null;
  config: Row | null;
  /** phase folders in run order (empty for a single-workflow run) */
  phases: string[];
  metrics: Row[];
  prompts: Row[];
  /** one row per GEPA reflection proposal (accepted or not) from proposals.jsonl */
  proposals: Row[];
  samples: Row[];
  checkpoints: Row[];
  warnings: string[];
}

function readJsonl(file: string, phase: string | null, warnings: string[]): Row[] {
  if (!existsSync(file)) return [];
  const rows: Row[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      try {
        const r = JSON.parse(line);
        rows.push(phase && r.phase === undefined ? { ...r, phase } : r);
      } catch {
        warnings.push(`${file}:${i + 1}: not JSON, skipped`);
      }
    });
  return rows;
}

function readJson(file: string, warnings: string[]): Row | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    warnings.push(`${file}: not JSON, skipped`);
    return null;
  }
}

const PHASE_FOLDER = /^round(\d+)_(.+)$/;
/** Within a round, phases run in the alternation's order. */
const PHASE_KIND_ORDER = ['gepa', 'rl', 'expert'];

/** Phase folders (round<N>_<kind>) in the order they ran: by round, then gepa, rl, expert. */
export function orderPhases(folders: string[]): string[] {
  const key = (f: string): [number, number, string] => {
    const m = PHASE_FOLDER.exec(f)!;
    const k = PHASE_KIND_ORDER.indexOf(m[2]);
    return [Number(m[1]), k < 0 ? PHASE_KIND_ORDER.length : k, m[2]];
  };
  return [...folders].sort((a, b) => {
    const [ra, ka, na] = key(a), [rb, kb, nb] = key(b);
    return ra - rb || ka - kb || na.localeCompare(nb);
  });
}

export function loadReportData(dir: string): ReportData {
  const warnings: string[] = [];
  const phases = existsSync(dir)
    ? orderPhases(readdirSync(dir).filter((d) => PHASE_FOLDER.test(d) && statSync(path.join(dir, d)).isDirectory()))
    : [];
  const collect = (name: string) => [readJsonl(path.join(dir, name), null, warnings), ...phases.map((p) => readJsonl(path.join(dir, p, name), p, warnings))].flat();
  return {
    dir,
    run: readJson(path.join(dir, 'run.json'), warnings),
    config: readJson(path.join(dir, 'config.json'), warnings),
    phases,
    metrics: collect('metrics.jsonl'),
    prompts: collect('prompts.jsonl'),
    proposals: collect('proposals.jsonl'),
    samples: collect('samples.jsonl'),
    checkpoints: collect('checkpoints.jsonl'),
    warnings,
  };
}

export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

interface Series {
  name: string;
  points: Array<[number, number]>;
  color: string;
  /** SVG stroke-dasharray: tells apart lines that may lie on top of each other */
  dash?: string;
}

export interface ChartOptions {
  /** x is a count (batches, metric calls): ticks at whole numbers only */
  integerX?: boolean;
  /** labelled vertical lines, e.g. where each phase of an alternation starts */
  markers?: Array<{ x: number; label: string }>;
}

function downsample(points: Array<[number, number]>, max = 2000): Array<[number, number]> {
  if (points.length <= max) return points;
  const step = points.length / max;
  return Array.from({ length: max }, (_, i) => points[Math.floor(i * step)]);
}

/** About five tick values over [x0, x1]: whole numbers when `integer`, else quarters of the range. */
function xTicks(x0: number, x1: number, integer: boolean): number[] {
  if (!integer) return [0, 0.25, 0.5, 0.75, 1].map((f) => x0 + f * (x1 - x0));
  const span = Math.max(1, x1 - x0);
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((m) => m >= raw) ?? 10 * mag);
  const out: number[] = [];
  for (let x = Math.ceil(x0 / step) * step; x <= x1; x += step) out.push(x);
  return out;
}

export function lineChart(id: string, title: string, xLabel: string, series: Series[], opts: ChartOptions = {}): string {
  const all = series.flatMap((s) => s.points);
  if (!all.length) return `<div class="chart" data-chart="${id}"><h3>${esc(title)}</h3><p class="empty">no data</p></div>`;
  const W = 560, H = 260, L = 50, R = 10, T = 20, B = 40;
  const xs = [...all.map((p) => p[0]), ...(opts.markers ?? []).map((m) => m.x)], ys = all.map((p) => p[1]);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(0, ...ys), Math.max(...ys)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y: number) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const yv = y0 + f * (y1 - y0);
    return `<line x1="${L}" x2="${W - R}" y1="${sy(yv)}" y2="${sy(yv)}" class="grid"/><text x="${L - 4}" y="${sy(yv) + 4}" text-anchor="end">${+yv.toFixed(3)}</text>`;
  });
  const xTickMarks = xTicks(x0, x1, Boolean(opts.integerX)).map(
    (xv) => `<text class="xtick" x="${sx(xv)}" y="${H - B + 16}" text-anchor="middle">${opts.integerX ? Math.round(xv) : +xv.toFixed(1)}</text>`,
  );
  // labels alternate between two rows so the names of short phases do not overprint each other
  const markers = (opts.markers ?? []).map(
    (m, i) =>
      `<g class="marker"><line x1="${sx(m.x)}" x2="${sx(m.x)}" y1="${T}" y2="${H - B}" stroke="#bbb" stroke-dasharray="2 3"/><text x="${sx(m.x) + 3}" y="${T + 10 + (i % 2) * 12}" class="marker-label">${esc(m.label)}</text></g>`,
  );
  const lines = series
    .filter((s) => s.points.length)
    .map((s) => {
      const pts = downsample(s.points).map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      // dashed series get hollow square markers, solid ones filled dots, so both stay visible when they coincide
      const dot = ([x, y]: [number, number]) =>
        s.dash
          ? `<rect x="${(sx(x) - 3).toFixed(1)}" y="${(sy(y) - 3).toFixed(1)}" width="6" height="6" fill="#fff" stroke="${s.color}" stroke-width="1.5"/>`
          : `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`;
      const dots = s.points.length <= 60 ? downsample(s.points).map(dot).join('') : '';
      return `<polyline data-series="${esc(s.name)}" points="${pts}" fill="none" stroke="${s.color}" stroke-width="${s.dash ? 2 : 3}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>${dots}`;
    });
  const legend = series.map(
    (s, i) =>
      `<line x1="${L + 10 + i * 150}" x2="${L + 30 + i * 150}" y1="9" y2="9" stroke="${s.color}" stroke-width="${s.dash ? 2 : 3}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/><text x="${L + 34 + i * 150}" y="13">${esc(s.name)}</text>`,
  );
  return `<div class="chart"><h3>${esc(title)}</h3><svg data-chart="${id}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${yTicks.join('')}${markers.join('')}${xTickMarks.join('')}<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" class="axis"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" class="axis"/>${lines.join('')}${legend.join('')}<text x="${(W + L) / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text></svg></div>`;
}

/** Word-level diff (LCS) with additions and deletions marked. */
export function wordDiff(before: string, after: string): string {
  const a = before.split(/(\s+)/), b = after.split(/(\s+)/);
  if (a.length * b.length > 4_000_000) return `<ins>${esc(after)}</ins>`;
  const dp = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const out: string[] = [];
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) { out.push(esc(a[i])); i++; j++; }
    else if (dp[i + 1][j] >= dp[i][j + 1]) out.push(`<del>${esc(a[i++])}</del>`);
    else out.push(`<ins>${esc(b[j++])}</ins>`);
  }
  while (i < a.length) out.push(`<del>${esc(a[i++])}</del>`);
  while (j < b.length) out.push(`<ins>${esc(b[j++])}</ins>`);
  return out.join('');
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? +v.toFixed(4) : '');
const promptText = (p: Row): string => (typeof p.text === 'string' ? p.text : p.components ? Object.values(p.components).join('\n---\n') : '');

const isTrainingRow = (m: Row) => typeof m['env/all/reward/total'] === 'number' || typeof m['test/env/all/correct'] === 'number';
/** batches (or rounds) done when the row was written: `step` in every training workflow's rows */
const stepsDone = (m: Row): number => (typeof m.step === 'number' ? m.step : typeof m['progress/batch'] === 'number' ? m['progress/batch'] + 1 : 0);

/**
 * The x of each row on a whole-run axis: a phase's steps are counted on from where the previous
 * phase of the same kind of chart ended, so round1_rl's batch 0 follows round0_rl's last batch.
 * Returns the x per row and a labelled marker where each phase starts.
 */
function acrossPhases(d: ReportData, rows: Row[], local: (m: Row) => number, inChart: (m: Row) => boolean): { x: Map<Row, number>; markers: Array<{ x: number; label: string }> } {
  const x = new Map<Row, number>();
  const markers: Array<{ x: number; label: string }> = [];
  let offset = 0;
  for (const phase of [null, ...d.phases]) {
    const mine = rows.filter((m) => (phase === null ? !d.phases.includes(m.phase) : m.phase === phase));
    if (!mine.length) continue;
    if (phase !== null) markers.push({ x: offset, label: phase });
    for (const m of mine) x.set(m, typeof m.global_step === 'number' ? m.global_step : offset + local(m));
    offset += Math.max(0, ...d.metrics.filter((m) => (phase === null ? !d.phases.includes(m.phase) : m.phase === phase) && inChart(m)).map(local));
  }
  return { x, markers: d.phases.length ? markers : [] };
}

interface GepaPhase {
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

function paretoTables(g: GepaPhase[]): string {
  if (!g.length) return '<p class="empty">no data</p>';
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

/** Candidates as a tree, each child under its (first) parent; a merge names its other parents. */
function lineageTrees(g: GepaPhase[]): string {
  if (!g.length) return '<p class="empty">no data</p>';
  return g
    .map((p) => {
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
    })
    .join('');
}

export function renderReport(d: ReportData): string {
  const rl = d.metrics.filter((m) => typeof m['env/all/reward/total'] === 'number');
  const test = d.metrics.filter((m) => typeof m['test/env/all/correct'] === 'number');
  const gepa = d.metrics.filter((m) => typeof m['gepa/best_val_score'] === 'number');
  // training and test share one axis: steps done, counted on across the training phases
  const trainAxis = acrossPhases(d, [...rl, ...test], stepsDone, isTrainingRow);
  const calls = (m: Row) => (typeof m['gepa/metric_calls'] === 'number' ? m['gepa/metric_calls'] : typeof m.step === 'number' ? m.step : 0);
  const gepaAxis = acrossPhases(d, gepa, calls, (m) => typeof m['gepa/best_val_score'] === 'number');
  const phased = d.phases.length > 0;
  const stepLabel = phased ? 'training steps done (batches; rounds in expert phases), counted across phases' : 'batches done';
  const charts = [
    lineChart(
      'train-reward',
      'Train reward and accuracy per batch',
      stepLabel,
      [
        { name: 'accuracy', color: '#2ca02c', points: rl.filter((m) => typeof m['env/all/correct'] === 'number').map((m) => [trainAxis.x.get(m)!, m['env/all/correct']]) },
        { name: 'reward', color: '#1f4fb4', dash: '7 4', points: rl.map((m) => [trainAxis.x.get(m)!, m['env/all/reward/total']]) },
      ],
      { integerX: true, markers: trainAxis.markers },
    ),
    lineChart('test-accuracy', 'Test accuracy', stepLabel, [{ name: 'test accuracy', color: '#d62728', points: test.map((m) => [trainAxis.x.get(m)!, m['test/env/all/correct']]) }], {
      integerX: true,
      markers: trainAxis.markers,
    }),
    lineChart(
      'gepa-best-val',
      'GEPA best val score per metric call',
      phased ? 'metric calls, counted across GEPA phases' : 'metric calls',
      [{ name: 'best val score', color: '#9467bd', points: gepa.map((m) => [gepaAxis.x.get(m)!, m['gepa/best_val_score']]) }],
      { integerX: true, markers: gepaAxis.markers },
    ),
  ];
  // candidate ids restart in each GEPA phase: a parent is looked up within its own phase
  const keyOf = (p: Row, id: unknown) => `${p.phase ?? ''}:${String(id)}`;
  const byId = new Map(d.prompts.map((p) => [keyOf(p, p.candidate_id ?? p.id ?? ''), p]));
  const promptRows = d.prompts.map((p, i) => {
    const parent = (p.parent_ids ?? [])[0];
    const before = parent !== undefined && byId.has(keyOf(p, parent)) ? promptText(byId.get(keyOf(p, parent))!) : i > 0 ? promptText(d.prompts[i - 1]) : '';
    return `<tr><td>${esc(p.phase ?? '')}</td><td>${esc(p.candidate_id ?? i)}</td><td>${esc((p.parent_ids ?? []).join(', '))}</td><td>${num(p.val_score)}</td><td>${esc(p.metric_calls ?? '')}</td><td class="diff">${wordDiff(before, promptText(p))}</td></tr>`;
  });
  const gepaByPhase = gepaPhases(d.prompts, d.warnings);
  const samples = d.samples.slice(0, 100).map(
    (s) => `<details><summary>${esc(s.phase ?? '')} step ${esc(s.step)} · reward ${num(s.reward)} ${s.correct ? '✓' : '✗'}</summary>${(s.prompt ?? [])
      .map((m: Row) => `<div class="msg ${esc(m.role)}"><b>${esc(m.role)}</b><pre>${esc(m.content)}</pre></div>`)
      .join('')}<div class="msg assistant"><b>completion</b><pre>${esc(s.completion)}</pre></div><p class="feedback">${esc(s.feedback)}</p></details>`,
  );
  const proposals = d.proposals.slice(0, 500).map((p) => {
    const mb = (xs: unknown, sd: unknown) =>
      Array.isArray(xs) ? xs.map((x, i) => `${num(x)}${Array.isArray(sd) && typeof sd[i] === 'number' && sd[i] > 0 ? ` ± ${num(sd[i])}` : ''}`).join(', ') : '';
    const scores = Array.isArray(p.parent_minibatch) ? `minibatch parent [${mb(p.parent_minibatch, p.parent_minibatch_spread)}] → child [${mb(p.child_minibatch, p.child_minibatch_spread)}]` : '';
    const why = [p.reason, p.first_reply_unfenced ? 'first reply unfenced (asked again for a fence: gepa.fence_repair)' : '', scores].filter(Boolean).join('; ');
    const tokens = [p.tokens_in, p.tokens_out].every((t) => typeof t === 'number') ? `${p.tokens_in} / ${p.tokens_out}` : '';
    return `<tr><td>${esc(p.phase ?? '')}</td><td>${esc(p.iteration)}</td><td>${esc(p.component)}</td><td>${esc(p.parent_id)}</td><td>${esc(p.outcome)}</td><td>${esc(why)}</td><td>${esc(tokens)}</td><td><pre>${esc(String(p.text ?? '').slice(0, 400))}</pre></td></tr>`;
  });
  const ckpts = d.checkpoints.map((c) => `<tr><td>${esc(c.phase ?? '')}</td><td>${esc(c.step)}</td><td>${esc(c.path)}</td><td>${num(c.metrics?.loss)}</td></tr>`);
  // the run's scalars, then its summary's (GEPA: budget used, why it stopped, val and test scores side by side)
  const scalars = (o: Row | null | undefined, prefix = '') => Object.entries(o ?? {}).filter(([, v]) => v === null || typeof v !== 'object').map(([k, v]) => [`${prefix}${k}`, v] as const);
  const facts = d.run ? [...scalars(d.run), ...scalars(d.run.summary, 'summary.')].map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v ?? '-')}</td></tr>`) : [];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>gepa-rl report ${esc(d.run?.run_id ?? path.basename(d.dir))}</title><style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}h1{font-size:22px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}.charts{display:flex;flex-wrap:wrap;gap:16px}
svg text{font-size:11px;fill:#444}.grid{stroke:#eee}.axis{stroke:#888}ins{background:#d4f7d4;text-decoration:none}del{background:#fbd4d4}.diff{white-space:pre-wrap;max-width:700px}
tr.front td{background:#eef7ee}.tree ul{list-style:none;margin:0;padding-left:22px;border-left:1px dashed #ccc}.tree>ul{border-left:none;padding-left:0}.tree li{margin:3px 0}.tags{color:#555}
pre{white-space:pre-wrap;margin:2px 0;background:#f7f7f7;padding:6px}.msg{margin:4px 0}.warn{background:#fff4d6;padding:8px}.empty{color:#999}
</style></head><body>
<h1>gepa-rl report · ${esc(d.run?.run_id ?? path.basename(d.dir))}${typeof d.config?.run?.name === 'string' ? ` · ${esc(d.config.run.name)}` : ''}</h1>
<section data-section="facts"><h2>Run</h2><table>${facts.join('') || '<tr><td>no run.json</td></tr>'}</table>
<details><summary>config</summary><pre>${esc(JSON.stringify(d.config, null, 2))}</pre></details></section>
${d.warnings.length ? `<section class="warn" data-section="warnings"><b>warnings</b><ul>${d.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>` : ''}
<section data-section="curves"><h2>Learning curves</h2><div class="charts">${charts.join('')}</div></section>
<section data-section="prompts"><h2>Prompt evolution</h2><table data-table="prompts"><tr><th>phase</th><th>candidate</th><th>parents</th><th>val score</th><th>metric calls</th><th>prompt (diff against parent)</th></tr>${promptRows.join('')}</table>${promptRows.length ? '' : '<p class="empty">no data</p>'}</section>
<section data-section="proposals"><h2>GEPA proposals</h2><p>Every reflection proposal with its outcome: accepted, rejected on the minibatch, or rejected before evaluation (truncated, unclosed fence, empty, unchanged, too long, a reflection error); rejected ones are shown back to the reflector.</p><table data-table="proposals"><tr><th>phase</th><th>iteration</th><th>component</th><th>parent</th><th>outcome</th><th>reason</th><th>tokens in / out</th><th>proposed text (excerpt)</th></tr>${proposals.join('')}</table>${proposals.length ? '' : '<p class="empty">no data</p>'}</section>
<section data-section="pareto"><h2>GEPA Pareto front</h2><p>Per val instance, the front is the set of candidates with the best score on it; parents are drawn from the front in proportion to the instances they win (dominated candidates excluded).</p>${paretoTables(gepaByPhase)}</section>
<section data-section="lineage"><h2>GEPA candidate lineage</h2>${lineageTrees(gepaByPhase)}</section>
<section data-section="samples"><h2>Sample trajectories</h2>${samples.join('') || '<p class="empty">no data</p>'}</section>
<section data-section="checkpoints"><h2>Checkpoints</h2><table data-table="checkpoints"><tr><th>phase</th><th>step</th><th>path</th><th>loss</th></tr>${ckpts.join('')}</table></section>
</body></html>`;
}

export async function writeReport(runDir: string): Promise<string> {
  if (!existsSync(runDir)) throw new Error(`run directory ${runDir} does not exist`);
  const file = path.join(runDir, 'report.html');
  writeFileSync(file, renderReport(loadReportData(runDir)));
  return file;
}
