/**
 * runs/<id>/report.html: self-contained (inline CSS and SVG, no scripts from anywhere), built from
 * the run directory: facts and config, learning curves, prompt evolution with diffs, GEPA lineage,
 * sample trajectories, checkpoints. Malformed JSONL lines are skipped and listed as warnings.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

type Row = Record<string, any>;

export interface ReportData {
  dir: string;
  run: Row | null;
  config: Row | null;
  metrics: Row[];
  prompts: Row[];
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

export function loadReportData(dir: string): ReportData {
  const warnings: string[] = [];
  const phases = existsSync(dir)
    ? readdirSync(dir).filter((d) => /^round\d+_/.test(d) && statSync(path.join(dir, d)).isDirectory()).sort((a, b) => parseInt(a.slice(5)) - parseInt(b.slice(5)))
    : [];
  const collect = (name: string) => [readJsonl(path.join(dir, name), null, warnings), ...phases.map((p) => readJsonl(path.join(dir, p, name), p, warnings))].flat();
  return {
    dir,
    run: readJson(path.join(dir, 'run.json'), warnings),
    config: readJson(path.join(dir, 'config.json'), warnings),
    metrics: collect('metrics.jsonl'),
    prompts: collect('prompts.jsonl'),
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
}

function downsample(points: Array<[number, number]>, max = 2000): Array<[number, number]> {
  if (points.length <= max) return points;
  const step = points.length / max;
  return Array.from({ length: max }, (_, i) => points[Math.floor(i * step)]);
}

export function lineChart(id: string, title: string, xLabel: string, series: Series[]): string {
  const all = series.flatMap((s) => s.points);
  if (!all.length) return `<div class="chart" data-chart="${id}"><h3>${esc(title)}</h3><p class="empty">no data</p></div>`;
  const W = 560, H = 260, L = 50, R = 10, T = 20, B = 40;
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(0, ...ys), Math.max(...ys)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y: number) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const yv = y0 + f * (y1 - y0), xv = x0 + f * (x1 - x0);
    return `<line x1="${L}" x2="${W - R}" y1="${sy(yv)}" y2="${sy(yv)}" class="grid"/><text x="${L - 4}" y="${sy(yv) + 4}" text-anchor="end">${+yv.toFixed(3)}</text><text x="${sx(xv)}" y="${H - B + 16}" text-anchor="middle">${+xv.toFixed(1)}</text>`;
  });
  const lines = series
    .filter((s) => s.points.length)
    .map((s) => {
      const pts = downsample(s.points).map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      const dots = s.points.length <= 60 ? downsample(s.points).map(([x, y]) => `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`).join('') : '';
      return `<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}`;
    });
  const legend = series.map((s, i) => `<rect x="${L + 10 + i * 150}" y="4" width="10" height="10" fill="${s.color}"/><text x="${L + 24 + i * 150}" y="13">${esc(s.name)}</text>`);
  return `<div class="chart"><h3>${esc(title)}</h3><svg data-chart="${id}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${ticks.join('')}<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" class="axis"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" class="axis"/>${lines.join('')}${legend.join('')}<text x="${(W + L) / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text></svg></div>`;
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

export function renderReport(d: ReportData): string {
  // x axis: a global step across phases (rows carry `step`; phases are concatenated in order)
  const rl = d.metrics.filter((m) => typeof m['env/all/reward/total'] === 'number');
  const test = d.metrics.filter((m) => typeof m['test/env/all/correct'] === 'number');
  const gepa = d.metrics.filter((m) => typeof m['gepa/best_val_score'] === 'number');
  const xOf = (rows: Row[]) => rows.map((m, i) => (typeof m.global_step === 'number' ? m.global_step : typeof m.step === 'number' && !m.phase ? m.step : i + 1));
  const rlX = xOf(rl), testX = xOf(test);
  const charts = [
    lineChart('train-reward', 'Train reward and accuracy per batch', 'batch', [
      { name: 'reward', color: '#1f77b4', points: rl.map((m, i) => [rlX[i], m['env/all/reward/total']]) },
      { name: 'accuracy', color: '#2ca02c', points: rl.filter((m) => typeof m['env/all/correct'] === 'number').map((m, i) => [rlX[i], m['env/all/correct']]) },
    ]),
    lineChart('test-accuracy', 'Test accuracy', 'batch', [{ name: 'test accuracy', color: '#d62728', points: test.map((m, i) => [testX[i], m['test/env/all/correct']]) }]),
    lineChart('gepa-best-val', 'GEPA best val score per metric call', 'metric calls', [
      { name: 'best val score', color: '#9467bd', points: gepa.map((m) => [m['gepa/metric_calls'] ?? m.step ?? 0, m['gepa/best_val_score']]) },
    ]),
  ];
  const byId = new Map(d.prompts.map((p) => [String(p.candidate_id ?? p.id ?? ''), p]));
  const promptRows = d.prompts.map((p, i) => {
    const parent = (p.parent_ids ?? [])[0];
    const before = parent !== undefined && byId.has(String(parent)) ? promptText(byId.get(String(parent))!) : i > 0 ? promptText(d.prompts[i - 1]) : '';
    return `<tr><td>${esc(p.phase ?? '')}</td><td>${esc(p.candidate_id ?? i)}</td><td>${esc((p.parent_ids ?? []).join(', '))}</td><td>${num(p.val_score)}</td><td>${esc(p.metric_calls ?? '')}</td><td class="diff">${wordDiff(before, promptText(p))}</td></tr>`;
  });
  const lineage = d.prompts.map((p) => `<li><b>${esc(p.candidate_id ?? '?')}</b> ← ${esc((p.parent_ids ?? []).join(', ') || 'seed')} · val ${num(p.val_score)}</li>`);
  const samples = d.samples.slice(0, 100).map(
    (s) => `<details><summary>${esc(s.phase ?? '')} step ${esc(s.step)} · reward ${num(s.reward)} ${s.correct ? '✓' : '✗'}</summary>${(s.prompt ?? [])
      .map((m: Row) => `<div class="msg ${esc(m.role)}"><b>${esc(m.role)}</b><pre>${esc(m.content)}</pre></div>`)
      .join('')}<div class="msg assistant"><b>completion</b><pre>${esc(s.completion)}</pre></div><p class="feedback">${esc(s.feedback)}</p></details>`,
  );
  const ckpts = d.checkpoints.map((c) => `<tr><td>${esc(c.phase ?? '')}</td><td>${esc(c.step)}</td><td>${esc(c.path)}</td><td>${num(c.metrics?.loss)}</td></tr>`);
  const facts = d.run ? Object.entries(d.run).filter(([, v]) => typeof v !== 'object').map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`) : [];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>gepa-rl report ${esc(d.run?.run_id ?? path.basename(d.dir))}</title><style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}h1{font-size:22px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}.charts{display:flex;flex-wrap:wrap;gap:16px}
svg text{font-size:11px;fill:#444}.grid{stroke:#eee}.axis{stroke:#888}ins{background:#d4f7d4;text-decoration:none}del{background:#fbd4d4}.diff{white-space:pre-wrap;max-width:700px}
pre{white-space:pre-wrap;margin:2px 0;background:#f7f7f7;padding:6px}.msg{margin:4px 0}.warn{background:#fff4d6;padding:8px}.empty{color:#999}
</style></head><body>
<h1>gepa-rl report · ${esc(d.run?.run_id ?? path.basename(d.dir))}</h1>
<section data-section="facts"><h2>Run</h2><table>${facts.join('') || '<tr><td>no run.json</td></tr>'}</table>
<details><summary>config</summary><pre>${esc(JSON.stringify(d.config, null, 2))}</pre></details></section>
${d.warnings.length ? `<section class="warn" data-section="warnings"><b>warnings</b><ul>${d.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>` : ''}
<section data-section="curves"><h2>Learning curves</h2><div class="charts">${charts.join('')}</div></section>
<section data-section="prompts"><h2>Prompt evolution</h2><table data-table="prompts"><tr><th>phase</th><th>candidate</th><th>parents</th><th>val score</th><th>metric calls</th><th>prompt (diff against parent)</th></tr>${promptRows.join('')}</table>${promptRows.length ? '' : '<p class="empty">no data</p>'}</section>
<section data-section="lineage"><h2>GEPA candidate lineage</h2><ul>${lineage.join('') || '<li class="empty">no data</li>'}</ul></section>
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
