import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TASK_QUEUE } from '../../src/constants';
import { evaluatePrompt } from '../../src/workflows/evaluatePrompt';
import { statusQueries } from '../../src/workflows/messages';
import { expectStatusShape } from '../helpers/status';
import { createTsWorker, ROOT, temporalBinary, tmpRunsDir, useTestStack } from '../helpers/stack';
import { readJsonlFile } from '../helpers/io';

const stack = useTestStack({ trainer: true });

function input(runsDir: string, overrides: Record<string, unknown> = {}) {
  return {
    run: { run_id: 'eval-test', output_dir: runsDir, seed: 7 },
    task: { env: 'arithmetic' },
    policy: { base_model: 'tiny-random', max_tokens: 8, temperature: 1.0 },
    prompt: 'Answer with a number.',
    k: 4,
    split: 'test',
    ...overrides,
  };
}

test('evaluatePrompt samples with the real trainer worker, scores, and answers status', async () => {
  const runsDir = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const result = await worker.runUntil(async () => {
    const handle = await stack.env.client.workflow.start(evaluatePrompt, {
      taskQueue: TASK_QUEUE,
      workflowId: `eval-${Date.now()}`,
      args: [input(runsDir)],
    });
    // the status query is answered while the run is waiting on the trainer
    const seen = new Set<string>();
    const done = handle.result();
    let finished = false;
    void done.finally(() => (finished = true)).catch(() => undefined);
    while (!finished) {
      const st = await handle.query(statusQueries.evaluatePrompt).catch(() => null);
      if (st) {
        expectStatusShape(st, 'problems');
        seen.add(st.phase);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect([...seen].some((p) => p === 'starting' || p === 'sampling' || p === 'scoring')).toBe(true);
    const r = await done;
    const status = await handle.query(statusQueries.evaluatePrompt);
    expect(status).toMatchObject({ phase: 'done', done: 4, total: 4, progress: { done: 4, total: 4, unit: 'problems' } });
    // Save the history for the replay test when asked to (UPDATE_HISTORIES=1).
    if (process.env.UPDATE_HISTORIES) {
      const history = await handle.fetchHistory();
      writeFileSync(path.join(ROOT, 'test/histories/evaluatePrompt.json'), historyToJSON(history));
    }
    return r;
  });
  expect(result.n).toBe(4);
  expect(result.results).toHaveLength(4);
  for (const r of result.results) {
    expect(typeof r.output).toBe('string');
    expect(r.reward).toBeGreaterThanOrEqual(0);
    expect(r.reward).toBeLessThanOrEqual(1);
  }
  // the summary agrees with its rows (read back from the traces blob)
  expect(result.accuracy).toBeCloseTo(result.results.filter((r) => r.correct).length / 4, 12);
  expect(result.mean_reward).toBeCloseTo(result.results.reduce((a, r) => a + r.reward, 0) / 4, 12);
  expect(result.run_dir).toBe(path.join(runsDir, 'eval-test'));
  expect(result.traces_ref.uri).toMatch(/^file:\/\//);
  const rows = readJsonlFile(path.join(result.run_dir, 'metrics.jsonl'));
  expect(rows).toHaveLength(1);
  expect(rows[0]['test/env/all/correct']).toBeCloseTo(result.accuracy);
  expect(rows[0]['test/env/all/reward/total']).toBeCloseTo(result.mean_reward);
});

test('evaluatePrompt starts and reports its result through the Temporal CLI', async () => {
  const runsDir = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const id = `eval-cli-${Date.now()}`;
  const cli = (args: string[]) =>
    execFileSync(temporalBinary(), [...args, '--address', stack.env.address, '--namespace', stack.env.namespace ?? 'default'], { encoding: 'utf8' });
  const out = await worker.runUntil(async () => {
    cli(['workflow', 'start', '--type', 'evaluatePrompt', '--task-queue', TASK_QUEUE, '--workflow-id', id, '--input', JSON.stringify(input(runsDir, { run: { run_id: 'eval-cli', output_dir: runsDir, seed: 3 } }))]);
    await stack.env.client.workflow.getHandle(id).result();
    return cli(['workflow', 'result', '--workflow-id', id, '--output', 'json']);
  });
  expect(out).toContain('"accuracy"');
  expect(out).toContain(path.join(runsDir, 'eval-cli'));
});

test('evaluatePrompt rejects a bad config at once, naming the field and the value', async () => {
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const err = await worker.runUntil(
    stack.env.client.workflow
      .execute(evaluatePrompt, {
        taskQueue: TASK_QUEUE,
        workflowId: `eval-bad-${Date.now()}`,
        args: [input(tmpRunsDir(), { k: -3 })],
      })
      .catch((e) => e),
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as Error;
  expect(cause.message).toMatch(/k/);
  expect(cause.message).toMatch(/-3/);
});
