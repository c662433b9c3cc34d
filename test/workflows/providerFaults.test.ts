/**
 * Provider faults through a real workflow on the Temporal dev server (issue 15, item 5): a GEPA run
 * whose reflection LM and policy are a fake OpenAI-compatible server on 127.0.0.1. A 429 with
 * Retry-After is retried after the server's delay (Temporal's nextRetryDelay), a 500 of the policy
 * is retried, and the run completes as if nothing happened; a rejected key fails the run at once,
 * after one request, saying which key to set.
 */
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { TASK_QUEUE } from '../../src/constants';
import { gepaOptimization } from '../../src/workflows/gepaOptimization';
import { createTsWorker, tmpRunsDir, useTestStack } from '../helpers/stack';
import { startFakeProvider, type FakeProvider, type FakeReply, type FakeRequest } from '../helpers/fakeProvider';
import { readJsonlFile as jsonl } from '../helpers/io';

let fake: FakeProvider;
const savedKey = process.env.OPENAI_API_KEY;
const stack = useTestStack({
  before: async () => {
    fake = await startFakeProvider();
    process.env.OPENAI_API_KEY = 'sk-fake-key';
  },
});

afterAll(async () => {
  await fake?.close();
  if (savedKey === undefined) delete process.env.OPENAI_API_KEY;
  else process.env.OPENAI_API_KEY = savedKey;
});

/** The arithmetic policy of test/helpers/scripted, served over HTTP: right on '+' always, on all once told "step by step". */
function policyReply(r: FakeRequest): FakeReply {
  const system = r.body.messages.find((m: { role: string }) => m.role === 'system')?.content ?? '';
  const user = r.body.messages.filter((m: { role: string }) => m.role === 'user').map((m: { content: string }) => m.content).join('\n');
  const m = /(-?\d+)\s*([+\-*])\s*(-?\d+)/.exec(user);
  if (!m) return { kind: 'ok', text: 'I do not know.' };
  const v = m[2] === '+' ? Number(m[1]) + Number(m[3]) : m[2] === '-' ? Number(m[1]) - Number(m[3]) : Number(m[1]) * Number(m[3]);
  return { kind: 'ok', text: `The answer is ${/step by step/i.test(system) || m[2] === '+' ? v : v + 1}` };
}

/** Adds "Think step by step." to the text it is shown; declines once the text says so. */
function reflectorReply(r: FakeRequest): FakeReply {
  const current = /```\n([\s\S]*?)\n```/.exec(r.body.messages[0].content)?.[1] ?? '';
  return { kind: 'ok', text: /step by step/i.test(current) ? 'Nothing to change.' : `\`\`\`\n${current}\nThink step by step.\n\`\`\`` };
}

function input(runsDir: string, runId: string, reflection: Record<string, unknown>) {
  return {
    run: { run_id: runId, output_dir: runsDir, seed: 11 },
    task: { env: 'arithmetic', n_train: 12, n_val: 6, n_test: 4 },
    policy: { backend: 'api', api_provider: 'openai-compatible', api_model: 'fake-policy', api_base_url: `${fake.base}/v1` },
    reflection,
    gepa: { max_metric_calls: 40, minibatch_size: 3, parallelism: 2, seed_prompt: 'Answer the question.' },
  };
}


test('a reflection 429 with Retry-After and a policy 500 are retried (the 429 after the server\'s delay); the run completes', async () => {
  fake.requests.length = 0;
  const replies: Array<{ model: string; reply: FakeReply }> = [];
  let reflections = 0;
  let policyCalls = 0;
  fake.plan([], (r) => {
    let reply: FakeReply;
    if (r.body.model === 'fake-reflector') {
      reply = reflections++ === 0 ? { kind: 'status', status: 429, message: 'Rate limit reached for requests', headers: { 'retry-after': '3' } } : reflectorReply(r);
    } else {
      reply = policyCalls++ === 0 ? { kind: 'status', status: 500, message: 'The server had an error while processing your request' } : policyReply(r);
    }
    replies.push({ model: r.body.model, reply });
    return reply;
  });
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await worker.runUntil(
    stack.env.client.workflow.execute(gepaOptimization, {
      taskQueue: TASK_QUEUE,
      workflowId: `gepa-provider-faults-${Date.now()}`,
      args: [input(runs, 'pf1', { provider: 'openai-compatible', model: 'fake-reflector', base_url: `${fake.base}/v1` })],
    }),
  );
  // the same result as the scripted run of test/workflows/gepa.test.ts: the faults cost nothing but calls
  expect(r.n_candidates).toBe(2);
  expect(r.best_prompt).toMatch(/step by step/);
  expect(r.best_val_score).toBe(1);
  expect(r.counters.reflection_errors).toBe(0);
  const proposals = jsonl(path.join(runs, 'pf1/proposals.jsonl'));
  expect(proposals[0]).toMatchObject({ ok: true, reflection_calls: 1, outcome: 'accepted as candidate 1' });

  // the 429 was answered once and its call came again no sooner than the server asked (3 s; Temporal's own first retry is 1 s)
  const reflReqs = fake.requests.filter((q) => q.body.model === 'fake-reflector');
  expect(replies.filter((x) => x.model === 'fake-reflector').map((x) => x.reply.kind).slice(0, 2)).toEqual(['status', 'ok']);
  expect(reflReqs[1].at - reflReqs[0].at).toBeGreaterThanOrEqual(3000);
  // the policy's 500 was retried: one more policy request than a clean run, and no sample lost
  expect(replies.filter((x) => x.model === 'fake-policy' && x.reply.kind === 'status')).toHaveLength(1);
  expect(r.metric_calls).toBeLessThanOrEqual(40);
});

test('a reflection key rejected with 401 fails the run at once, after one request, saying which key to set', async () => {
  fake.requests.length = 0;
  fake.plan([], (r) => (r.body.model === 'gpt-4o-mini' ? { kind: 'status', status: 401, message: 'Incorrect API key provided: sk-fake***' } : policyReply(r)));
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const err = await worker
    .runUntil(
      stack.env.client.workflow.execute(gepaOptimization, {
        taskQueue: TASK_QUEUE,
        workflowId: `gepa-provider-401-${Date.now()}`,
        args: [input(runs, 'pf2', { provider: 'openai', model: 'gpt-4o-mini', base_url: `${fake.base}/v1` })],
      }),
    )
    .catch((e) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as Error & { type?: string };
  expect(cause.message).toMatch(/the reflection LM \(provider=openai, model=gpt-4o-mini\) cannot be used: .*answered 401 Incorrect API key provided: sk-fake\*\*\*; the key was rejected: set a valid OPENAI_API_KEY in the TS worker's environment and restart the worker/);
  expect(cause.message).not.toContain('sk-fake-key');
  // one reflection request: no retry of a call that can only fail the same way
  expect(fake.requests.filter((q) => q.body.model === 'gpt-4o-mini')).toHaveLength(1);
});
