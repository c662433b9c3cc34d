/**
 * The fast–slow section (fastSlowTraining runs): the 2x2 table {base, trained weights} x {seed, best
 * prompt} on test, KL(π_θ‖π_base) at each evaluation, the pool over steps (which prompts each batch sampled, their share of the
 * rollouts and reward), per-prompt reward curves, and every child with its reflection and verdict.
 * Empty for other runs.
 */
import { lineChart, type Series } from './charts';
import { esc, num } from './html';
import type { ReportData, Row } from './load';

/** A KL value to 4 significant digits (they are small: 4 decimals would show 0). */
const sig = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? (v === 0 ? '0' : v.toPrecision(4)) : '');
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const isBatch = (m: Row) => typeof m['fast_slow/pool_size'] === 'number';
const promptIds = (rows: Row[]): number[] =>
  [...new Set(rows.flatMap((m) => Object.keys(m).flatMap((k) => /^env\/prompt_(\d+)\/frac_rollouts$/.exec(k)?.[1] ?? []).map(Number)))].sort((a, b) => a - b);

export function fastSlowSection(d: ReportData): string {
  const batches = d.metrics.filter(isBatch);
  if (!batches.length) return '';
  const ids = promptIds(batches);
  const t = d.metrics.find((m) => m.key === 'final-2x2');
  const cell = (w: string, p: string) => num(t?.[`test/2x2/${w}_weights/${p}_prompt/correct`]);
  const table = t
    ? `<table data-table="fast-slow-2x2"><tr><th>test accuracy</th><th>seed prompt</th><th>best prompt (${esc(t['fast_slow/best_prompt_id'])})</th></tr><tr><th>base weights</th><td>${cell('base', 'seed')}</td><td>${cell('base', 'best')}</td></tr><tr><th>trained weights</th><td>${cell('trained', 'seed')}</td><td>${cell('trained', 'best')}</td></tr></table>`
    : '<p class="empty">no 2x2 table (the run has not finished)</p>';
  // KL(pi_theta || pi_base) on the seed prompt's test rollouts at each evaluation (core/klToBase.ts)
  const klRows = d.metrics.filter((m) => typeof m['test/kl_to_base'] === 'number');
  const kl = klRows.length
    ? `<table data-table="fast-slow-kl"><tr><th>row</th><th>step</th><th>KL(π_θ‖π_base) per token</th><th>k1</th><th>k3</th><th>tokens</th></tr>${klRows
        .map((m) => `<tr><td>${esc(m.key)}</td><td>${esc(m.step)}</td><td>${esc(sig(m['test/kl_to_base']))}</td><td>${esc(sig(m['test/kl_to_base/k1']))}</td><td>${esc(sig(m['test/kl_to_base/k3']))}</td><td>${esc(m['test/kl_to_base/tokens'])}</td></tr>`)
        .join('')}</table>`
    : '<p class="empty">KL to the base not measured (see the run\'s warnings: policy.backend=tinker does not measure it)</p>';
  const pool = batches
    .map((m) => {
      const cells = ids.map((id) => (typeof m[`env/prompt_${id}/frac_rollouts`] === 'number' ? `${num(m[`env/prompt_${id}/frac_rollouts`])} · ${num(m[`env/prompt_${id}/reward/total`])}` : ''));
      const event = [m['gepa/event'] ? `round: ${m['gepa/event']}${m['gepa/child'] !== undefined ? ` (child ${m['gepa/child']} of ${m['gepa/parent']})` : ''}` : '', typeof m['gepa/accepted'] === 'number' ? `child ${m['gepa/verdict_child']} ${m['gepa/accepted'] ? 'kept' : 'dropped'} (${num(m['gepa/child_mean'])} vs ${num(m['gepa/parent_mean'])})` : '']
        .filter(Boolean)
        .join('; ');
      return `<tr><td>${esc(m['progress/batch'])}</td><td>${esc(m['fast_slow/pool_size'])}</td><td>${esc(m['fast_slow/best_prompt_id'])}</td>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}<td>${esc(event)}</td></tr>`;
    })
    .join('');
  const series: Series[] = ids.map((id, i) => ({
    name: `prompt ${id}`,
    color: COLORS[i % COLORS.length],
    points: batches.filter((m) => typeof m[`env/prompt_${id}/reward/total`] === 'number').map((m) => [m['progress/batch'], m[`env/prompt_${id}/reward/total`]] as [number, number]),
  }));
  const children = d.proposals
    .filter((p) => typeof p.key === 'string' && /^(round|verdict)-/.test(p.key))
    .map((p) => `<tr><td>${esc(p.round)}</td><td>${esc(p.step)}</td><td>${esc(p.parent)}</td><td>${esc(p.child ?? '')}</td><td>${esc(p.outcome)}</td><td>${esc(p.judged_on ? `${num(p.child_mean)} vs ${num(p.parent_mean)} on ${p.n_pairs}` : (p.reason ?? ''))}</td><td><pre>${esc(String(p.text ?? '').slice(0, 400))}</pre></td></tr>`)
    .join('');
  return `<section data-section="fast-slow"><h2>Fast–slow training</h2>
<h3>2×2 on test</h3>${table}
<h3>KL to the base model on test</h3><p>Per token over the test rollouts of the seed prompt, at their sampling temperature: the whole-vocabulary KL at each sampled position, and the sampled-token estimators k1 (log π_θ − log π_base) and k3 (TRL).</p>${kl}
<h3>The pool over steps</h3><p>Per batch: members in the pool, the best one, and per prompt its share of the batch's rollouts · its mean reward.</p>
<table data-table="fast-slow-pool"><tr><th>batch</th><th>pool</th><th>best</th>${ids.map((id) => `<th>prompt ${id}</th>`).join('')}<th>GEPA</th></tr>${pool}</table>
<div class="charts">${lineChart('fs-prompt-reward', 'train reward per prompt', 'batch', series, { integerX: true })}</div>
<h3>Children</h3><table data-table="fast-slow-children"><tr><th>round</th><th>after step</th><th>parent</th><th>child</th><th>outcome</th><th>verdict (child vs parent mean reward on paired problems)</th><th>proposed text (excerpt)</th></tr>${children}</table></section>`;
}
