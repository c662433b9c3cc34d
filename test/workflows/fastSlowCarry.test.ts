/**
 * fastSlowTraining across continue-as-new: with Temporal suggesting it after 40 history events, the
 * run continues-as-new after every batch, so the pool, the score window, the RNG, the trial, the
 * steps' trace refs and the checkpoint all go through the carry. It must end as the uninterrupted run
 * of the same input did (the result of the committed history, recorded by fastSlow.test.ts).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TASK_QUEUE } from '../../src/constants';
import { fastSlowTraining } from '../../src/workflows/fastSlowTraining';
import { createTsWorker, ROOT, tmpRunsDir, useTestStack, writeVowelsTask } from '../helpers/stack';
import { readJsonlFile as jsonl } from '../helpers/io';

const stack = useTestStack({ trainer: true, serverArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=40'] });
const vowels = writeVowelsTask();


/** The uninterrupted run's input and result, from the committed history. */
function committedRun(): { input: any; result: any } {
  const h = JSON.parse(readFileSync(path.join(ROOT, 'test/histories/fastSlowTraining.json'), 'utf8'));
  const payload = (p: any) => JSON.parse(Buffer.from(p.data, 'base64').toString('utf8'));
  const started = h.events[0].workflowExecutionStartedEventAttributes;
  const done = h.events.find((e: any) => e.workflowExecutionCompletedEventAttributes).workflowExecutionCompletedEventAttributes;
  return { input: payload(started.input.payloads[0]), result: payload(done.result.payloads[0]) };
}

test('continue-as-new after every batch carries the pool, window, RNG, trial and trace refs: the run ends as the uninterrupted one', async () => {
  const runs = tmpRunsDir();
  const { input, result: uninterrupted } = committedRun();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const { r, firstStatus } = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(fastSlowTraining, {
      taskQueue: TASK_QUEUE,
      workflowId: `fs-can-${Date.now()}`,
      args: [{ ...input, run: { ...input.run, output_dir: runs, run_id: 'fs-can' }, task: { ...input.task, jsonl_path: vowels } }],
    });
    const res = await h.result();
    const first = stack.env.client.workflow.getHandle(h.workflowId, h.firstExecutionRunId);
    return { r: res, firstStatus: (await first.describe()).status.name };
  });
  expect(firstStatus).toBe('CONTINUED_AS_NEW');
  expect(r.batches_done).toBe(uninterrupted.batches_done);
  expect(r.pool).toEqual(uninterrupted.pool);
  expect(r.counters).toEqual(uninterrupted.counters);
  // the 2x2 table: accuracies, rewards and KL token counts exactly; KL(π_θ‖π_base) itself to 1e-6:
  // its fp32 logprobs differ in the last bits between CPUs (the committed history was recorded on
  // another machine: 5.8e-6 there, 6.2e-6 here), while a lost or wrong checkpoint moves it by its size
  const klTokensOnly = (t: unknown) => JSON.parse(JSON.stringify(t, (k, v) => (k === 'kl_to_base' && v ? { tokens: v.tokens } : v)));
  expect(klTokensOnly(r.table)).toEqual(klTokensOnly(uninterrupted.table));
  type Cells = Record<string, { kl_to_base?: Record<string, number> | null }>;
  for (const [cell, want] of Object.entries(uninterrupted.table as Cells)) {
    const got = (r.table as unknown as Cells)[cell].kl_to_base;
    if (!want.kl_to_base) expect(got ?? null).toEqual(want.kl_to_base ?? null);
    else for (const k of ['kl', 'k1', 'k3']) expect({ cell, k, diff: Math.abs((got?.[k] ?? NaN) - want.kl_to_base[k]) < 1e-6 }).toEqual({ cell, k, diff: true });
  }
  // no rollout row lost or written twice
  const rows = jsonl(path.join(runs, 'fs-can/rollouts.jsonl'));
  expect(new Set(rows.map((x) => x.key)).size).toBe(rows.length);
  expect(rows.length).toBe(r.batches_done * 12);
}, 900_000);
