/**
 * Providers through the official clients against a local HTTP server that imitates OpenAI's and
 * Anthropic's APIs (a scripted stand-in for paid APIs; tests only).
 */
import { classifyProviderError, createProvider, estimateCost, PROVIDER_CONFIG_FAILURE, providerForActivity, toActivityFailure } from '../../src/llm';
import { createToolProvider } from '../../src/llm/tools';
import { startFakeProvider, type FakeProvider } from '../helpers/fakeProvider';

const KEY = 'sk-test-SECRET-123456';
let fake: FakeProvider;
let base: string;
/** what the server was sent (url, body, headers), since the test began */
let seen: FakeProvider['requests'];
/** each request's reply, built from its url and body */
let script: (url: string, body: any) => { status: number; body: unknown; headers?: Record<string, string> };

beforeAll(async () => {
  fake = await startFakeProvider();
  base = fake.base;
  fake.plan([], (req) => ({ kind: 'json', ...script(req.url, req.body) }));
  seen = fake.requests;
});
afterAll(() => fake.close());
beforeEach(() => (seen.length = 0));

const openaiOk = (n = 1) => ({
  status: 200,
  body: {
    id: 'x', object: 'chat.completion', created: 0, model: 'gpt-4o-mini',
    choices: Array.from({ length: n }, (_, i) => ({ index: i, message: { role: 'assistant', content: `reply ${i}` }, finish_reason: i ? 'length' : 'stop' })),
    usage: { prompt_tokens: 1000, completion_tokens: 2000, total_tokens: 3000 },
  },
});

test('openai: request shape, texts, usage and cost', async () => {
  script = () => openaiOk(2);
  const p = createProvider({ provider: 'openai', model: 'gpt-4o-mini', base_url: `${base}/v1` }, { OPENAI_API_KEY: KEY });
  const r = await p.complete({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }], max_tokens: 50, n: 2, temperature: 0.5 });
  expect(r.texts).toEqual(['reply 0', 'reply 1']);
  expect(r.finish_reasons).toEqual(['stop', 'length']);
  expect(r.usage).toEqual({ prompt_tokens: 1000, completion_tokens: 2000 });
  expect(r.cost_usd).toBeCloseTo(0.15 * 1000 / 1e6 + 0.6 * 2000 / 1e6, 10);
  expect(seen[0].url).toBe('/v1/chat/completions');
  expect(seen[0].body).toMatchObject({ model: 'gpt-4o-mini', max_tokens: 50, n: 2, messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }] });
  expect(seen[0].headers.authorization).toBe(`Bearer ${KEY}`);
  expect(JSON.stringify(r)).not.toContain(KEY);
});

test('anthropic: system messages go to the system parameter; n>1 is n calls', async () => {
  script = () => ({ status: 200, body: { id: 'm', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'hint' }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 5 } } });
  const p = createProvider({ provider: 'anthropic', model: 'claude-sonnet-4-5', base_url: base }, { ANTHROPIC_API_KEY: KEY });
  const r = await p.complete({ messages: [{ role: 'system', content: 'be terse' }, { role: 'user', content: 'hi' }], n: 2, max_tokens: 20 });
  expect(r.texts).toEqual(['hint', 'hint']);
  expect(r.usage).toEqual({ prompt_tokens: 20, completion_tokens: 10 });
  expect(seen).toHaveLength(2);
  expect(seen[0].url).toBe('/v1/messages');
  expect(seen[0].body).toMatchObject({ system: 'be terse', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 });
});

test('anthropic: temperature and top_p reach the API, one of them per request as Anthropic requires', async () => {
  script = () => ({ status: 200, body: { id: 'm', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1 } } });
  const p = createProvider({ provider: 'anthropic', model: 'claude-sonnet-4-5', base_url: base }, { ANTHROPIC_API_KEY: KEY });
  const msg = [{ role: 'user' as const, content: 'hi' }];
  await p.complete({ messages: msg, temperature: 0.3 });
  await p.complete({ messages: msg, temperature: 0.3, top_p: 1 });
  await p.complete({ messages: msg, temperature: 1, top_p: 0.9 });
  await p.complete({ messages: msg, top_p: 0.8 });
  await p.complete({ messages: msg, temperature: 0 });
  const sent = seen.map((s) => ({ temperature: s.body.temperature, top_p: s.body.top_p }));
  expect(sent).toEqual([
    { temperature: 0.3, top_p: undefined },
    { temperature: 0.3, top_p: undefined },
    { temperature: undefined, top_p: 0.9 },
    { temperature: undefined, top_p: 0.8 },
    { temperature: 0, top_p: undefined },
  ]);
  // both changed: Anthropic's current models reject the pair, so it is refused before any call
  seen.length = 0;
  const both = await p.complete({ messages: msg, temperature: 0.7, top_p: 0.9 }).catch((e) => e);
  expect(seen).toHaveLength(0);
  expect(classifyProviderError(both)).toMatchObject({ retryable: false, config: true, message: expect.stringMatching(/temperature or top_p, not both \(got temperature=0\.7, top_p=0\.9\)/) });
});

test('429 with retry-after is retryable with that delay; 5xx retryable; 400/401 not, without the key', async () => {
  const p = createProvider({ provider: 'openai', model: 'gpt-4o-mini', base_url: `${base}/v1` }, { OPENAI_API_KEY: KEY });
  script = () => ({ status: 429, body: { error: { message: 'slow down' } }, headers: { 'retry-after': '7' } });
  const e429 = await p.complete({ messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
  expect(classifyProviderError(e429)).toMatchObject({ retryable: true, status: 429, retryAfterMs: 7000 });
  const f = toActivityFailure(e429);
  expect(f.nonRetryable).toBe(false);
  expect(f.nextRetryDelay).toBe(7000);
  script = () => ({ status: 503, body: { error: { message: 'overloaded' } } });
  expect(classifyProviderError(await p.complete({ messages: [{ role: 'user', content: 'x' }] }).catch((e) => e))).toMatchObject({ retryable: true, status: 503 });
  script = () => ({ status: 401, body: { error: { message: `Incorrect API key provided: ${KEY.slice(0, 6)}***` } } });
  const e401 = await p.complete({ messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
  const f401 = toActivityFailure(e401);
  expect(f401.nonRetryable).toBe(true);
  expect(f401.message).toMatch(/401.*Incorrect API key/);
  expect(f401.message).not.toContain(KEY);
  // a bad key, no access or an unknown model fails every later call too: a configuration failure
  expect(f401.type).toBe(PROVIDER_CONFIG_FAILURE);
  for (const status of [403, 404]) {
    script = () => ({ status, body: { error: { message: 'nope' } } });
    expect(classifyProviderError(await p.complete({ messages: [{ role: 'user', content: 'x' }] }).catch((e) => e))).toMatchObject({ retryable: false, config: true, status });
  }
  script = () => ({ status: 400, body: { error: { message: 'max_tokens too large' } } });
  const e400 = await p.complete({ messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
  expect(toActivityFailure(e400)).toMatchObject({ nonRetryable: true, type: 'ProviderHttp400', message: expect.stringMatching(/max_tokens too large/) });
  expect(classifyProviderError(e400).config).toBeUndefined();
});

test('a missing key is a clear, non-retryable error', () => {
  expect(() => createProvider({ provider: 'openai', model: 'gpt-4o' }, {})).toThrow('OPENAI_API_KEY is not set; the openai provider needs it');
  expect(() => createProvider({ provider: 'anthropic', model: 'claude-sonnet-4-5' }, {})).toThrow(/ANTHROPIC_API_KEY is not set/);
  let err: unknown;
  try {
    createProvider({ provider: 'openai', model: 'gpt-4o' }, {});
  } catch (e) {
    err = e;
  }
  expect(classifyProviderError(err).retryable).toBe(false);
});

/** The error `f` throws (the test fails if it throws none). */
function fail(f: () => unknown): { type?: string; nonRetryable?: boolean; message: string } {
  try {
    f();
  } catch (e) {
    return e as { type?: string; nonRetryable?: boolean; message: string };
  }
  throw new Error('expected a failure');
}

test('providerForActivity turns every config error into a non-retryable ProviderConfig failure', () => {
  expect(fail(() => providerForActivity({ provider: 'anthropic', model: 'claude-sonnet-4-5' }, {}))).toMatchObject({
    type: PROVIDER_CONFIG_FAILURE,
    nonRetryable: true,
    message: expect.stringMatching(/^ANTHROPIC_API_KEY is not set/),
  });
  expect(fail(() => providerForActivity({ provider: 'openai-compatible', model: 'm' }, {}))).toMatchObject({
    type: PROVIDER_CONFIG_FAILURE,
    nonRetryable: true,
    message: expect.stringMatching(/openai-compatible provider needs base_url \(or OPENAI_BASE_URL/),
  });
  expect(fail(() => providerForActivity({ provider: 'nope' as never, model: 'm' }, {}))).toMatchObject({ type: PROVIDER_CONFIG_FAILURE, message: expect.stringMatching(/unknown provider "nope"/) });
  expect(providerForActivity({ provider: 'openai', model: 'gpt-4o' }, { OPENAI_API_KEY: KEY }).name).toBe('openai');
});

test('provider=scripted where no test code registered it (a user\'s worker): refused at once, saying what it is', () => {
  // this file imports no test/helpers/scriptedProviders, as src/ never does
  expect(() => createProvider({ provider: 'scripted', model: 'm' }, {})).toThrow(/provider=scripted is the test suite's stand-in for paid APIs; test code registers it \(no completion stand-in/);
  expect(() => createToolProvider({ provider: 'scripted', model: 'm' }, {})).toThrow(/no tool-calling stand-in is registered/);
  expect(fail(() => providerForActivity({ provider: 'scripted', model: 'm' }, {}))).toMatchObject({ type: PROVIDER_CONFIG_FAILURE, nonRetryable: true });
});

test('local provider talks to the local OpenAI-compatible server without a key', async () => {
  script = () => openaiOk(1);
  const p = createProvider({ provider: 'local', model: 'smollm2-135m-instruct' }, { GEPA_RL_LOCAL_LM_URL: `${base}/v1` });
  const r = await p.complete({ messages: [{ role: 'user', content: 'x' }] });
  expect(r.texts).toEqual(['reply 0']);
  expect(r.cost_usd).toBeNull();
  expect(estimateCost('some-local-model', { prompt_tokens: 1, completion_tokens: 1 })).toBeNull();
});
