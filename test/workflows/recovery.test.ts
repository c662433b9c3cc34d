/**
 * Fast recovery of a TS activity whose worker died while it waited on a provider (issue: a GEPA run
 * sat in "reflecting" for the whole 10-minute timeout). The TS worker runs in its own process; the
 * reflection provider is the fake OpenAI-compatible server of test/helpers/fakeProvider.ts, which
 * holds the first request open. * When that request arrives the worker is killed with SIGKILL; a second worker takes over. The
 * reflection activity pulses heartbeats while it waits, so its heartbeat timeout (seconds) fires and
 * the retry runs on the new worker: the history shows attempt 2 started after a heartbeat timeout,
 * and the run completes. The time from the kill to the completed reflection is printed, not asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { gepaOptimization } from '../../src/workflows/gepaOptimization';
import { startFakeProvider, type FakeProvider } from '../helpers/fakeProvider';
import { registerScriptedPolicy } from '../helpers/scripted';
import { createTsWorker, ROOT, startTestEnv, tmpRunsDir } from '../helpers/stack';

let env: TestWorkflowEnvironment;
let fake: FakeProvider;
let child: ChildProcess | null = null;
let onFirstRequest: () => void = () => {};

beforeAll(async () => {
  registerScriptedPolicy();
  env = await startTestEnv();
  fake = await startFakeProvider();
  // the first reflection request is held open (its worker is about to die); later ones propose a change
  fake.plan([], (req) => {
    if (fake.requests.length === 1) {
      onFirstRequest();
      return { kind: 'hang' };
    }
    const current = /```\n([\s\S]*?)\n```/.exec(req.body.messages.map((m: { content: string }) => m.content).join('\n'))?.[1] ?? '';
    return { kind: 'ok', text: `Here is a better version:\n\`\`\`\n${current}\nThink step by step.\n\`\`\`` };
  });
}, 120_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await fake?.close();
  await env?.teardown();
});

test('a reflection call of a killed TS worker is retried after its heartbeat timeout, and the run completes', async () => {
  const taskQueue = `recovery-${Date.now()}`;
  child = spawn(process.execPath, ['-r', path.join(ROOT, 'test/cli/tsRegister.js'), path.join(ROOT, 'test/helpers/tsWorkerProcess.ts')], {
    cwd: ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, GEPA_RL_TEST_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (out.includes('child worker ready')) {
        clearInterval(t);
        resolve();
      }
      if (child!.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`child worker exited:\n${out}`));
      }
    }, 100);
  });
  let killedAt = 0;
  const killed = new Promise<void>((resolve) => {
    onFirstRequest = () => {
      child!.kill('SIGKILL');
      killedAt = Date.now();
      resolve();
    };
  });
  const runs = tmpRunsDir();
  const base_url = `${fake.base}/v1`;
  const h = await env.client.workflow.start(gepaOptimization, {
    taskQueue,
    workflowId: `recovery-${Date.now()}`,
    args: [
      {
        run: { run_id: 'rec', output_dir: runs, seed: 11 },
        task: { env: 'arithmetic', n_train: 12, n_val: 6, n_test: 4 },
        policy: { backend: 'api', api_provider: 'scripted', api_model: 'scripted-policy' },
        reflection: { provider: 'openai-compatible', model: 'fake', base_url },
        gepa: { max_metric_calls: 20, minibatch_size: 3, parallelism: 1, seed_prompt: 'Answer the question.', max_iterations: 1 },
      },
    ],
  });
  await killed;
  const worker = await createTsWorker(env, taskQueue);
  const r = await worker.runUntil(h.result());
  expect(r.stop_reason).toBeTruthy();
  const events = (await h.fetchHistory()).events as unknown as Array<Record<string, any>>;
  const scheduled = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes.activityType.name]));
  const reflStarts = events.filter((e) => e.activityTaskStartedEventAttributes && scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)) === 'proposeComponent');
  expect(reflStarts.length).toBeGreaterThan(0);
  const first = reflStarts[0].activityTaskStartedEventAttributes;
  expect(first.attempt).toBe(2); // attempt 1 died with its worker
  expect(JSON.stringify(first.lastFailure)).toMatch(/HEARTBEAT/i);
  const done = events.find((e) => e.activityTaskCompletedEventAttributes && String(e.activityTaskCompletedEventAttributes.scheduledEventId) === String(first.scheduledEventId));
  expect(done).toBeTruthy();
  expect(fake.requests.length).toBeGreaterThanOrEqual(2);
  const completedMs = Number(BigInt(done!.eventTime.seconds) * 1000n) + Math.floor((done!.eventTime.nanos ?? 0) / 1e6);
  console.log(`recovery: reflection of the killed TS worker completed ${((completedMs - killedAt) / 1000).toFixed(1)} s after the kill (retried ${((fake.requests[1].at - killedAt) / 1000).toFixed(1)} s after it)`);
}, 300_000);
