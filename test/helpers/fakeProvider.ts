/**
 * A fake OpenAI-compatible and Anthropic HTTP server on 127.0.0.1 for provider-fault tests: each
 * request takes the next planned reply (a status with headers, a hang, a connection reset, a raw
 * body), and every request is counted, so a test can assert how many calls a fault cost.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeReply =
  | { kind: 'ok'; text: string }
  | { kind: 'status'; status: number; message: string; headers?: Record<string, string> }
  /** never answers (the client's timeout ends the call) */
  | { kind: 'hang' }
  /** closes the socket without a reply */
  | { kind: 'reset' }
  | { kind: 'raw'; status: number; contentType: string; body: string }
  /** a 200 chat completion with an empty choices list (OpenAI) */
  | { kind: 'no-choices' }
  /** this JSON body (status 200 unless given), for a test that builds the provider's reply itself */
  | { kind: 'json'; body: unknown; status?: number; headers?: Record<string, string> };

export interface FakeRequest {
  url: string;
  body: any;
  headers: IncomingMessage['headers'];
  at: number;
}

export interface FakeProvider {
  /** http://127.0.0.1:PORT (Anthropic's base URL; OpenAI's is `${base}/v1`) */
  base: string;
  requests: FakeRequest[];
  /** replies for the next requests, in order; once used up, `fallback` answers */
  plan(replies: FakeReply[], fallback?: (req: FakeRequest) => FakeReply): void;
  close(): Promise<void>;
}

function okBody(url: string, text: string): unknown {
  if (url.endsWith('/messages')) {
    return { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 5 } };
  }
  return {
    id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  };
}

/** The error body each API sends, so the SDKs parse it as they would a real one. */
function errorBody(url: string, status: number, message: string): unknown {
  if (url.endsWith('/messages')) {
    const type = status === 429 ? 'rate_limit_error' : status === 401 ? 'authentication_error' : status === 403 ? 'permission_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
    return { type: 'error', error: { type, message } };
  }
  return { error: { message, type: status === 429 ? 'rate_limit_exceeded' : 'invalid_request_error', code: null } };
}

export async function startFakeProvider(port = 0): Promise<FakeProvider> {
  let queue: FakeReply[] = [];
  let fallback: (req: FakeRequest) => FakeReply = () => ({ kind: 'status', status: 500, message: 'fake provider: no reply planned' });
  const requests: FakeRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.on('data', (d) => (data += d));
    req.on('end', () => {
      const r: FakeRequest = { url: req.url ?? '', body: data ? JSON.parse(data) : null, headers: req.headers, at: Date.now() };
      requests.push(r);
      const reply = queue.shift() ?? fallback(r);
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      switch (reply.kind) {
        case 'ok':
          return json(200, okBody(r.url, reply.text));
        case 'status':
          return json(reply.status, errorBody(r.url, reply.status, reply.message), reply.headers);
        case 'hang':
          return;
        case 'reset':
          return req.socket.destroy();
        case 'raw':
          res.writeHead(reply.status, { 'content-type': reply.contentType });
          return res.end(reply.body);
        case 'json':
          return json(reply.status ?? 200, reply.body, reply.headers);
        case 'no-choices':
          return json(200, { id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: 'gpt-4o-mini', choices: [], usage: { prompt_tokens: 10, completion_tokens: 0, total_tokens: 10 } });
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    plan(replies, fb) {
      queue = [...replies];
      if (fb) fallback = fb;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
