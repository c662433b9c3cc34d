/**
 * The one error boundary (src/workflows/boundary.ts) on the real dev server: for every workflow
 * type, an input that makes it fail (an empty split, an unreadable or truncated dataset, a provider
 * without its key, a missing examples file) ends the run with a failure naming the workflow, the
 * step and the cause; the history shows no retry loop (no failed workflow task, the failing activity
 * tried once); run.json says failed with the reason, also for the child of an alternation, and a
 * cancelled run says cancelled. No trainer worker: every case fails before the first policy call.
 * Each case prints how long the run took from start to failure (the closing note's numbers).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { TASK_QUEUE, type WorkflowType } from '../../src/constants';
import { main } from '../../src/cli/main';
import { writeReport } from '../../src/report';
import { pauseSignal, statusQuery, type ProgressUnit } from '../../src/workflows/messages';
import { expectStatusShape } from '../helpers/status';
import { registerScriptedPolicy, registerScriptedReflector } from '../helpers/scripted';
import { createTsWorker, startTestEnv, tmpRunsDir } from '../helpers/stack';

let env: TestWorkflowEnvironment;
let worker: Worker;
let workerRun: Promise<void>;
let dir: string;
let runs: string; // one runs/ folder for every case, so `gepa-rl list --runs` sees them all
const savedAddress = process.env.TEMPORAL_ADDRESS;
const savedKey = process.env.OPENAI_API_KEY;
const timings: Array<[string, number]> = [];

beforeAll(async () => {
  registerScriptedPolicy();
  registerScriptedReflector();
  delete process.env.OPENAI_API_KEY; // the activities run in this process: "a provider without its key"
  env = await startTestEnv();
  worker = await createTsWorker(env, TASK_QUEUE);
  workerRun = worker.run();
  dir = mkdtempSync(path.join(tmpdir(), 'faults-'));
  runs = tmpRunsDir();
  process.env.TEMPORAL_ADDRESS = env.address; // the CLI connects the standard way
  writeFileSync(path.join(dir, 'empty.jsonl'), '');
  writeFileSync(path.join(dir, 'good.jsonl'), Array.from({ length: 20 }, (_, i) => JSON.stringify({ question: `Say ${i}`, answer: 'a' })).join('\n') + '\n');
  // a copy cut mid-line, as a crash or a full disk leaves it
  const good = readFileSync(path.join(dir, 'good.jsonl'), 'utf8');
  writeFileSync(path.join(dir, 'truncated.jsonl'), good.slice(0, good.indexOf('Say 7') + 3));
}, 120_000);

afterAll(async () => {
  if (savedKey !== undefined) process.env.OPENAI_API_KEY = savedKey;
  if (savedAddress === undefined) delete process.env.TEMPORAL_ADDRESS;
  else process.env.TEMPORAL_ADDRESS = savedAddress;
  worker?.shutdown();
  await workerRun;
  await env?.teardown();
  console.log(`time from start to failed run:\n${timings.map(([w, ms]) => `  ${w.padEnd(44)} ${(ms / 1000).toFixed(2)} s`).join('\n')}`);
});

const policy = { base_model: 'tiny-random', lora_rank: 4, lora_alpha: 8, lora_target_modules: ['q_proj', 'v_proj'], max_tokens: 6 };
const apiPolicy = { backend: 'api', api_provider: 'openai', api_model: 'gpt-4o-mini', max_tokens: 6 };
const jsonlTask = (file: string) => ({ env: 'jsonl', jsonl_path: path.join(dir, file), jsonl_grader: 'contains' });

interface Outcome {
  failure: Error & { cause?: Error & { cause?: Error; type?: string } };
  runJson: Record<string, any>;
  history: Array<Record<string, any>>;
  handle: WorkflowHandle;
}

/** What each workflow type's status counts its progress in. */
const PROGRESS_UNIT: Record<WorkflowType, ProgressUnit> = {
  evaluatePrompt: 'problems',
  evaluation: 'problems',
  traceGeneration: 'problems',
  sftTraining: 'steps',
  rlTraining: 'batches',
  expertIteration: 'rounds',
  gepaOptimization: 'metric calls',
  gepaRlAlternation: 'phases',
  fastSlowTraining: 'batches',
};

async function failRun(type: WorkflowType, runId: string, input: Record<string, unknown>, label: string): Promise<Outcome> {
  const t0 = Date.now();
  const handle = await env.client.workflow.start(type, {
    taskQueue: TASK_QUEUE,
    workflowId: `${runId}-${Date.now()}`,
    args: [{ ...input, run: { run_id: runId, output_dir: runs, seed: 1 } }],
  });
  const failure = await handle.result().then(
    () => {
      throw new Error(`${type} completed; expected it to fail (${label})`);
    },
    (e: Outcome['failure']) => e,
  );
  timings.push([`${type} (${label})`, Date.now() - t0]);
  const history = (await handle.fetchHistory()).events as unknown as Array<Record<string, any>>;
  const runJson = readRunJson(runs, runId) ?? { missing: chain(failure) };
  // every type's status fits the shared shape, as it stood when the run failed
  expectStatusShape(await handle.query(statusQuery), PROGRESS_UNIT[type]);
  return { failure, runJson, history, handle };
}

/** No retry loop: no workflow task failed, and no activity was started more than once. */
function expectNoRetries(history: Array<Record<string, any>>): void {
  expect(history.filter((e) => e.workflowTaskFailedEventAttributes).length).toBe(0);
  const attempts = history.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes.attempt);
  expect(attempts.every((a) => a === 1)).toBe(true);
}

/** The failure chain as one string: `WorkflowFailedError <- ActivityFailure <- ApplicationFailure ...` messages. */
function chain(e: Error | undefined): string {
  const parts: string[] = [];
  for (let f: any = e; f; f = f.cause) parts.push(`${f.name}${f.type ? `[${f.type}]` : ''}: ${f.message}`);
  return parts.join(' <- ');
}

test('rlTraining on an empty train split: an error of core code fails the run at once, naming workflow, step and cause', async () => {
  const o = await failRun('rlTraining', 'f-rl', { task: jsonlTask('empty.jsonl'), policy, rl: { n_batches: 2, groups_per_batch: 2, group_size: 2 }, system_prompt: 'x' }, 'empty split');
  expect(o.failure.cause?.type).toBe('UnexpectedError');
  expect(o.failure.cause?.message).toBe('rlTraining failed at phase sampling, batch 0 (last call: activity appendRows): Error: the train split is empty: cannot plan batch 0');
  expectNoRetries(o.history);
  expect(o.runJson).toMatchObject({ status: 'failed', workflow_type: 'rlTraining', reason: expect.stringContaining('the train split is empty') });
  expect(o.runJson.summary).toMatchObject({ phase: 'sampling', batch: 0, step: expect.stringContaining('phase sampling, batch 0') });
});

test('expertIteration on an empty train split fails the same way', async () => {
  const o = await failRun('expertIteration', 'f-expert', { task: jsonlTask('empty.jsonl'), policy, teacher: { provider: 'openai', model: 'gpt-4o-mini' }, expert: { n_rounds: 1 }, system_prompt: 'x' }, 'empty split');
  expect(o.failure.cause?.type).toBe('UnexpectedError');
  expect(o.failure.cause?.message).toMatch(/^expertIteration failed at phase student, round 0.*: Error: the train split is empty/);
  expectNoRetries(o.history);
  expect(o.runJson.status).toBe('failed');
});

test('evaluatePrompt on a dataset file that does not exist: DatasetError, tried once', async () => {
  const o = await failRun('evaluatePrompt', 'f-evalp', { task: jsonlTask('missing.jsonl'), policy, prompt: 'x' }, 'unreadable dataset');
  expect(chain(o.failure)).toMatch(/\[DatasetError\]: dataset file .*missing\.jsonl does not exist/);
  expectNoRetries(o.history);
  expect(o.runJson).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^DatasetError: dataset file .*missing\.jsonl does not exist/) });
});

test('traceGeneration on a dataset file cut mid-line: DatasetError naming file and line', async () => {
  const o = await failRun('traceGeneration', 'f-traces', { task: jsonlTask('truncated.jsonl'), policy: apiPolicy, traces: { n_problems: 4 } }, 'truncated dataset');
  expect(chain(o.failure)).toMatch(/\[DatasetError\]: .*truncated\.jsonl:8: malformed row/);
  expectNoRetries(o.history);
  expect(o.runJson).toMatchObject({ status: 'failed', reason: expect.stringMatching(/truncated\.jsonl:8: malformed row/) });
});

test('evaluation with an API policy whose key is missing: ProviderConfig, tried once, with the fix', async () => {
  const o = await failRun('evaluation', 'f-eval', { task: jsonlTask('good.jsonl'), policy: apiPolicy, eval: { split: 'train', n_examples: 3 } }, 'provider without key');
  expect(chain(o.failure)).toMatch(/\[ProviderConfig\]: .*OPENAI_API_KEY/);
  expectNoRetries(o.history);
  expect(o.runJson).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^ProviderConfig: .*OPENAI_API_KEY/) });
});

test('gepaOptimization with a reflection provider whose key is missing fails at once', async () => {
  const o = await failRun(
    'gepaOptimization',
    'f-gepa',
    {
      task: { env: 'arithmetic', n_train: 6, n_val: 3, n_test: 2 },
      policy: { backend: 'api', api_provider: 'scripted', api_model: 'scripted-policy' },
      reflection: { provider: 'openai', model: 'gpt-4o-mini' },
      gepa: { max_metric_calls: 30, seed_prompt: 'Answer.', parallelism: 1 },
    },
    'provider without key',
  );
  expect(chain(o.failure)).toMatch(/OPENAI_API_KEY/);
  expectNoRetries(o.history);
  expect(o.runJson).toMatchObject({ status: 'failed', reason: expect.stringMatching(/OPENAI_API_KEY/) });
});

test('sftTraining from a traces file that does not exist: InvalidSftExamples, tried once', async () => {
  const o = await failRun('sftTraining', 'f-sft', { task: jsonlTask('good.jsonl'), policy, sft: { source: 'traces', traces_file: path.join(dir, 'nope.json') }, system_prompt: 'x' }, 'missing examples file');
  expect(chain(o.failure)).toMatch(/\[InvalidSftExamples\]: cannot read SFT examples from .*nope\.json/);
  expectNoRetries(o.history);
  expect(o.runJson).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^InvalidSftExamples: /) });
});

test('gepaRlAlternation whose RL child fails: parent and child both failed in run.json, with the child\'s reason', async () => {
  const o = await failRun(
    'gepaRlAlternation',
    'f-alt',
    {
      task: jsonlTask('empty.jsonl'),
      policy,
      reflection: { provider: 'scripted', model: 'scripted-reflector' },
      gepa: { max_metric_calls: 30, seed_prompt: 'Say it.', parallelism: 1 },
      rl: { groups_per_batch: 2, group_size: 2, eval_every: 0 },
      alternation: { n_rounds: 1, rl_batches_per_round: 1, skip_first_gepa: true },
    },
    'empty split in its RL child',
  );
  expect(chain(o.failure)).toMatch(/ChildWorkflowFailure.*\[UnexpectedError\]: rlTraining failed at phase sampling, batch 0.*the train split is empty/);
  expectNoRetries(o.history);
  expect(o.runJson).toMatchObject({ status: 'failed', workflow_type: 'gepaRlAlternation', reason: expect.stringMatching(/^UnexpectedError: rlTraining failed at .*the train split is empty/) });
  const child = JSON.parse(readFileSync(path.join(runs, 'f-alt', 'round0_rl', 'run.json'), 'utf8'));
  expect(child).toMatchObject({ status: 'failed', workflow_type: 'rlTraining', phase: 'round0_rl', reason: expect.stringMatching(/the train split is empty/) });
});

test('a cancelled run says cancelled in run.json', async () => {
  const handle = await env.client.workflow.signalWithStart('gepaOptimization', {
    taskQueue: TASK_QUEUE,
    workflowId: `f-cancel-${Date.now()}`,
    args: [
      {
        run: { run_id: 'f-cancel', output_dir: runs, seed: 1 },
        task: { env: 'arithmetic', n_train: 6, n_val: 3, n_test: 2 },
        policy: { backend: 'api', api_provider: 'scripted', api_model: 'scripted-policy' },
        reflection: { provider: 'scripted', model: 'scripted-reflector' },
        gepa: { max_metric_calls: 30, seed_prompt: 'Answer.', parallelism: 1 },
      },
    ],
    signal: pauseSignal,
    signalArgs: [],
  });
  // paused before its first step: wait until it sits there (status query answers 'paused' or the run dir exists)
  for (let i = 0; ; i++) {
    const s = (await handle.query('status')) as { paused?: boolean };
    if (s.paused && readRunJson(runs, 'f-cancel')?.status === 'running') break;
    if (i > 3000) throw new Error('gepaOptimization never sat paused');
    await new Promise((r) => setTimeout(r, 100));
  }
  await handle.cancel();
  const err = await handle.result().then(
    () => null,
    (e: Error) => e,
  );
  expect(chain(err!)).toMatch(/Cancelled/i);
  expect(readRunJson(runs, 'f-cancel')).toMatchObject({ status: 'cancelled', summary: { paused: true } });
}, 60_000);

test('gepa-rl list and the report show what run.json says: failed with the reason, cancelled', async () => {
  const out: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  try {
    await main(['list', '--runs', runs]);
  } finally {
    log.mockRestore();
  }
  const line = (id: string) => out.join('\n').split('\n').find((l) => l.startsWith(`${id}-`)) ?? '';
  expect(line('f-evalp')).toMatch(/evaluatePrompt\s+FAILED .* run\.json failed: DatasetError: dataset file .*missing\.jsonl does not exist/);
  expect(line('f-rl')).toMatch(/rlTraining\s+FAILED .* run\.json failed: UnexpectedError: rlTraining failed at phase sampling, batch 0/);
  expect(line('f-cancel')).toMatch(/gepaOptimization\s+CANCELLED .* run\.json cancelled$/);
  const html = readFileSync(await writeReport(path.join(runs, 'f-traces')), 'utf8');
  expect(html).toMatch(/<th>status<\/th><td>failed<\/td>/);
  expect(html).toMatch(/<th>reason<\/th><td>DatasetError: .*truncated\.jsonl:8: malformed row/);
});

function readRunJson(runs: string, id: string): Record<string, any> | null {
  try {
    return JSON.parse(readFileSync(path.join(runs, id, 'run.json'), 'utf8'));
  } catch {
    return null;
  }
}
