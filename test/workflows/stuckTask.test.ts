/**
 * A run whose workflow task keeps failing (src/cli/stuck.ts) on the real dev server: a worker whose
 * code no longer replays the run's history (an upgrade: a nondeterminism error), and a workflow
 * type no worker has. `workflowTaskTrouble` finds each with the worker's error, and `watch` says it
 * instead of waiting in silence (the status query would get no answer).
 */
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { workflowTaskTrouble, type WorkflowTaskTrouble } from '../../src/cli/stuck';
import { watch } from '../../src/cli/watch';
import { useTestStack } from '../helpers/stack';

const stack = useTestStack();

const fixture = (name: string) => path.join(__dirname, 'fixtures', name);

function fixtureWorker(taskQueue: string, file: string): Promise<Worker> {
  return Worker.create({ connection: stack.env.nativeConnection, namespace: stack.env.namespace ?? 'default', taskQueue, workflowsPath: fixture(file) });
}

async function until<T>(what: string, f: () => Promise<T | null | undefined>, seconds = 120): Promise<T> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** watch() on the stuck run: what it printed to stderr before the run was terminated. */
async function watchSays(handle: WorkflowHandle): Promise<string> {
  const said: string[] = [];
  const spy = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void said.push(a.join(' ')));
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const watching = watch(handle);
    await until('watch says the run is not moving', async () => said.some((l) => l.includes('is not moving')));
    await handle.terminate('the test is done');
    await watching;
  } finally {
    spy.mockRestore();
    log.mockRestore();
    process.exitCode = 0; // watch marks a run that did not complete
  }
  return said.join('\n');
}

test('a worker whose code no longer replays the run (an upgrade): the failing task is found with its nondeterminism error, and watch says what to do', async () => {
  const taskQueue = 'stuck-upgrade';
  const client = stack.env.client;
  const v1 = await fixtureWorker(taskQueue, 'stuckV1.ts');
  const handle = await v1.runUntil(async () => {
    const h = await client.workflow.start('stuckFixture', { taskQueue, workflowId: 'stuck-upgrade-1' });
    await until('v1 started its timer', async () => (await h.fetchHistory()).events?.some((e) => e.timerStartedEventAttributes));
    return h;
  });
  expect(await workflowTaskTrouble(handle)).toBeNull(); // waiting on a timer is not being stuck

  const v2 = await fixtureWorker(taskQueue, 'stuckV2.ts');
  await v2.runUntil(async () => {
    await handle.signal('wake'); // a new workflow task: v2 replays v1's history and differs at its first command
    const t: WorkflowTaskTrouble = await until('the workflow task fails again', () => workflowTaskTrouble(handle));
    expect(t.nondeterminism).toBe(true);
    expect(t.attempt).toBeGreaterThanOrEqual(2);
    expect(t.message).toMatch(/nondetermini/i);
    const said = await watchSays(handle);
    expect(said).toContain('workflow stuck-upgrade-1 is not moving');
    expect(said).toContain('gepa-rl replay stuck-upgrade-1');
  });
});

test('a workflow type no worker has: found with the worker error, not called nondeterminism', async () => {
  const taskQueue = 'stuck-unknown';
  const worker = await fixtureWorker(taskQueue, 'stuckV1.ts');
  await worker.runUntil(async () => {
    const handle = await stack.env.client.workflow.start('noSuchWorkflowType', { taskQueue, workflowId: 'stuck-unknown-1' });
    const t = await until('the workflow task fails again', () => workflowTaskTrouble(handle));
    expect(t.nondeterminism).toBe(false);
    expect(t.message).toContain('noSuchWorkflowType');
    await handle.terminate('the test is done');
    expect(await workflowTaskTrouble(handle)).toBeNull(); // an ended run is not stuck
  });
});
