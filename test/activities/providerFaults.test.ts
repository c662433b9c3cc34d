/**
 * Provider faults at the activity level (issue 15, item 5): the reflection and API-sampling
 * activities against a fake OpenAI-compatible and Anthropic server on 127.0.0.1. A transient fault
 * (429 with or without Retry-After, 5xx, a timeout, a reset connection, a body that is not JSON, a
 * completion without choices) is a retryable failure carrying the server's delay for Temporal; a
 * rejected key or access (401/403) is a non-retryable ProviderConfig failure that says what to fix;
 * another 4xx is a recorded rejection. Each fault costs exactly one request: the SDKs never retry
 * behind Temporal's back.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { teacherHint } from '../../src/activities/expert';
import { apiSample, type ApiSampleRequest } from '../../src/activities/llm';
import { proposeComponent, type ProposeRequest } from '../../src/activities/reflection';
import { proposalCharBound, proposalGrammar } from '../../src/core/gepa';
import { buildPrompts } from '../../src/activities/tasks';
import { taskConfigSchema } from '../../src/config/task';
import type { PolicySampleResult } from '../../src/types';
import { createProvider, PROVIDER_BAD_RESPONSE_FAILURE, PROVIDER_CONFIG_FAILURE } from '../../src/llm';
import { startFakeProvider, type FakeProvider, type FakeReply } from '../helpers/fakeProvider';

const KEY = 'sk-fake-SECRET-0000';
let fake: FakeProvider;
const savedEnv = { ...process.env };

beforeAll(async () => {
  fake = await startFakeProvider();
  Object.assign(process.env, { OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY, GEPA_RL_LLM_TIMEOUT_S: '3' });
});
afterAll(async () => {
  process.env = savedEnv;
  await fake.close();
});

type Api = 'openai' | 'anthropic';
const reflection = (api: Api): ProposeRequest['reflection'] =>
  api === 'openai'
    ? { provider: 'openai', model: 'gpt-4o-mini', base_url: `${fake.base}/v1`, temperature: 0, max_tokens: 64 }
    : { provider: 'anthropic', model: 'claude-haiku-4-5', base_url: fake.base, temperature: 0, max_tokens: 64 };

// the activity's own failure log is the subject here, not news
const activityEnv = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

const propose = (api: Api) =>
  activityEnv().run(proposeComponent, { reflection: reflection(api), component: 'system_prompt', current_text: 'Answer.', traces_refs: [], rejected: [], seed: 1 });

/** The activity's outcome for one planned reply: its result, or the failure it threw. */
async function outcome(api: Api, replies: FakeReply[]) {
  fake.requests.length = 0;
  fake.plan(replies);
  try {
    return { result: await propose(api), failure: null, requests: fake.requests.length };
  } catch (e) {
    expect(e).toBeInstanceOf(ApplicationFailure);
    const f = e as ApplicationFailure;
    expect(f.message).not.toContain(KEY);
    return { result: null, failure: { type: f.type, nonRetryable: f.nonRetryable, nextRetryDelay: f.nextRetryDelay, message: f.message }, requests: fake.requests.length };
  }
}

const transient: Array<{ fault: string; reply: FakeReply; type: string; delay?: number; message: RegExp }> = [
  { fault: '429 with Retry-After', reply: { kind: 'status', status: 429, message: 'Rate limit reached', headers: { 'retry-after': '3' } }, type: 'ProviderHttp429', delay: 3000, message: /429.*Rate limit reached/ },
  { fault: '429 with retry-after-ms', reply: { kind: 'status', status: 429, message: 'Rate limit reached', headers: { 'retry-after-ms': '1500' } }, type: 'ProviderHttp429', delay: 1500, message: /429/ },
  { fault: '429 without Retry-After', reply: { kind: 'status', status: 429, message: 'Rate limit reached' }, type: 'ProviderHttp429', message: /429.*Rate limit reached/ },
  { fault: '500', reply: { kind: 'status', status: 500, message: 'The server had an error' }, type: 'ProviderHttp500', message: /500.*The server had an error/ },
  { fault: '502 with an HTML page', reply: { kind: 'raw', status: 502, contentType: 'text/html', body: '<html>Bad Gateway</html>' }, type: 'ProviderHttp502', message: /502/ },
  { fault: 'a timeout', reply: { kind: 'hang' }, type: 'ProviderError', message: /did not answer within 3 s \(GEPA_RL_LLM_TIMEOUT_S/ },
  { fault: 'a connection reset', reply: { kind: 'reset' }, type: 'ProviderError', message: /could not be reached: Connection error\. \(.*(socket|closed|reset)/i },
  { fault: 'a 200 HTML body', reply: { kind: 'raw', status: 200, contentType: 'text/html', body: '<html>captive portal</html>' }, type: PROVIDER_BAD_RESPONSE_FAILURE, message: /malformed reply: expected an? .* got "<html>captive portal<\/html>"/ },
  { fault: 'a 200 JSON body cut short', reply: { kind: 'raw', status: 200, contentType: 'application/json', body: '{"choices": [{"mess' }, type: PROVIDER_BAD_RESPONSE_FAILURE, message: /reply whose body is not JSON/ },
];

describe.each<Api>(['openai', 'anthropic'])('reflection on %s', (api) => {
  test.each(transient)('$fault: one request, a retryable failure for Temporal', async ({ reply, type, delay, message }) => {
    const o = await outcome(api, [reply]);
    expect(o.requests).toBe(1);
    expect(o.failure).toMatchObject({ type, nonRetryable: false, nextRetryDelay: delay });
    expect(o.failure!.message).toMatch(message);
    // every described failure names the provider, the model and the endpoint it called
    expect(o.failure!.message).toContain(`the ${api} provider (model "${reflection(api).model}" at ${reflection(api).base_url})`);
  });

  test('401: fails at once, non-retryable, saying which key to set', async () => {
    const o = await outcome(api, [{ kind: 'status', status: 401, message: 'invalid x-api-key' }]);
    expect(o.requests).toBe(1);
    const keyEnv = api === 'openai' ? 'OPENAI_API_KEY' : 'ANTHROPIC_API_KEY';
    expect(o.failure).toMatchObject({ type: PROVIDER_CONFIG_FAILURE, nonRetryable: true });
    expect(o.failure!.message).toMatch(new RegExp(`answered 401 invalid x-api-key; the key was rejected: set a valid ${keyEnv} in the TS worker's environment and restart the worker`));
  });

  test('403: fails at once, non-retryable, saying the key may not use the model', async () => {
    const o = await outcome(api, [{ kind: 'status', status: 403, message: 'not allowed' }]);
    expect(o.requests).toBe(1);
    expect(o.failure).toMatchObject({ type: PROVIDER_CONFIG_FAILURE, nonRetryable: true });
    expect(o.failure!.message).toMatch(/answered 403 not allowed; the key in [A-Z_]+ may not use model ".+" or this endpoint: use a key whose account has access to it, or another model/);
  });

  test('another 4xx (400) is a recorded rejection: the run goes on', async () => {
    const o = await outcome(api, [{ kind: 'status', status: 400, message: 'max_tokens is too large' }]);
    expect(o.requests).toBe(1);
    expect(o.result).toMatchObject({ ok: false, reason: 'reflection error', text: expect.stringMatching(/400.*max_tokens is too large/) });
  });

  test('a fault followed by a good reply: the retried call adopts the proposal', async () => {
    expect((await outcome(api, [{ kind: 'reset' }])).failure).toMatchObject({ nonRetryable: false });
    const o = await outcome(api, [{ kind: 'ok', text: '```\nAnswer with the number only.\n```' }]);
    expect(o.result).toMatchObject({ ok: true, text: 'Answer with the number only.', calls: 1 });
  });
});

test('openai: a 200 with an empty choices list is a retryable malformed reply, not an empty proposal', async () => {
  const o = await outcome('openai', [{ kind: 'no-choices' }]);
  expect(o.requests).toBe(1);
  expect(o.failure).toMatchObject({ type: PROVIDER_BAD_RESPONSE_FAILURE, nonRetryable: false });
  expect(o.failure!.message).toMatch(/malformed reply: a chat completion with an empty choices list/);
});

test('anthropic: a 200 with no content blocks is an empty reply, recorded as a rejected proposal', async () => {
  fake.requests.length = 0;
  fake.plan([], () => ({ kind: 'ok', text: '' }));
  const out = await propose('anthropic');
  expect(fake.requests.length).toBe(1);
  expect(out).toMatchObject({ ok: false, reason: 'empty', text: '' });
});

test('the described providers keep their own members: only the local server continues a started reply', () => {
  expect(createProvider({ provider: 'local', model: 'm', base_url: `${fake.base}/v1` }, {})).toMatchObject({ name: 'local', model: 'm', supportsPrefill: true, supportsGrammar: true });
  expect(createProvider({ provider: 'openai', model: 'gpt-4o-mini' }, { OPENAI_API_KEY: KEY })).toMatchObject({ name: 'openai', supportsPrefill: false, supportsGrammar: false });
  expect(createProvider({ provider: 'anthropic', model: 'claude-haiku-4-5' }, { ANTHROPIC_API_KEY: KEY })).toMatchObject({ name: 'anthropic', supportsPrefill: false, supportsGrammar: false });
});

test('an invalid GEPA_RL_LLM_TIMEOUT_S is a non-retryable config failure naming the value', async () => {
  process.env.GEPA_RL_LLM_TIMEOUT_S = 'soon';
  try {
    const err = await propose('openai').catch((e) => e);
    expect(err).toMatchObject({ type: PROVIDER_CONFIG_FAILURE, nonRetryable: true, message: expect.stringMatching(/GEPA_RL_LLM_TIMEOUT_S must be a positive number of seconds \(got "soon"\)/) });
  } finally {
    process.env.GEPA_RL_LLM_TIMEOUT_S = '3';
  }
});

describe('API sampling (apiSample)', () => {
  const task = taskConfigSchema.parse({ env: 'arithmetic' });
  async function sample(replies: FakeReply[], fallback?: () => FakeReply) {
    const dir = mkdtempSync(path.join(tmpdir(), 'api-faults-'));
    const { prompts_ref } = await buildPrompts({ task, split: 'train', indices: [0, 1], system_prompt: 'Answer.', blob_dir: dir });
    fake.requests.length = 0;
    fake.plan(replies, fallback);
    const req: ApiSampleRequest = {
      provider: 'openai-compatible', model: 'my-model', base_url: `${fake.base}/v1`, prompts_ref, num_samples: 1, max_tokens: 16,
      temperature: 1, top_p: 1, seed: 3, blob_dir: dir, parallelism: 1,
    };
    return activityEnv().run(apiSample, req) as Promise<PolicySampleResult>;
  }

  test('a 200 with an empty choices list fails the batch for a retry instead of losing that prompt\'s samples', async () => {
    const err = await sample([{ kind: 'ok', text: 'The answer is 3' }, { kind: 'no-choices' }]).catch((e) => e);
    expect(err).toMatchObject({ type: PROVIDER_BAD_RESPONSE_FAILURE, nonRetryable: false, message: expect.stringMatching(/openai-compatible provider \(model "my-model".*empty choices list/) });
    expect(fake.requests.length).toBe(2);
  });

  test('429 with Retry-After carries the delay; 401 fails at once with the fix', async () => {
    await expect(sample([{ kind: 'status', status: 429, message: 'slow down', headers: { 'retry-after': '2' } }])).rejects.toMatchObject({ type: 'ProviderHttp429', nonRetryable: false, nextRetryDelay: 2000 });
    expect(fake.requests.length).toBe(1);
    await expect(sample([{ kind: 'status', status: 401, message: 'bad key' }])).rejects.toMatchObject({
      type: PROVIDER_CONFIG_FAILURE,
      nonRetryable: true,
      message: expect.stringMatching(/set a valid OPENAI_API_KEY in the TS worker's environment/),
    });
    expect(fake.requests.length).toBe(1);
  });

  test('after the fault, the retried batch samples every prompt', async () => {
    const res = await sample([], () => ({ kind: 'ok', text: 'The answer is 3' }));
    expect(res.num_tokens).toEqual([[5], [5]]);
    expect(fake.requests.length).toBe(2);
  });
});

describe('teacher hints (teacherHint)', () => {
  const task = taskConfigSchema.parse({ env: 'arithmetic' });
  const hint = (replies: FakeReply[]) => {
    fake.requests.length = 0;
    fake.plan(replies);
    return activityEnv().run(teacherHint, {
      teacher: { provider: 'anthropic' as const, model: 'claude-haiku-4-5', base_url: fake.base, temperature: 0, max_tokens: 64 },
      task, index: 0, attempt: 'The answer is 0', previous_leaks: 0, seed: 1,
    });
  };

  test('429 with Retry-After and a connection reset are retryable; a 400 is a recorded teacher error; a 401 fails at once', async () => {
    await expect(hint([{ kind: 'status', status: 429, message: 'slow down', headers: { 'retry-after': '5' } }])).rejects.toMatchObject({ type: 'ProviderHttp429', nonRetryable: false, nextRetryDelay: 5000 });
    await expect(hint([{ kind: 'reset' }])).rejects.toMatchObject({ type: 'ProviderError', nonRetryable: false, message: expect.stringMatching(/could not be reached/) });
    expect(await hint([{ kind: 'status', status: 400, message: 'prompt is too long' }])).toMatchObject({ hint: null, error: expect.stringMatching(/400 prompt is too long/) });
    await expect(hint([{ kind: 'status', status: 401, message: 'invalid x-api-key' }])).rejects.toMatchObject({
      type: PROVIDER_CONFIG_FAILURE,
      nonRetryable: true,
      message: expect.stringMatching(/set a valid ANTHROPIC_API_KEY in the TS worker's environment/),
    });
    expect(fake.requests).toHaveLength(1);
    expect(await hint([{ kind: 'ok', text: 'Add the two numbers first.' }])).toMatchObject({ hint: 'Add the two numbers first.', error: null });
  });
});

test('the reflection activity sends the proposal grammar, bounded by reflection.max_tokens, to the local server only', async () => {
  const send = async (provider: 'local' | 'openai' | 'openai-compatible') => {
    fake.requests.length = 0;
    fake.plan([], () => ({ kind: 'ok', text: 'Be brief.\n```' }));
    const out = await activityEnv().run(proposeComponent, {
      reflection: { provider, model: provider === 'openai' ? 'gpt-4o-mini' : 'm', base_url: `${fake.base}/v1`, temperature: 1, max_tokens: 100 },
      component: 'system_prompt', current_text: 'Answer.', traces_refs: [], rejected: [], seed: 1,
    });
    expect(fake.requests.length).toBe(1);
    return { out, body: fake.requests[0].body };
  };
  const local = await send('local');
  expect(local.body.grammar).toBe(proposalGrammar(proposalCharBound(100)));
  expect(local.body.messages.at(-1)).toEqual({ role: 'assistant', content: '```\n' });
  expect(local.out).toMatchObject({ ok: true, text: 'Be brief.' });
  for (const api of ['openai', 'openai-compatible'] as const) expect((await send(api)).body.grammar).toBeUndefined();
});
