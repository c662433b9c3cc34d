/**
 * What the run directories say (runs/<id>/run.json, written at start, at the end, and by the error
 * boundary on failure or cancellation), for `gepa-rl list`: the state a report will show, next to what
 * Temporal says of the workflow.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface RunState {
  run_id: string;
  workflow_id: string;
  workflow_type: string;
  status: string;
  reason?: string;
}

/** Every top-level run directory under `runsDir` with a readable run.json (phases of a composed run are inside their parent). */
export function readRunStates(runsDir: string): RunState[] {
  if (!existsSync(runsDir)) return [];
  const out: RunState[] = [];
  for (const name of readdirSync(runsDir).sort()) {
    try {
      const r = JSON.parse(readFileSync(path.join(runsDir, name, 'run.json'), 'utf8'));
      out.push({ run_id: r.run_id ?? name, workflow_id: String(r.workflow_id ?? ''), workflow_type: String(r.workflow_type ?? '?'), status: String(r.status ?? '?'), reason: typeof r.reason === 'string' ? r.reason : undefined });
    } catch {
      /* not a run directory, or one being written: skip */
    }
  }
  return out;
}

/** `failed: DatasetError: dataset file ... does not exist` (the reason cut to one screen line). */
export function describeRunState(s: RunState): string {
  if (!s.reason) return s.status;
  const r = s.reason.replace(/\s+/g, ' ');
  return `${s.status}: ${r.length > 120 ? `${r.slice(0, 120)}…` : r}`;
}
