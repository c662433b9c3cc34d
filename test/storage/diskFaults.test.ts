/**
 * Disk faults of the run directory (issue 15, item 6) on a real 2 MB tmpfs: a disk that fills up
 * while metrics rows or run.json are written, and a run directory that is not writable. Each is an
 * error that says what to do; nothing already written is lost and no half-written file is left.
 */
import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { appendRows, prepareRun } from '../../src/activities/run';
import { readJsonl, RunDirWriteError, writeJsonAtomic } from '../../src/storage/runDir';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs';

let disk: Tmpfs;
beforeEach(() => {
  disk = mountTmpfs('2m');
});
afterEach(() => disk.unmount());

const prepare = (runId: string) => prepareRun({ run_id: runId, output_dir: disk.dir, workflow_type: 'rlTraining', workflow_id: `wf-${runId}`, config: { x: 1 } });
const row = (step: number, pad = 0) => ({ key: `step-${step}`, step, 'env/all/reward/total': step / 10, ...(pad ? { pad: 'x'.repeat(pad) } : {}) });

test('a disk that fills up mid-append: a clear error, earlier metrics rows intact, the retry writes each row once', async () => {
  const paths = await prepare('r1');
  await appendRows({ run_dir: paths.run_dir, file: 'metrics.jsonl', rows: [row(0), row(1)] });
  const file = path.join(paths.run_dir, 'metrics.jsonl');
  const before = readFileSync(file, 'utf8');
  const filler = disk.fill();

  // rows bigger than a page: the append is cut short part-way, as a real full disk does
  const err = await appendRows({ run_dir: paths.run_dir, file: 'metrics.jsonl', rows: [row(2, 6000), row(3, 6000)] }).catch((e) => e);
  expect(err).toBeInstanceOf(RunDirWriteError);
  expect(err).toMatchObject({ name: 'RunDirWriteError', code: 'ENOSPC' });
  expect(err.message).toMatch(new RegExp(`^cannot write ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOSPC: no space left on device.*; the disk holding the run directory is full: free space there, and the retried write completes`));
  // nothing already written is lost: the file begins with exactly the rows it had
  expect(readFileSync(file, 'utf8').startsWith(before)).toBe(true);
  // ... followed by the torn fragment the full disk let through (the file's last page had room)
  expect(readFileSync(file, 'utf8').length).toBeGreaterThan(before.length);
  expect((await readJsonl<{ key: string }>(file)).slice(0, 2).map((r) => r.key)).toEqual(['step-0', 'step-1']);

  unlinkSync(filler);
  expect(await appendRows({ run_dir: paths.run_dir, file: 'metrics.jsonl', rows: [row(2, 6000), row(3, 6000)] })).toBeGreaterThan(0);
  const rows = await readJsonl<{ key: string; step: number }>(file);
  expect(rows.map((r) => r.key)).toEqual(['step-0', 'step-1', 'step-2', 'step-3']);
  expect(rows[3]).toMatchObject({ step: 3, pad: 'x'.repeat(6000) });
  expect(readFileSync(file, 'utf8').startsWith(before)).toBe(true);
});

test('a disk that fills up while run.json is rewritten: the old run.json stays whole, no temporary is left', async () => {
  const paths = await prepare('r2');
  const runJson = path.join(paths.run_dir, 'run.json');
  const before = readFileSync(runJson, 'utf8');
  const filler = disk.fill();
  const err = await writeJsonAtomic(runJson, { status: 'completed', summary: { pad: 'x'.repeat(20000) } }).catch((e) => e);
  expect(err).toMatchObject({ name: 'RunDirWriteError', code: 'ENOSPC' });
  expect(readFileSync(runJson, 'utf8')).toBe(before);
  expect(JSON.parse(before)).toMatchObject({ status: 'running' });
  expect(readdirSync(paths.run_dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  unlinkSync(filler);
});

test('a run directory that is not writable: the first write says which folder to make writable', async () => {
  disk.readOnly();
  const err = await prepare('r3').catch((e) => e);
  expect(err).toBeInstanceOf(RunDirWriteError);
  expect(err).toMatchObject({ code: 'EROFS', name: 'RunDirNotWritable' }); // the failure type to list as non-retryable
  expect(err.constructor.name).toBe('RunDirNotWritable'); // the type Temporal reports: it takes the constructor's name
  expect(err.message).toMatch(/^cannot write .*\/r3\/config\.json: EROFS: read-only file system, mkdir '.*\/r3'; make (\S+) writable by the TS worker, or choose another output_dir$/);
  expect(err.message).toContain(`make ${disk.dir} writable`);
});
