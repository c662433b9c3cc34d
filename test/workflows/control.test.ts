/**
 * Operating a running experiment (DESIGN §6) on the real dev server with the real trainer worker
 * (tiny random model): pause / resume / stop signals, the set_prompt update and the status,
 * frontier and candidates queries, all sent through the project CLI in-process (main()), and
 * Ctrl-C on an attached `gepa-rl watch` in a child process. Nothing here waits for a fixed time:
 * "paused" is shown by the workflow sitting idle (no pending activity or workflow task) at its
 * step boundary, then moving on only after resume.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { main } from '../../src/cli/main';
import { TASK_QUEUE } from '../../src/constants';
import { gepaOptimization } from '../../src/workflows/gepaOptimization';
import { rlTraining } from '../../src/workflows/rlTraining';
import { statusQueries } from '../../src/workflows/messages';
import { expectStatusShape } from '../helpers/status';
import { createTsWorker, ROOT, startTestEnv, startTrainerWorker, tmpRunsDir, type TrainerProcess } from '../helpers/stack';
import { readJsonlFile } from '../helpers/io';

let env: TestWorkflowEnvironment;
let trainerProc: TrainerProcess;
let worker: Worker;
let workerRun: Promise<void>;
let taskFile: string;
const savedAddress = process.env.TEMPORAL_ADDRESS;

beforeAll(async () => {
  env = await startTestEnv();
  trainerProc = await startTrainerWorker(env.address);
  worker = await createTsWorker(env, TASK_QUEUE);
  workerRun = worker.run();
  // the CLI connects the standard way (envconfig reads TEMPORAL_ADDRESS)
  process.env.TEMPORAL_ADDRESS = env.address;
  taskFile = path.join(mkdtempSync(path.join(tmpdir(), 'ctltask-')), 'vowels.jsonl');
  writeFileSync(taskFile, Array.from({ length: 30 }, (_, i) => JSON.stringify({ question: `Say something ${i}`, answer: '[aeiou]{2}' })).join('\n'));
}, 600_000);

afterAll(async () => {
  if (savedAddress === undefined) delete process.env.TEMPORAL_ADDRESS;
  else process.env.TEMPORAL_ADDRESS = savedAddress;
  worker?.shutdown();
  await workerRun;
  await trainerProc?.stop();
  await env?.teardown();
});

const policy = { base_model: 'tiny-random', lora_rank: 4, lora_alpha: 8, lora_target_modules: ['q_proj', 'v_proj'], max_tokens: 6 };
const task = () => ({ env: 'jsonl', jsonl_path: taskFile, jsonl_grader: 'regex', n_val: 2 });
const jsonl = (f: string) => (existsSync(f) ? readJsonlFile(f) : []);

/** Run the CLI in-process; returns what it printed. */
async function cli(...argv: string[]): Promise<string> {
  const out: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  try {
    await main(argv);
  } finally {
    log.mockRestore();
  }
  return out.join('\n');
}

async function cliError(...argv: string[]): Promise<Error> {
  const e = await cli(...argv).then(
    () => null,
    (err: Error) => err,
  );
  if (!e) throw new Error(`expected gepa-rl ${argv.join(' ')} to fail`);
  return e;
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  for (let i = 0; ; i++) {
    const v = await probe();
    if (v) return v;
    if (i > 6000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The workflow has nothing in flight: no activity and no workflow task pending, so it waits on a condition. */
async function idle(h: WorkflowHandle): Promise<boolean> {
  const d = await h.describe();
  return d.status.name === 'RUNNING' && !(d.raw.pendingActivities?.length ?? 0) && !d.raw.pendingWorkflowTask;
}

test('rlTraining: pause holds it at the step boundary, set_prompt changes the prompt, resume goes on, stop finishes the current batch', async () => {
  const runs = tmpRunsDir();
  const id = `ctl-rl-${Date.now()}`;
  const nBatches = 8;
  const h = await env.client.workflow.start(rlTraining, {
    taskQueue: TASK_QUEUE,
    workflowId: id,
    args: [
      {
        run: { run_id: 'ctl-rl', output_dir: runs, seed: 5, trainer_heartbeat_timeout_s: 5 },
        task: task(),
        policy,
        rl: { n_batches: nBatches, groups_per_batch: 2, group_size: 2, learning_rate: 1e-3, eval_every: 0 },
        n_eval: 2,
        system_prompt: 'Be brief.',
      },
    ],
  });
  expect(await cli('pause', id)).toBe(`sent pause to ${id}`);

  // after the start evaluation it reaches the first step boundary and stays there
  const paused = await until('rlTraining to sit paused after its start evaluation', async () => {
    const s = (await h.query('status')) as Record<string, any>;
    return s.paused && s.test_accuracy !== null && (await idle(h)) ? s : null;
  });
  expect(paused.batch).toBe(0);
  expect(paused.progress).toEqual({ done: 0, total: nBatches, unit: 'batches' });
  expect(paused.phase).toBe('eval'); // 'sampling' is set only after the boundary
  const runDir = path.join(runs, 'ctl-rl');
  expect(jsonl(path.join(runDir, 'metrics.jsonl')).filter((m) => String(m.key).startsWith('batch-'))).toEqual([]);
  const statusOut = JSON.parse(await cli('status', id));
  expect(statusOut).toMatchObject({ paused: true, batch: 0, n_batches: nBatches, system_prompt: 'Be brief.' });

  // set_prompt while paused: answered with the previous prompt, visible in status, used by every batch after
  const newPrompt = 'Answer with vowels.';
  expect(await cli('set-prompt', id, newPrompt)).toBe('prompt replaced; previous: "Be brief."');
  expect(((await h.query('status')) as any).system_prompt).toBe(newPrompt);
  const bad = await cliError('set-prompt', id, '   ');
  expect(bad.message).toBe('set-prompt needs the new prompt: gepa-rl set-prompt <id> <text | @file>');
  // the update's validator, reached through the API, names what it received
  const rejected = await h.executeUpdate('set_prompt', { args: [''] }).then(() => null, (e: Error) => e);
  let inner = rejected as Error | null;
  while (inner?.cause instanceof Error) inner = inner.cause;
  expect(inner?.message).toBe('set_prompt needs a non-empty string (got "")');
  expect(await idle(h)).toBe(true); // still held: neither the update nor the query moved it on
  expect(((await h.query('status')) as any).batch).toBe(0);

  expect(await cli('resume', id)).toBe(`sent resume to ${id}`);
  await until('batch 1 to start', async () => ((await h.query('status')) as any).batch >= 1);
  // a prompt set at a later boundary, when the next batch's prompts were already built (while the
  // batch before it trained) under the previous one: that batch builds them again under the new one
  expect(await cli('pause', id)).toBe(`sent pause to ${id}`);
  const held = await until('rlTraining to sit paused at a later boundary', async () => {
    const s = (await h.query('status')) as Record<string, any>;
    return s.paused && (await idle(h)) ? s : null;
  });
  const second = 'Answer in one word.';
  expect(await cli('set-prompt', id, second)).toBe(`prompt replaced; previous: "${newPrompt}"`);
  expect(await cli('resume', id)).toBe(`sent resume to ${id}`);
  await until('the batch after the second prompt to start', async () => ((await h.query('status')) as any).batch > held.batch);
  expect(await cli('stop', id)).toBe(`sent stop to ${id}`);
  const r = await h.result();
  expect(r.stopped).toBe(true);
  expect(r.batches_done).toBeGreaterThanOrEqual(2);
  expect(r.batches_done).toBeLessThan(nBatches);
  // the batch running when stop arrived finished: one metrics row per batch done, none after
  const rows = jsonl(path.join(runDir, 'metrics.jsonl')).filter((m) => String(m.key).startsWith('batch-'));
  expect(rows.map((m) => m['progress/batch'])).toEqual(Array.from({ length: r.batches_done }, (_, i) => i));
  // every batch trained under the prompt set at the boundary before it
  const samples = jsonl(path.join(runDir, 'samples.jsonl'));
  expect(samples.length).toBeGreaterThan(0);
  expect(samples.some((s) => s.step > held.batch)).toBe(true);
  for (const s of samples) expect(s.prompt.find((m: any) => m.role === 'system')?.content).toBe(s.step > held.batch ? second : newPrompt);
  expect(JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')).status).toBe('stopped');
  // the metrics query summarises exactly what metrics.jsonl holds: its row count and each metric's latest value
  const all = jsonl(path.join(runDir, 'metrics.jsonl'));
  const summary = (await h.query('metrics')) as { rows: number; last_key: string; latest: Record<string, unknown> };
  expect(summary.rows).toBe(all.length);
  expect(summary.last_key).toBe(all[all.length - 1].key);
  expect(summary.latest['env/all/reward/total']).toBe(rows[rows.length - 1]['env/all/reward/total']);
  expect(summary.latest['progress/batch']).toBe(r.batches_done - 1);
  // a finished workflow cannot take a new prompt
  expect((await cliError('set-prompt', id, 'late')).message).toBe(`workflow ${id} is COMPLETED, not running; set-prompt changes a running workflow`);
});

test('gepaOptimization: frontier and candidates queries, set_prompt refused clearly, Ctrl-C on watch detaches, stop while paused ends it', async () => {
  const runs = tmpRunsDir();
  const id = `ctl-gepa-${Date.now()}`;
  const h = await env.client.workflow.start(gepaOptimization, {
    taskQueue: TASK_QUEUE,
    workflowId: id,
    args: [
      {
        run: { run_id: 'ctl-gepa', output_dir: runs, seed: 1, trainer_heartbeat_timeout_s: 5 },
        task: task(),
        policy,
        reflection: { provider: 'scripted' },
        gepa: { max_metric_calls: 40, parallelism: 1 },
      },
    ],
  });
  await cli('pause', id);
  await until('the seed candidate to be evaluated and GEPA to sit paused', async () => {
    const s = (await h.query('status')) as Record<string, any>;
    return s.paused && s.n_candidates === 1 && (await idle(h));
  });
  const gepaStatus = await h.query(statusQueries.gepaOptimization);
  expectStatusShape(gepaStatus, 'metric calls');
  expect(gepaStatus.progress).toEqual({ done: gepaStatus.metric_calls, total: 40, unit: 'metric calls' });
  const candidates = (await h.query('candidates')) as Array<Record<string, any>>;
  expect(candidates.map((c) => [c.id, c.parents])).toEqual([[0, []]]);
  const front = (await h.query('frontier')) as { fronts: number[][]; best_per_instance: number[] };
  expect(front.fronts).toEqual([[0], [0]]); // one front per val instance, the seed on each
  expect(front.best_per_instance.reduce((a, b) => a + b, 0) / 2).toBeCloseTo(candidates[0].val_mean);

  const refused = await cliError('set-prompt', id, 'a new prompt');
  expect(refused.name).toBe('UsageError');
  expect(refused.message).toBe(`workflow ${id} (gepaOptimization) does not accept set_prompt: its prompt cannot be replaced while it runs (rlTraining and gepaRlAlternation accept it; fastSlowTraining adds it to its prompt pool)`);

  // an attached watch in its own process: Ctrl-C detaches, the process exits, the run goes on
  const child = spawn(process.execPath, ['-r', path.join(ROOT, 'test/cli/tsRegister.js'), path.join(ROOT, 'src/cli/main.ts'), 'watch', id], {
    cwd: ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: env.address },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  child.stderr.on('data', (d) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await until('watch to print a progress line', async () => out.includes('PAUSED') || child.exitCode !== null);
  expect(out).toMatch(/^\[.+\] .* \d+\/40 .*PAUSED/m); // a progress line: [phase] bar budget used/limit ...
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(out).toContain(`detached; the run goes on. Reattach: gepa-rl watch ${id}`);
  expect((await h.describe()).status.name).toBe('RUNNING');

  await cli('stop', id);
  const r = await h.result();
  expect(r.candidates.map((c) => c.id)).toEqual([0]);
  expect(JSON.parse(readFileSync(path.join(runs, 'ctl-gepa', 'run.json'), 'utf8')).status).toBe('stopped');
});

test('unknown workflow ids: one-line messages from status, stop and replay', async () => {
  const status = await cliError('status', 'no-such-workflow-xyz');
  expect(status.name).toBe('UsageError');
  expect(status.message).toBe(`no workflow with id "no-such-workflow-xyz" (see 'gepa-rl list')`);
  expect((await cliError('stop', 'no-such-workflow-xyz')).name).toBe('UsageError');
  process.exitCode = 0;
  const out = await cli('replay', 'no-such-workflow-xyz');
  expect(out).toContain(`no workflow with id "no-such-workflow-xyz" on the server`);
  expect(process.exitCode).toBe(1);
  process.exitCode = 0;
});
