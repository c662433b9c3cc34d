/**
 * The run directory (DESIGN §4.6): runs/<id>/config.json, metrics.jsonl, prompts.jsonl, ...
 * Writers are idempotent: every row carries a `key`, and a retried activity that appends a row
 * whose key is already in the file writes nothing.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

export function resolveRunDir(outputDir: string, runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId)) {
    throw new Error(`run id must match [A-Za-z0-9._-]+ (got ${JSON.stringify(runId)})`);
  }
  return path.resolve(process.env.GEPA_RL_ROOT ?? process.cwd(), outputDir, runId);
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n');
  await rename(tmp, file);
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
  await mkdir(path.dirname(file), { recursive: true });
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
  await appendFile(file, prefix + fresh.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return fresh.length;
}
