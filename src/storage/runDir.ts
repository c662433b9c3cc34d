/**
 * The run directory (DESIGN §4.6): runs/<id>/config.json, metrics.jsonl, prompts.jsonl, ...
 * Writers are idempotent: every row carries a `key`, and a retried activity that appends a row
 * whose key is already in the file writes nothing.
 */
import { appendFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { FAILURE } from '../failures';

/**
 * A run directory that cannot be used: a bad run id, a path outside the run, or the disk refusing the
 * write (permission denied, read-only, full). Never retried (src/failure-types.json): a retry five times in a
 * row hits the same wall, and the user has to act.
 */
export class RunDirError extends Error {
  override name = FAILURE.RunDirError;
}

const DISK_CODES: Record<string, string> = {
  EACCES: 'permission denied: make it writable by the worker, or set run.output_dir to a writable folder',
  EPERM: 'permission denied: make it writable by the worker, or set run.output_dir to a writable folder',
  EROFS: 'the file system is read-only: set run.output_dir to a writable folder',
  ENOSPC: 'the disk is full: free space (old runs/ folders, blobs), then start the run again',
  EDQUOT: 'the disk quota is exhausted: free space, then start the run again',
};

/** Run a write; an error of the disk (not of the code) becomes a RunDirError that says what to do. */
async function onDisk<T>(file: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && DISK_CODES[code]) throw new RunDirError(`cannot write ${file} (${code}): ${DISK_CODES[code]}`);
    throw e;
  }
}

export function resolveRunDir(outputDir: string, runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId)) {
    throw new RunDirError(`run id must match [A-Za-z0-9._-]+ (got ${JSON.stringify(runId)}): set run.run_id (or the workflow id) to letters, digits, . _ -`);
  }
  return path.resolve(process.env.GEPA_RL_ROOT ?? process.cwd(), outputDir, runId);
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await onDisk(file, async () => {
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, JSON.stringify(value, null, 2) + '\n');
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true }); // a half-written temp file is never left behind (the old file stays whole)
      throw e;
    }
  });
}

export async function readJsonl<T = Record<string, unknown>>(file: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  const rows: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as T);
    } catch {
      // a torn last line after a crash: skip it, the retried activity rewrites the row
    }
  }
  return rows;
}

/** Append rows whose `key` is not yet in the file. Returns how many were written. */
export async function appendRowsOnce(file: string, rows: Array<{ key: string } & Record<string, unknown>>): Promise<number> {
  await onDisk(file, () => mkdir(path.dirname(file), { recursive: true }));
  const existing = new Set((await readJsonl<{ key?: string }>(file)).map((r) => r.key));
  const fresh = rows.filter((r) => !existing.has(r.key));
  if (fresh.length === 0) return 0;
  // Start on a new line even if a crash left a torn last line.
  let prefix = '';
  try {
    const text = await readFile(file, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) prefix = '\n';
  } catch {
    /* new file */
  }
  await onDisk(file, () => appendFile(file, prefix + fresh.map((r) => JSON.stringify(r)).join('\n') + '\n'));
  return fresh.length;
}
