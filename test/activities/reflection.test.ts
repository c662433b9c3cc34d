/** The reflection activity's one repair turn for an unfenced reply (never adopting unfenced text). */
import { proposeComponent } from '../../src/activities/reflection';
import { FENCE_REPAIR_PROMPT, parseReflectionReply, shouldAskForFence } from '../../src/core/gepa';
import { registerScriptedReplies } from '../../src/llm';

const req = (model: string) => ({
  reflection: { provider: 'scripted' as const, model, temperature: 0, max_tokens: 100 },
  component: 'system_prompt',
  current_text: 'Answer.',
  traces_refs: [],
  rejected: [],
  seed: 1,
});

test('only an unfenced, non-empty reply earns a repair turn', () => {
  expect(shouldAskForFence(parseReflectionReply('Be concise and give a number.'))).toBe(true);
  expect(shouldAskForFence(parseReflectionReply('```\nhalf a block'))).toBe(false);
  expect(shouldAskForFence(parseReflectionReply('```\nBe concise.\n```'))).toBe(false);
  expect(shouldAskForFence(parseReflectionReply('   '))).toBe(false);
});

test('an unfenced reply is restated inside a fence on the second turn and adopted from the fence only', async () => {
  const seen: number[] = [];
  registerScriptedReplies('prose-then-fence', (r) => {
    seen.push(r.messages.length);
    const last = r.messages[r.messages.length - 1].content;
    return last === FENCE_REPAIR_PROMPT ? 'Sure:\n```\nGive only the final number.\n```' : 'You should give only the final number.';
  });
  const out = await proposeComponent(req('prose-then-fence'));
  expect(seen).toEqual([1, 3]); // the prompt, then prompt + its own reply + the repair request
  expect(out).toMatchObject({ ok: true, text: 'Give only the final number.', reason: null });
});

test('a reflector that stays unfenced is rejected with the first reply recorded', async () => {
  registerScriptedReplies('always-prose', () => 'Looks fine to me.');
  const out = await proposeComponent(req('always-prose'));
  expect(out).toMatchObject({ ok: false, reason: 'unfenced', text: 'Looks fine to me.' });
});
