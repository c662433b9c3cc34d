/**
 * Provider faults at run level, on the real dev server: an evaluation run on an API policy whose
 * OpenAI-compatible server (a local fake, tests only) answers 429 with Retry-After, then 500, then
 * resets the connection, then works: the run completes, the sampling activity was retried through
 * each fault, and the retry after the 429 waited the server's delay. A 401 fails the run at once,
 * tried once, with what to fix, and run.json says so.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { TASK_QUEUE } from '../../src/constants';
import { evaluation } from '../../src/workflows/evaluation';
import { createTsWorker, startTestEnv, tmpRunsDir } from '../helpers/stack';

type Fault = (req: IncomingMessage, res: ServerResponse) => void;
let env: TestWorkflowEnvironment;
let worker: Worker;
let workerRun: Promise<void>;
let server: Server;
let base: string;
let faults: Fault[] = [];
const arrivals: number[] = [];

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Fault => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const answer = json(200, { id: 'x', object: 'chat.completion', created: 0, model: 'fake', choices: [{ index: 0, message: { role: 'assistant', content: 'a' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } });

beforeAll(async () => {
  env = await startTestEnv();
  worker = await createTsWorker(env, TASK_QUEUE);
  workerRun = worker.run();
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrivals.push(Date.now());
      (faults.shift() ?? answer)(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await workerRun;
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await env?.teardown();
});

const input = (runs: string, runId: string) => ({
  run: { run_id: runId, output_dir: runs, seed: 1 },
  task: { env: 'arithmetic', n_train: 4, n_val: 2, n_test: 3 },
  policy: { backend: 'api', api_provider: 'openai-compatible', api_model: 'fake', api_base_url: base, max_tokens: 4 },
  eval: { split: 'test', n_examples: 3 },
});

function sampleAttempts(events: Array<Record<string, any>>): number[] {
  const sched = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes.activityType.name]));
  return events.filter((e) => e.activityTaskStartedEventAttributes && sched.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)) === 'apiSample').map((e) => e.activityTaskStartedEventAttributes.attempt);
}

test('429 with Retry-After, 500 and a connection reset: the run goes on and completes', async () => {
  const runs = tmpRunsDir();
  arrivals.length = 0;
  faults = [json(429, { error: { message: 'rate limited' } }, { 'retry-after': '3' }), json(500, { error: { message: 'boom' } }), (req) => req.socket.destroy()];
  const h = await env.client.workflow.start(evaluation, { taskQueue: TASK_QUEUE, workflowId: `pf-ok-${Date.now()}`, args: [input(runs, 'pf-ok')] });
  const r = await h.result();
  expect(r.n).toBe(3);
  expect(sampleAttempts((await h.fetchHistory()).events as never)).toEqual([4]); // one activity, done on its 4th attempt
  expect(arrivals.length).toBe(6); // 3 faults, then the 3 prompts
  expect(arrivals[1] - arrivals[0]).toBeGreaterThanOrEqual(3000); // the retry waited the server's Retry-After (the policy's own first interval is 1 s)
  expect(JSON.parse(readFileSync(path.join(runs, 'pf-ok', 'run.json'), 'utf8')).status).toBe('completed');
});

test('401 fails the run at once with what to fix', async () => {
  const runs = tmpRunsDir();
  faults = [json(401, { error: { message: 'Incorrect API key provided' } })];
  const h = await env.client.workflow.start(evaluation, { taskQueue: TASK_QUEUE, workflowId: `pf-401-${Date.now()}`, args: [input(runs, 'pf-401')] });
  const err = await h.result().then(
    () => null,
    (e: Error & { cause?: Error & { cause?: Error & { type?: string } } }) => e,
  );
  expect(err?.cause?.cause).toMatchObject({ type: 'ProviderConfig', message: expect.stringMatching(/401: .*Incorrect API key.*set a valid key in the worker's environment/) });
  expect(sampleAttempts((await h.fetchHistory()).events as never)).toEqual([1]);
  const run = JSON.parse(readFileSync(path.join(runs, 'pf-401', 'run.json'), 'utf8'));
  expect(run).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^ProviderConfig: provider returned 401/) });
});
