/**
 * runs/<id>/report.html: self-contained (inline CSS and SVG, no scripts from anywhere), built from
 * the run directory: facts and config, learning curves, prompt evolution with diffs, GEPA lineage,
 * sample trajectories, checkpoints. Malformed JSONL lines are skipped and listed as warnings.
 *
 * One file per job: load.ts (the run directory read), charts.ts (SVG line charts), curves.ts (the
 * learning curves on a whole-run axis), diff.ts (word diff), gepa.ts (fronts and parent weights per
 * GEPA phase), sections.ts (tables and trees), render.ts (the page), html.ts (escaping, numbers).
 */
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadReportData } from './load';
import { renderReport } from './render';

export { lineChart, type ChartOptions } from './charts';
export { wordDiff } from './diff';
export { gepaPhases } from './gepa';
export { esc } from './html';
export { loadReportData, orderPhases, type ReportData } from './load';
export { renderReport } from './render';

export async function writeReport(runDir: string): Promise<string> {
  if (!existsSync(runDir)) throw new Error(`run directory ${runDir} does not exist`);
  const file = path.join(runDir, 'report.html');
  writeFileSync(file, renderReport(loadReportData(runDir)));
  return file;
}
