/**
 * The trace and evaluation files (traceGeneration, evaluation, tau2 evaluation) are replaced whole or
 * not at all, as run.json is (issue 23): on a real 2 MB tmpfs filled to its last byte, a rewrite that
 * does not fit fails with the disk's error and leaves every earlier file exactly as it was, with no
 * temporary left beside it. (A plain writeFile truncates first: the file would be torn.)
 */
import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { writeEvaluation, writeTraceFiles } from '../../src/activities/expert';
import type { ScoredSample } from '../../src/activities/tasks';
import { writeTau2Evaluation } from '../../src/activities/tau2';
import { emptyUsage, type Tau2EpisodeSummary } from '../../src/core/tau2';
import { taskConfigSchema } from '../../src/config/task';
import { FileBlobStore } from '../../src/storage/blobs';
import { loadTau2Split } from '../../src/tasks/tau2/data';
import { tmpRunsDir } from '../helpers/stack';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs';

let disk: Tmpfs;
beforeEach(() => {
  disk = mountTmpfs('2m');
});
afterEach(() => disk.unmount());

const blobs = new FileBlobStore(tmpRunsDir()); // the blobs live on the real disk; only the run directory is full
const sample = (index: number, output: string): ScoredSample => ({ index, id: `p${index}`, sample_index: 0, input: 'q', messages: [], output, reward: 1, correct: true, format_ok: true, extracted: '1', feedback: 'ok', num_tokens: 3 });

/** Every file of `dir` and its text. */
const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]));

test('evaluation.csv and evaluation.json: a rewrite on a full disk leaves both whole', async () => {
  const run_dir = path.join(disk.dir, 'e');
  await writeEvaluation({ run_dir, traces_refs: [await blobs.put([sample(0, 'short'), sample(1, 'short')])] });
  const before = snapshot(run_dir);
  expect(Object.keys(before).sort()).toEqual(['evaluation.csv', 'evaluation.json']);
  const filler = disk.fill();
  // each completion is many pages: a truncating write would get some of it onto the freed page, then fail
  const big = await blobs.put([sample(0, 'x'.repeat(30_000)), sample(1, 'y'.repeat(30_000))]);
  await expect(writeEvaluation({ run_dir, traces_refs: [big] })).rejects.toMatchObject({ code: 'ENOSPC' });
  expect(snapshot(run_dir)).toEqual(before);
  unlinkSync(filler);
  await writeEvaluation({ run_dir, traces_refs: [big] });
  expect(readFileSync(path.join(run_dir, 'evaluation.csv'), 'utf8')).toContain('x'.repeat(30_000));
});

test('traces.jsonl, traces.stats.json and sft_examples.json: a rewrite on a full disk leaves all three whole', async () => {
  const run_dir = path.join(disk.dir, 't');
  const req = (output: string) => ({ run_dir, task: taskConfigSchema.parse({ env: 'arithmetic', n_train: 4 }), system_prompt: 'Be brief.', indices: [0, 1], max_attempts: 1 });
  await writeTraceFiles({ ...req('a'), traces_refs: [await blobs.put([sample(0, 'a'), sample(1, 'b')])] });
  const before = snapshot(run_dir);
  expect(Object.keys(before).sort()).toEqual(['sft_examples.json', 'traces.jsonl', 'traces.stats.json']);
  const filler = disk.fill();
  const big = await blobs.put([sample(0, 'x'.repeat(30_000)), sample(1, 'y'.repeat(30_000))]);
  await expect(writeTraceFiles({ ...req('x'), traces_refs: [big] })).rejects.toMatchObject({ code: 'ENOSPC' });
  expect(snapshot(run_dir)).toEqual(before);
  unlinkSync(filler);
});

test('tau2_evaluation.json: a rewrite on a full disk leaves it whole', async () => {
  const run_dir = path.join(disk.dir, 'u');
  const ids = loadTau2Split('test').map((t) => t.id);
  const episode = (task_id: string, trial: number): Tau2EpisodeSummary => ({ task_id, trial, seed: trial, success: trial % 2 === 0, termination: 'user_stop', db_changing: false, usage: emptyUsage(), steps: 4, tool_errors: 0, attempt: 1, resumed_from_step: 0, trace_ref: { uri: 'x', sha256: 'x', bytes: 1 } });
  const traces = async (episodes: Tau2EpisodeSummary[]) => [await blobs.put(episodes.map((e, i) => ({ ...sample(i, ''), episode: e })))];
  await writeTau2Evaluation({ run_dir, split: 'test', traces_refs: await traces([episode(ids[0], 0)]) });
  const before = snapshot(run_dir);
  expect(Object.keys(before)).toEqual(['tau2_evaluation.json']);
  const filler = disk.fill();
  // 20 tasks x 10 trials: several pages of per-task rows
  const many = ids.flatMap((id) => Array.from({ length: 10 }, (_, t) => episode(id, t)));
  await expect(writeTau2Evaluation({ run_dir, split: 'test', traces_refs: await traces(many) })).rejects.toMatchObject({ code: 'ENOSPC' });
  expect(snapshot(run_dir)).toEqual(before);
  unlinkSync(filler);
});
