/** Run-directory activities: create runs/<id>/, write config.json and run.json, append rows. */
import * as path from 'node:path';
import { readFile } from 'node:fs/promises';
import { appendRowsOnce, resolveRunDir, RunDirError, writeJsonAtomic, writeTextAtomic } from '../storage/runDir';
import { blobDirOf } from '../storage/blobs';

export interface PrepareRunRequest {
  run_id: string;
  output_dir: string;
  workflow_type: string;
  workflow_id: string;
  config: unknown;
  /** sub-folder for a phase of a composed run (round0_rl, round1_gepa ...) */
  phase?: string;
}

export interface RunPaths {
  run_dir: string; // absolute: runs/<id> (or runs/<id>/<phase>)
  root_run_dir: string; // absolute: runs/<id>
  blob_dir: string; // absolute: runs/<id>/blobs (shared by all phases)
  checkpoint_root: string; // absolute: <run_dir>/checkpoints
}

export async function prepareRun(req: PrepareRunRequest): Promise<RunPaths> {
  const root = resolveRunDir(req.output_dir, req.run_id);
  const runDir = req.phase ? path.join(root, req.phase) : root;
  await writeJsonAtomic(path.join(runDir, 'config.json'), req.config);
  await writeJsonAtomic(path.join(runDir, 'run.json'), {
    run_id: req.run_id,
    workflow_type: req.workflow_type,
    workflow_id: req.workflow_id,
    phase: req.phase ?? null,
    started_at: new Date().toISOString(),
    status: 'running',
  });
  return { run_dir: runDir, root_run_dir: root, blob_dir: blobDirOf(root), checkpoint_root: path.join(runDir, 'checkpoints') };
}

export interface AppendRowsRequest {
  run_dir: string;
  file: string; // relative to run_dir: metrics.jsonl, prompts.jsonl, samples.jsonl ...
  rows: Array<{ key: string } & Record<string, unknown>>;
}

export async function appendRows(req: AppendRowsRequest): Promise<number> {
  if (req.file.includes('..')) throw new RunDirError(`file must stay inside the run dir (got ${req.file})`);
  return appendRowsOnce(path.join(req.run_dir, req.file), req.rows);
}

export interface FinishRunRequest {
  run_dir: string;
  /** failed and cancelled are written by the error boundary (src/workflows/boundary.ts) */
  status: 'completed' | 'stopped' | 'failed' | 'cancelled';
  summary: Record<string, unknown>;
  /** text files the finished run leaves in its directory (GEPA: best_prompt.txt), each written whole before run.json says finished */
  files?: Record<string, string>;
}

export async function finishRun(req: FinishRunRequest): Promise<void> {
  for (const [name, text] of Object.entries(req.files ?? {})) {
    if (name.includes('..') || path.isAbsolute(name)) throw new RunDirError(`file must stay inside the run dir (got ${name})`);
    await writeTextAtomic(path.join(req.run_dir, name), text);
  }
  const file = path.join(req.run_dir, 'run.json');
  let started: Record<string, unknown> = {};
  try {
    started = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    /* no run.json: write a fresh one */
  }
  const reason = typeof req.summary.error === 'string' ? { reason: req.summary.error } : {};
  const at = typeof req.summary.step === 'string' && (req.status === 'failed' || req.status === 'cancelled') ? { at: req.summary.step } : {};
  await writeJsonAtomic(file, { ...started, status: req.status, ...reason, ...at, finished_at: new Date().toISOString(), summary: req.summary });
}

export async function writeJson(req: { run_dir: string; file: string; value: unknown }): Promise<void> {
  if (req.file.includes('..')) throw new RunDirError(`file must stay inside the run dir (got ${req.file})`);
  await writeJsonAtomic(path.join(req.run_dir, req.file), req.value);
}
