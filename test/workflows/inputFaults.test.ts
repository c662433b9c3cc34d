/**
 * Disk and input faults through a real workflow on the Temporal dev server (issue 15, item 6): a
 * dataset file cut short mid-row, and a run directory on a read-only disk. Each run fails with an
 * error that names the file and says what to do. (How fast it fails is the error boundary's
 * business, issue 15 item 1; here only the message and what is left on disk are asserted.)
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { TASK_QUEUE } from '../../src/constants';
import { taskConfigSchema } from '../../src/config/task';
import { getTask } from '../../src/tasks';
import { gepaOptimization } from '../../src/workflows/gepaOptimization';
import { createTsWorker, ROOT, tmpRunsDir, useTestStack } from '../helpers/stack';
import { registerScriptedPolicy, registerScriptedReflector } from '../helpers/scripted';
import { mountTmpfs } from '../helpers/tmpfs';

const stack = useTestStack({
  before: () => {
    registerScriptedPolicy();
    registerScriptedReflector();
  },
});

function input(runsDir: string, runId: string, task: Record<string, unknown>) {
  return {
    run: { run_id: runId, output_dir: runsDir, seed: 11 },
    task,
    policy: { backend: 'api', api_provider: 'scripted', api_model: 'scripted-policy' },
    reflection: { provider: 'scripted', model: 'scripted-reflector' },
    gepa: { max_metric_calls: 40, minibatch_size: 3, parallelism: 2, seed_prompt: 'Answer the question.' },
  };
}

/** Every message along the failure's cause chain, outermost first. */
function messages(err: unknown): string {
  const out: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) out.push(e.message ?? '');
  return out.join('\n');
}

/** A copy of GSM8K's training file cut off in the middle of its 30th row. */
function truncatedGsm8k(): { file: string; line: number } {
  const dir = mkdtempSync(path.join(tmpdir(), 'truncated-'));
  const rows = readFileSync(path.join(ROOT, 'data/gsm8k/train.jsonl'), 'utf8').split('\n').slice(0, 30);
  const file = path.join(dir, 'train.jsonl');
  const cut = rows.join('\n');
  writeFileSync(file, cut.slice(0, cut.length - Math.floor(rows[29].length / 2)));
  return { file, line: 30 };
}

test('a dataset file cut short mid-row: the loader names the file and line and says it was cut short', async () => {
  const { file, line } = truncatedGsm8k();
  const cfg = taskConfigSchema.parse({ env: 'jsonl', jsonl_path: file, jsonl_prompt_field: 'question', jsonl_answer_field: 'answer' });
  await expect(getTask(cfg).loadSplits(cfg)).rejects.toThrow(
    new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}: malformed row \\(.*\\): .*; the file ends in the middle of this row, so it was cut short \\(an interrupted download or copy\\): restore the file or download it again$`),
  );
  // a file whose last row is whole but has no final newline is not cut short
  const whole = path.join(path.dirname(file), 'whole.jsonl');
  writeFileSync(whole, readFileSync(path.join(ROOT, 'data/gsm8k/train.jsonl'), 'utf8').split('\n').slice(0, 29).join('\n'));
  const ok = taskConfigSchema.parse({ ...cfg, jsonl_path: whole });
  const splits = await getTask(ok).loadSplits(ok);
  expect(splits.train.length + splits.val.length + splits.test.length).toBe(29);
});

test('a GEPA run on a dataset cut short fails with that message; the run directory keeps what it wrote', async () => {
  const { file, line } = truncatedGsm8k();
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const err = await worker
    .runUntil(
      stack.env.client.workflow.execute(gepaOptimization, {
        taskQueue: TASK_QUEUE,
        workflowId: `gepa-truncated-${Date.now()}`,
        args: [input(runs, 'cut', { env: 'jsonl', jsonl_path: file, jsonl_prompt_field: 'question', jsonl_answer_field: 'answer', n_train: 12, n_val: 6, n_test: 4 })],
      }),
    )
    .catch((e) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(messages(err)).toContain(`${file}:${line}: malformed row`);
  expect(messages(err)).toContain('so it was cut short (an interrupted download or copy): restore the file or download it again');
  // what was written before the failure is whole: config.json is the run's config
  expect(JSON.parse(readFileSync(path.join(runs, 'cut/config.json'), 'utf8'))).toMatchObject({ task: { jsonl_path: file } });
});

test('a GEPA run whose output_dir is on a read-only disk fails saying which folder to make writable', async () => {
  const disk = mountTmpfs('1m');
  try {
    disk.readOnly();
    const worker = await createTsWorker(stack.env, TASK_QUEUE);
    const err = await worker
      .runUntil(
        stack.env.client.workflow.execute(gepaOptimization, {
          taskQueue: TASK_QUEUE,
          workflowId: `gepa-readonly-${Date.now()}`,
          args: [input(disk.dir, 'ro', { env: 'arithmetic', n_train: 12, n_val: 6, n_test: 4 })],
        }),
      )
      .catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(messages(err)).toMatch(new RegExp(`cannot write ${disk.dir}/ro/config\\.json: EROFS: read-only file system.*; make ${disk.dir} writable by the TS worker, or choose another output_dir`));
  } finally {
    disk.unmount();
  }
});

test('GEPA components a run cannot use are refused when the input is parsed: the run fails naming the key, and no run directory is made', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const bad = { ...input(runs, 'badcomp', { env: 'arithmetic', n_train: 12, n_val: 6, n_test: 4 }) };
  bad.gepa = { ...bad.gepa, components: { format: 'F', system_prompt: 'P' } } as typeof bad.gepa;
  const err = await worker
    .runUntil(stack.env.client.workflow.execute(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-badcomp-${Date.now()}`, args: [bad] }))
    .catch((e) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(messages(err)).toMatch(/gepa\.components: gepa\.components must list system_prompt first; got the order \["format","system_prompt"\]/);
  expect(existsSync(path.join(runs, 'badcomp'))).toBe(false);
});
