/**
 * Provider faults against a local fake OpenAI-compatible / Anthropic server (a stand-in for paid
 * APIs; tests only): each fault is either retried (with the server's delay when it gives one) or,
 * for 401/403/404, a non-retryable configuration failure that says what to fix. A run-level test
 * (test/workflows/providerFaults.test.ts) shows a run going on through them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProvider, PROVIDER_CONFIG_FAILURE, toActivityFailure } from '../../src/llm';

type Fault = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let base: string;
let fault: Fault;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Fault => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const ok = (choices: unknown[]) => json(200, { id: 'x', object: 'chat.completion', created: 0, model: 'm', choices, usage: { prompt_tokens: 1, completion_tokens: 1 } });

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => fault(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

async function failureOf(f: Fault, provider: 'openai' | 'anthropic' = 'openai') {
  fault = f;
  const p = createProvider({ provider, model: provider === 'openai' ? 'gpt-4o-mini' : 'claude-sonnet-4-5', base_url: provider === 'openai' ? `${base}/v1` : base, timeout_ms: 300 }, { OPENAI_API_KEY: 'sk-x', ANTHROPIC_API_KEY: 'sk-x' });
  const e = await p.complete({ messages: [{ role: 'user', content: 'x' }] }).then(
    (r) => {
      throw new Error(`expected a fault, got ${JSON.stringify(r)}`);
    },
    (err: unknown) => err,
  );
  return toActivityFailure(e);
}

test.each([
  ['429 with Retry-After', json(429, { error: { message: 'rate limited' } }, { 'retry-after': '3' }), 3000],
  ['429 without Retry-After', json(429, { error: { message: 'rate limited' } }), undefined],
  ['500', json(500, { error: { message: 'boom' } }), undefined],
] as const)('%s is retried (with the server delay when given)', async (_name, f, delay) => {
  for (const provider of ['openai', 'anthropic'] as const) {
    const failure = await failureOf(f, provider);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(delay);
  }
});

test('a timeout, a connection reset and a body that is not JSON are retried', async () => {
  const timeout = await failureOf(() => {}); // never answers; the provider's timeout (300 ms here) fires
  expect(timeout).toMatchObject({ nonRetryable: false, message: expect.stringMatching(/timed out|Connection error/i) }); // under jest the SDK reports the abort as a connection error
  const reset = await failureOf((req) => req.socket.destroy());
  expect(reset.nonRetryable).toBe(false);
  const notJson = await failureOf((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('<html>502 Bad Gateway</html>');
  });
  expect(notJson.nonRetryable).toBe(false);
});

test('a 200 with an empty choice list is a retried error that says so, never an empty reply', async () => {
  const failure = await failureOf(ok([]));
  expect(failure).toMatchObject({ nonRetryable: false, type: 'ProviderError', message: expect.stringMatching(/returned no choices/) });
});

test.each([
  [401, /OPENAI_API_KEY/],
  [403, /access/],
  [404, /model .*gpt-4o-mini|base_url/],
] as const)('%i fails at once with what to fix', async (status, fix) => {
  const failure = await failureOf(json(status, { error: { message: 'nope' } }));
  expect(failure).toMatchObject({ nonRetryable: true, type: PROVIDER_CONFIG_FAILURE });
  expect(failure.message).toMatch(fix);
});
