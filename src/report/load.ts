/** Loading: the run directory read into ReportData (run.json, config.json, every phase's JSONL rows). */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parseJsonlLines } from '../storage/jsonl';

export type Row = Record<string, any>;

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

/** A JSONL file's rows tagged with their phase; a malformed line is skipped and listed as a warning. */
function readJsonl(file: string, phase: string | null, warnings: string[]): Row[] {
  if (!existsSync(file)) return [];
  return parseJsonlLines(readFileSync(file, 'utf8')).flatMap((l) => {
    if (!l.ok) {
      warnings.push(`${file}:${l.lineNo}: not JSON, skipped`);
      return [];
    }
    const r = l.value as Row;
    return [phase && r.phase === undefined ? { ...r, phase } : r];
  });
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
