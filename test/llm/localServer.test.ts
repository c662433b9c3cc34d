/**
 * The local OpenAI-compatible server on llama.cpp (src/llm/localServer.ts), run as its own process
 * with the real SmolLM2 GGUF, and reached through the `local` provider like the workers reach it.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { applyStops, parseChatRequest } from '../../src/llm/localServer';
import { createProvider } from '../../src/llm';
import { afterFirstReply, buildReflectionPrompt, firstTurn, proposalCharBound } from '../../src/core/gepa';
import { ROOT, VENV_PYTHON } from '../helpers/stack';
import { freePort } from '../helpers/io';

const MODEL = 'smollm2-135m-instruct';
let proc: ChildProcess | undefined;
let base = '';
let out = '';

beforeAll(async () => {
  const gguf = execFileSync(VENV_PYTHON, ['-c', 'from gepa_rl_trainer.models import smollm2_gguf_path; print(smollm2_gguf_path())'], {
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer') },
  })
    .toString()
    .trim();
  const port = await freePort();
  // two slots (independent llama.cpp contexts) whatever the machine's cores, as the byte-equality test needs
  proc = spawn(process.execPath, ['-r', './test/cli/tsRegister.js', 'src/llm/localServer.ts', '--gguf', gguf, '--port', String(port), '--model', MODEL, '--slots', '2', '--threads', '1'], { cwd: ROOT });
  proc.stdout!.on('data', (d) => (out += d.toString()));
  proc.stderr!.on('data', (d) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (out.includes('local LM server ready')) {
        clearInterval(t);
        resolve();
      }
      if (proc!.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`local LM server exited:\n${out}`));
      }
    }, 100);
  });
  base = `http://127.0.0.1:${port}/v1`;
}, 300_000);

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    const done = new Promise((r) => proc!.once('exit', r));
    proc.kill('SIGTERM');
    await done;
  }
});

const post = async (body: unknown) => {
  const res = await fetch(`${base}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
};

test('requests are checked with messages that say what was received', () => {
  expect(() => parseChatRequest({ messages: [] }, MODEL)).toThrow(/messages must be a non-empty list .*got \[\]/);
  expect(() => parseChatRequest({ messages: [{ role: 'user', content: 'x' }], stream: true }, MODEL)).toThrow(/stream=true is not supported/);
  expect(() => parseChatRequest({ messages: [{ role: 'user', content: 'x' }], n: 40 }, MODEL)).toThrow(/n must be 1..16 .*got n=40/);
  expect(() => parseChatRequest({ messages: [{ role: 'user', content: 'x' }], temperature: 'hot' }, MODEL)).toThrow(/temperature: expected a number, got "hot"/);
  expect(() => parseChatRequest({ messages: [{ role: 'user', content: 'x' }], response_format: { type: 'xml' } }, MODEL)).toThrow(/response_format.type .*got "xml"/);
  expect(parseChatRequest({ messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: '```\n' }] }, MODEL)).toMatchObject({ prefill: '```\n', messages: [{ role: 'user', content: 'x' }] });
  expect(applyStops('abc```def', 'length', ['```'], true)).toEqual(['abc```', 'stop']);
  expect(applyStops('abc```def', 'length', ['```'], false)).toEqual(['abc', 'stop']);
});

test('the local provider gets a greedy reply with finish reason and usage; max_tokens cuts it with finish_reason length', async () => {
  const p = createProvider({ provider: 'local', model: MODEL, base_url: base });
  const r = await p.complete({ messages: [{ role: 'user', content: 'What is 2+3?' }], max_tokens: 40, temperature: 0 });
  expect(r.texts[0]).toMatch(/5/);
  expect(r.finish_reasons).toEqual(['stop']);
  expect(r.usage.prompt_tokens).toBeGreaterThan(10);
  const again = await p.complete({ messages: [{ role: 'user', content: 'What is 2+3?' }], max_tokens: 40, temperature: 0 });
  expect(again.texts).toEqual(r.texts); // greedy is deterministic
  const cut = await p.complete({ messages: [{ role: 'user', content: 'Write a long story about a dragon.' }], max_tokens: 3, temperature: 0 });
  expect(cut.finish_reasons).toEqual(['length']);
  expect(cut.usage.completion_tokens).toBe(3);
}, 120_000);

test('a prefilled reply continues the assistant message and keeps the stop string that ended it', async () => {
  const p = createProvider({ provider: 'local', model: MODEL, base_url: base });
  const reply = await p.complete({ messages: [{ role: 'user', content: 'Write one rule for answering math questions, in a code block.' }], prefill: '```\n', stop: ['```'], max_tokens: 60, temperature: 0 });
  expect(reply.texts[0].startsWith('```\n')).toBe(true);
  // generation ends at the first closing fence, which is kept at the end of the text
  const rest = reply.texts[0].slice(4);
  const close = rest.indexOf('```');
  expect(close === -1 ? reply.finish_reasons[0] : close).toBe(close === -1 ? 'length' : rest.length - 3);
}, 120_000);

test('response_format json_object and a GBNF grammar constrain the output', async () => {
  const j = await post({ model: MODEL, messages: [{ role: 'user', content: 'Give a JSON object with a name and an age.' }], max_tokens: 60, temperature: 0, response_format: { type: 'json_object' } });
  expect(j.status).toBe(200);
  expect(j.body.choices[0].finish_reason).toBe('stop');
  expect(typeof JSON.parse(j.body.choices[0].message.content)).toBe('object');
  const s = await post({
    model: MODEL,
    messages: [{ role: 'user', content: 'What is 2+3? Reply as JSON.' }],
    max_tokens: 30,
    temperature: 0,
    response_format: { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'] } } },
  });
  expect(Number.isInteger(JSON.parse(s.body.choices[0].message.content).answer)).toBe(true);
  const g = await post({ model: MODEL, messages: [{ role: 'user', content: 'Is the sky blue?' }], max_tokens: 5, temperature: 1, seed: 3, grammar: 'root ::= "yes" | "no"' });
  expect(['yes', 'no']).toContain(g.body.choices[0].message.content);
  const bad = await post({ model: MODEL, messages: [{ role: 'user', content: 'x' }], grammar: 'root ::= (' });
  expect(bad.status).toBe(400);
  expect(bad.body.error.message).toMatch(/grammar cannot be used/);
}, 180_000);

test('n samples with distinct seeds; unknown model, bad body and unknown routes are clear errors', async () => {
  const r = await post({ model: MODEL, messages: [{ role: 'user', content: 'Name a colour.' }], max_tokens: 8, temperature: 1, n: 2, seed: 5 });
  expect(r.body.choices).toHaveLength(2);
  expect(r.body.usage.completion_tokens).toBeGreaterThan(0);
  const wrong = await post({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
  expect(wrong).toMatchObject({ status: 404, body: { error: { message: expect.stringMatching(/"gpt-4o" is not served here/) } } });
  const notJson = await fetch(`${base}/chat/completions`, { method: 'POST', body: '{oops' });
  expect(notJson.status).toBe(400);
  expect((await fetch(`${base.replace('/v1', '')}/health`).then((x) => x.json())) as any).toMatchObject({ status: 'ok', backend: 'llama.cpp' });
  expect((await fetch(`${base}/nowhere`)).status).toBe(404);
}, 120_000);

// Concurrent requests must answer exactly as they do one at a time. (Parallel llama.cpp sequences,
// tried with node-llama-cpp 3.21.1, mixed tokens across the requests decoded together:
// bench/local-lm/parallel.mjs. The server's slots are independent contexts, one request each.)
test('on 2 slots, 12 requests sent at once answer byte for byte as one at a time, 3 runs, and both slots serve', async () => {
  const p = createProvider({ provider: 'local', model: MODEL, base_url: base });
  // greedy policy-like calls of two system prompts, and two seeded samples at temperature 1
  const ask = (i: number) =>
    p
      .complete({
        messages: [
          { role: 'system', content: i % 2 ? 'You are a calculator. Reply with only the number.' : 'Answer briefly and show the result last.' },
          { role: 'user', content: `What is ${i + 3} + ${2 * i + 1}? Answer with just the number.` },
        ],
        max_tokens: 24,
        ...(i % 6 === 5 ? { temperature: 1, seed: i } : { temperature: 0 }),
      })
      .then((r) => r.texts[0]);
  const xs = Array.from({ length: 12 }, (_, i) => i);
  const oneByOne: string[] = [];
  for (const i of xs) oneByOne.push(await ask(i));
  const logged = out.length;
  for (let run = 0; run < 3; run++) expect(await Promise.all(xs.map(ask))).toEqual(oneByOne);
  // the 36 concurrent requests were spread over both slots (the server logs the slot of each, just
  // after its reply: wait for the last lines to arrive through the pipe)
  const logSlots = () => [...out.slice(logged).matchAll(/ 200 slot=(\d+) /g)].map((m) => m[1]);
  for (let k = 0; k < 100 && logSlots().length < 36; k++) await new Promise((r) => setTimeout(r, 100));
  const slots = logSlots();
  expect(slots).toHaveLength(36);
  expect(new Set(slots)).toEqual(new Set(['0', '1']));
}, 300_000);

// A reflection prompt as the bench's first GEPA iteration builds it (the seed prompt's real SmolLM2
// outputs on one arithmetic minibatch): unconstrained, the 135M reflector often copies the examples
// into the fence until max_tokens; under the proposal grammar it must close the fence within the bound.
test('the proposal grammar makes every local reflection reply close its fence within the bound, where the same calls unconstrained are cut at max_tokens', async () => {
  const seedPrompt = 'You are a helpful assistant. Solve the problem and give the final answer.';
  const ex = (a: number, b: number, out: string, score: number, fb: string) => ({ input: `What is ${a} + ${b}? Answer with just the number.`, output: out, reward: score, feedback: fb });
  const prompt = buildReflectionPrompt({
    component: 'system_prompt',
    current_text: seedPrompt,
    records: [
      ex(1, 8, '1 + 8 = 9', 1, 'Correct: 1 + 8 = 9.'),
      ex(7, 9, 'To solve this problem, we need to find the sum of 7 and ', 0, 'Wrong value: 7 + 9 = 16, but the answer was 7.'),
      ex(6, 6, 'To solve this problem, we need to find the sum of 6 and ', 0, 'Wrong value: 6 + 6 = 12, but the answer was 6.'),
    ],
    rejected: [],
  });
  const p = createProvider({ provider: 'local', model: MODEL, base_url: base });
  expect(p.supportsGrammar).toBe(true);
  const maxTokens = 48;
  const seeds = [0, 1, 2, 3, 4, 5];
  const ask = async (grammar: boolean, seed: number) => {
    const turn = firstTurn(prompt, { prefill: true, grammar }, maxTokens);
    expect(turn.grammar !== undefined).toBe(grammar);
    const r = await p.complete({ ...turn, max_tokens: maxTokens, temperature: 1, seed });
    const reply = { text: r.texts[0], finish_reason: r.finish_reasons[0] };
    return { reply, parsed: afterFirstReply(prompt, reply, seedPrompt, { fence_repair: false, supports_prefill: true }).parsed };
  };
  const free = [];
  for (const seed of seeds) free.push(await ask(false, seed));
  // the same calls unconstrained: at least one runs to max_tokens and is rejected as truncated
  expect(free.filter((f) => f.reply.finish_reason === 'length' && !f.parsed.ok && f.parsed.reason === 'truncated').length).toBeGreaterThan(0);
  for (const seed of seeds) {
    const { reply, parsed } = await ask(true, seed);
    expect(reply.finish_reason).toBe('stop');
    // the prefill, a body without a backtick of at most the bound, the closing fence
    expect(reply.text).toMatch(/^```\n[^`]+```$/);
    expect(reply.text.length - '```\n'.length - 3).toBeLessThanOrEqual(proposalCharBound(maxTokens));
    expect(parsed).toMatchObject({ ok: true });
  }
}, 300_000);
