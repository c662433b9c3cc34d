/**
 * The run directory (DESIGN §4.6): runs/<id>/config.json, metrics.jsonl, prompts.jsonl, ...
 * Writers are idempotent: every row carries a `key`, and a retried activity that appends a row
 * whose key is already in the file writes nothing.
 */
import { appendFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { FAILURE } from '../failures';
import { parseJsonlLines } from './jsonl';

/**
 * A run directory that cannot be used: a bad run id or a path outside the run. Never retried
 * (src/failure-types.json): the user has to act. A disk that refuses a write is a RunDirWriteError below.
 */
export class RunDirError extends Error {
  override name = FAILURE.RunDirError;
}

/** OS errors of a run directory that no retry fixes: not writable, a file where a folder should be, or a folder where a file should be. */
const NOT_WRITABLE = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOTDIR', 'EEXIST', 'EISDIR']);

/**
 * A run-directory file that could not be written, saying why and what to do. `code` is the OS
 * error. Where no retry helps (NOT_WRITABLE) it is a `RunDirNotWritable`, otherwise a
 * `RunDirWriteError` (ENOSPC: the retried activity writes it again). The class names are the
 * activity failure's type: Temporal takes a thrown error's constructor name, not its `name`.
 */
export class RunDirWriteError extends Error {
  override name: typeof FAILURE.RunDirWriteError | typeof FAILURE.RunDirNotWritable = FAILURE.RunDirWriteError;
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** A run-directory write that no retry fixes (NOT_WRITABLE): never retried (src/failure-types.json). */
export class RunDirNotWritable extends RunDirWriteError {
  override name = FAILURE.RunDirNotWritable;
}

/** `dir`: the folder to blame (the file's own by default; the first one that could not be made) */
function runDirWriteError(e: unknown, file: string, dir = path.dirname(file)): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (!code || e instanceof RunDirWriteError) return e;
  const fix =
    code === 'ENOSPC'
      ? 'the disk holding the run directory is full: free space there, and the retried write completes (rows already written are kept)'
      : code === 'EROFS' || code === 'EACCES' || code === 'EPERM'
        ? `make ${dir} writable by the TS worker, or choose another output_dir`
        : code === 'ENOTDIR' || code === 'EEXIST'
          ? `a file stands where a folder of ${dir} should be: move it away, or choose another output_dir`
          : code === 'EISDIR'
            ? `a folder stands where the file ${file} should be: move it away, or choose another output_dir`
            : 'check the disk and the permissions of the run directory';
  const message = `cannot write ${file}: ${(e as Error).message}; ${fix}`;
  return NOT_WRITABLE.has(code) ? new RunDirNotWritable(message, code) : new RunDirWriteError(message, code);
}

/**
 * mkdir -p for a run-directory file. Node's recursive mkdir reports a read-only or forbidden parent
 * as ENOENT; the failing step is made again alone to get its real error.
 */
async function ensureDirOf(file: string): Promise<void> {
  const dir = path.dirname(file);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    let real = e;
    let existing = dir;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      while (!(await stat(existing).then(() => true, () => false)) && path.dirname(existing) !== existing) existing = path.dirname(existing);
      const next = path.join(existing, path.relative(existing, dir).split(path.sep)[0]);
      real = await mkdir(next).then(() => e, (e2: unknown) => e2);
    }
    throw runDirWriteError(real, file, existing);
  }
}

export function resolveRunDir(outputDir: string, runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId)) {
    throw new RunDirError(`run id must match [A-Za-z0-9._-]+ (got ${JSON.stringify(runId)}): set run.run_id (or the workflow id) to letters, digits, . _ -`);
  }
  return path.resolve(process.env.GEPA_RL_ROOT ?? process.cwd(), outputDir, runId);
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeTextAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Replace `file` with `text` whole or not at all: written to a temporary beside it, then renamed over
 * it, so a crash or a full disk leaves the old file (or none), never a torn one.
 */
export async function writeTextAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await ensureDirOf(file);
    await writeFile(tmp, text);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined); // the old file stays whole; no half-written temporary is left
    throw runDirWriteError(e, file);
  }
}

export async function readJsonl<T = Record<string, unknown>>(file: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  // a torn last line after a crash is skipped: the retried activity rewrites the row
  return parseJsonlLines(text).flatMap((l) => (l.ok ? [l.value as T] : []));
}

/** Append rows whose `key` is not yet in the file. Returns how many were written. */
export async function appendRowsOnce(file: string, rows: Array<{ key: string } & Record<string, unknown>>): Promise<number> {
  await ensureDirOf(file);
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
  // a write cut short (a full disk) leaves a torn last line, which readJsonl skips and the retry starts after
  await appendFile(file, prefix + fresh.map((r) => JSON.stringify(r)).join('\n') + '\n').catch((e) => {
    throw runDirWriteError(e, file);
  });
  return fresh.length;
}
