/** Rendering: the page, its styles and the order of its sections. */
import * as path from 'node:path';
import { learningCurves } from './curves';
import { gepaPhases } from './gepa';
import { esc } from './html';
import type { ReportData } from './load';
import { checkpointRows, factsRows, lineageTrees, paretoTables, promptRows, proposalRows, sampleDetails } from './sections';
import { fastSlowSection } from './fastSlow';

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}h1{font-size:22px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}.charts{display:flex;flex-wrap:wrap;gap:16px}
svg text{font-size:11px;fill:#444}.grid{stroke:#eee}.axis{stroke:#888}ins{background:#d4f7d4;text-decoration:none}del{background:#fbd4d4}.diff{white-space:pre-wrap;max-width:700px}
tr.front td{background:#eef7ee}.tree ul{list-style:none;margin:0;padding-left:22px;border-left:1px dashed #ccc}.tree>ul{border-left:none;padding-left:0}.tree li{margin:3px 0}.tags{color:#555}
pre{white-space:pre-wrap;margin:2px 0;background:#f7f7f7;padding:6px}.msg{margin:4px 0}.warn{background:#fff4d6;padding:8px}.empty{color:#999}
`;

export function renderReport(d: ReportData): string {
  const charts = learningCurves(d);
  const prompts = promptRows(d);
  // before the warnings are drawn: GEPA phases that cannot have a front add one
  const gepaByPhase = gepaPhases(d.prompts, d.warnings);
  const proposals = proposalRows(d);
  const runId = esc(d.run?.run_id ?? path.basename(d.dir));
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>gepa-rl report ${runId}</title><style>
${STYLE}</style></head><body>
<h1>gepa-rl report · ${runId}${typeof d.config?.run?.name === 'string' ? ` · ${esc(d.config.run.name)}` : ''}</h1>
<section data-section="facts"><h2>Run</h2><table>${factsRows(d).join('') || '<tr><td>no run.json</td></tr>'}</table>
<details><summary>config</summary><pre>${esc(JSON.stringify(d.config, null, 2))}</pre></details></section>
${d.warnings.length ? `<section class="warn" data-section="warnings"><b>warnings</b><ul>${d.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>` : ''}
<section data-section="curves"><h2>Learning curves</h2><div class="charts">${charts.join('')}</div></section>
${fastSlowSection(d)}
<section data-section="prompts"><h2>Prompt evolution</h2><table data-table="prompts"><tr><th>phase</th><th>candidate</th><th>parents</th><th>val score</th><th>metric calls</th><th>prompt (diff against parent)</th></tr>${prompts.join('')}</table>${prompts.length ? '' : '<p class="empty">no data</p>'}</section>
<section data-section="proposals"><h2>GEPA proposals</h2><p>Every reflection proposal with its outcome: accepted, rejected on the minibatch, or rejected before evaluation (truncated, unclosed fence, empty, unchanged, too long, a reflection error); rejected ones are shown back to the reflector.</p><table data-table="proposals"><tr><th>phase</th><th>iteration</th><th>component</th><th>parent</th><th>outcome</th><th>reason</th><th>tokens in / out</th><th>proposed text (excerpt)</th></tr>${proposals.join('')}</table>${proposals.length ? '' : '<p class="empty">no data</p>'}</section>
<section data-section="pareto"><h2>GEPA Pareto front</h2><p>Per val instance, the front is the set of candidates with the best score on it; parents are drawn from the front in proportion to the instances they win (dominated candidates excluded).</p>${paretoTables(gepaByPhase)}</section>
<section data-section="lineage"><h2>GEPA candidate lineage</h2>${lineageTrees(gepaByPhase)}</section>
<section data-section="samples"><h2>Sample trajectories</h2>${sampleDetails(d).join('') || '<p class="empty">no data</p>'}</section>
<section data-section="checkpoints"><h2>Checkpoints</h2><table data-table="checkpoints"><tr><th>phase</th><th>step</th><th>path</th><th>loss</th></tr>${checkpointRows(d).join('')}</table></section>
</body></html>`;
}
