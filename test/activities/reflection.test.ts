/** The reflection activity: one call by default, the reply parsed as the reference does; the optional fence-repair turn. */
import { proposeComponent } from '../../src/activities/reflection';
import { closePrefilledReply, closingFenceOnItsLine, FENCE_PREFILL, FENCE_REPAIR_PROMPT, MAX_PROPOSAL_CHARS, parseReflectionReply, shouldAskForFence } from '../../src/core/gepa';
import { ApplicationFailure } from '@temporalio/common';
import { PROVIDER_CONFIG_FAILURE } from '../../src/llm';
import { registerScriptedReplies } from '../helpers/scriptedProviders';

const req = (model: string, fence_repair = true) => ({
  reflection: { provider: 'scripted' as const, model, temperature: 0, max_tokens: 100 },
  component: 'system_prompt',
  current_text: 'Answer.',
  traces_refs: [],
  rejected: [],
  seed: 1,
  fence_repair,
});

test('by default one call: an unfenced reply is adopted whole, a truncated, empty, fence-only, unchanged or 10 MB one is rejected', async () => {
  let calls = 0;
  registerScriptedReplies('plain-prose', () => {
    calls += 1;
    return '  Give only the final number.  ';
  });
  expect(await proposeComponent(req('plain-prose', false))).toMatchObject({ ok: true, text: 'Give only the final number.', calls: 1, first_reply_unfenced: false });
  expect(calls).toBe(1);
  registerScriptedReplies('cut-off', () => ({ text: '```\nGive only the final number and', finish_reason: 'length' }));
  expect(await proposeComponent(req('cut-off', false))).toMatchObject({ ok: false, reason: 'truncated', calls: 1 });
  registerScriptedReplies('cut-off-closed', () => ({ text: 'Give only the final', finish_reason: 'length' }));
  expect(await proposeComponent(req('cut-off-closed', false))).toMatchObject({ ok: false, reason: 'truncated' });
  registerScriptedReplies('empty', () => '');
  expect(await proposeComponent(req('empty', false))).toMatchObject({ ok: false, reason: 'empty', calls: 1 });
  registerScriptedReplies('only-fence', () => '```\n```');
  expect(await proposeComponent(req('only-fence', false))).toMatchObject({ ok: false, reason: 'empty' });
  registerScriptedReplies('same', () => '```\nAnswer.\n```');
  expect(await proposeComponent(req('same', false))).toMatchObject({ ok: false, reason: 'unchanged' });
  registerScriptedReplies('huge', () => 'x'.repeat(10 * 1024 * 1024));
  const huge = await proposeComponent(req('huge', false));
  expect(huge).toMatchObject({ ok: false, reason: 'too long' });
  expect(huge.text.length).toBeLessThanOrEqual(MAX_PROPOSAL_CHARS);
});

test('with fence_repair, only an unfenced, non-empty reply earns a repair turn', () => {
  const p = (r: string) => parseReflectionReply(r, undefined, { requireFence: true });
  expect(shouldAskForFence(p('Be concise and give a number.'))).toBe(true);
  expect(shouldAskForFence(p('```\nhalf a block'))).toBe(false);
  expect(shouldAskForFence(p('```\nBe concise.\n```'))).toBe(false);
  expect(shouldAskForFence(p('   '))).toBe(false);
});

test('with fence_repair, an unfenced reply is restated inside a fence on the second turn and adopted from the fence only', async () => {
  const seen: number[] = [];
  registerScriptedReplies('prose-then-fence', (r) => {
    seen.push(r.messages.length);
    const last = r.messages[r.messages.length - 1].content;
    return last === FENCE_REPAIR_PROMPT ? 'Sure:\n```\nGive only the final number.\n```' : 'You should give only the final number.';
  });
  const out = await proposeComponent(req('prose-then-fence'));
  expect(seen).toEqual([1, 3]); // the prompt, then prompt + its own reply + the repair request
  expect(out).toMatchObject({ ok: true, text: 'Give only the final number.', reason: null });
  // the unfenced first reply is not lost: it is flagged and kept as an excerpt
  expect(out).toMatchObject({ calls: 2, first_reply_unfenced: true, first_reply_excerpt: 'You should give only the final number.' });
});

test('a closing fence written on the last text line is moved to its own line; an unclosed block stays unclosed', () => {
  expect(closingFenceOnItsLine('```\nBe brief.```')).toBe('```\nBe brief.\n```');
  expect(closingFenceOnItsLine('```\nBe brief.\n```')).toBe('```\nBe brief.\n```');
  expect(parseReflectionReply(closingFenceOnItsLine('```\nBe brief.```'))).toEqual({ ok: true, text: 'Be brief.' });
  expect(parseReflectionReply(closingFenceOnItsLine('```\nBe brief and'), undefined, { requireFence: true })).toMatchObject({ ok: false, reason: 'unclosed fence' });
});

test('where the provider continues a started reply (the local server), its one call is begun inside the fence and stops at the closing one', async () => {
  const asked: Array<{ prefill?: string; stop?: string[] }> = [];
  // imitates the local server: the script writes the continuation of the prefilled opening fence
  registerScriptedReplies(
    'local-like',
    (r) => {
      asked.push({ prefill: r.prefill, stop: r.stop });
      return 'Give only the final number.```';
    },
    { prefill: true },
  );
  // fence_repair on: a reply begun inside the fence never needs the repair turn
  expect(await proposeComponent(req('local-like'))).toMatchObject({ ok: true, text: 'Give only the final number.', calls: 1, first_reply_unfenced: false });
  expect(asked).toEqual([{ prefill: FENCE_PREFILL, stop: ['```'] }]);
  // the model ended its reply before writing the closing fence: complete, adopted
  registerScriptedReplies('local-ended', () => 'Give only the final number.\n', { prefill: true });
  expect(await proposeComponent(req('local-ended', false))).toMatchObject({ ok: true, text: 'Give only the final number.', calls: 1 });
  // cut off at max_tokens inside the block: truncated; a block closed at once: empty
  registerScriptedReplies('local-cut', () => ({ text: 'Give only the final', finish_reason: 'length' }), { prefill: true });
  expect(await proposeComponent(req('local-cut', false))).toMatchObject({ ok: false, reason: 'truncated' });
  registerScriptedReplies('local-bare', () => '```', { prefill: true });
  expect(await proposeComponent(req('local-bare', false))).toMatchObject({ ok: false, reason: 'empty' });
});

test('a prefilled reply: the model\'s own end closes the block, the token limit does not', () => {
  expect(closePrefilledReply('```\nBe brief.', 'stop')).toBe('```\nBe brief.\n```');
  expect(closePrefilledReply('```\nBe brief.```', 'stop')).toBe('```\nBe brief.\n```');
  expect(closePrefilledReply('```\nBe brief and', 'length')).toBe('```\nBe brief and');
  expect(parseReflectionReply(closePrefilledReply('```\nBe brief and', 'length'), undefined, { finishReason: 'length' })).toMatchObject({ ok: false, reason: 'truncated' });
});

test('a reflector that stays unfenced is rejected with the first reply recorded', async () => {
  registerScriptedReplies('always-prose', () => 'Looks fine to me.');
  const out = await proposeComponent(req('always-prose'));
  expect(out).toMatchObject({ ok: false, reason: 'unfenced', text: 'Looks fine to me.', first_reply_unfenced: true, first_reply_excerpt: 'Looks fine to me.' });
});

test('a fenced first reply is not flagged; usage and cost are summed over the calls', async () => {
  registerScriptedReplies('gpt-4o-mini-scripted', () => '```\nGive only the final number.\n```');
  const out = await proposeComponent(req('gpt-4o-mini-scripted'));
  expect(out).toMatchObject({ ok: true, calls: 1, first_reply_unfenced: false, first_reply_excerpt: null });
  expect(out.usage.prompt_tokens).toBeGreaterThan(0);
  expect(out.usage.completion_tokens).toBe(Math.ceil('```\nGive only the final number.\n```'.length / 4));
  expect(out.cost_usd).toBeCloseTo((out.usage.prompt_tokens * 0.15 + out.usage.completion_tokens * 0.6) / 1e6, 12);
});

test('a 4xx reply is a recorded reflection error; a 5xx is thrown for Temporal to retry', async () => {
  const httpError = (status: number, message: string) => Object.assign(new Error(message), { status });
  registerScriptedReplies('bad-request', () => {
    throw httpError(400, 'max_tokens too large');
  });
  expect(await proposeComponent(req('bad-request'))).toMatchObject({ ok: false, reason: 'reflection error', text: 'max_tokens too large' });
  registerScriptedReplies('overloaded', () => {
    throw httpError(503, 'overloaded');
  });
  const err = await proposeComponent(req('overloaded')).catch((e) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'ProviderHttp503', nonRetryable: false });
});

test('a reflection LM that cannot be built is a non-retryable ProviderConfig failure naming what is missing', async () => {
  const saved = process.env.OPENAI_API_KEY;
  delete process.env.OPENAI_API_KEY;
  try {
    const err = await proposeComponent({ ...req('x'), reflection: { provider: 'openai', model: 'gpt-4o', temperature: 0, max_tokens: 10 } }).catch((e) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: PROVIDER_CONFIG_FAILURE, nonRetryable: true, message: expect.stringMatching(/^OPENAI_API_KEY is not set/) });
  } finally {
    if (saved !== undefined) process.env.OPENAI_API_KEY = saved;
  }
  const unregistered = await proposeComponent(req('nobody-registered-this')).catch((e) => e);
  expect(unregistered).toMatchObject({ type: PROVIDER_CONFIG_FAILURE, nonRetryable: true, message: expect.stringMatching(/no scripted replies registered for model "nobody-registered-this"/) });
});

test('debug=true: the deterministic reflector answers without any LM (even an unusable one)', async () => {
  const out = await proposeComponent({ ...req('nobody-registered-this', false), debug: true });
  expect(out).toMatchObject({ ok: true, text: 'Answer.\nCheck your answer before you reply.', calls: 0, usage: { prompt_tokens: 0, completion_tokens: 0 } });
});
