/**
 * The airline policy guard on GEPA proposals: the time line stays, no copied task ids; applied by
 * the reflection activity for tau2-airline only.
 */
import { proposeComponent } from '../../../src/activities/reflection';
import { taskConfigSchema } from '../../../src/config/task';
import { registerScriptedReplies } from '../../helpers/scriptedProviders';
import { FileBlobStore } from '../../../src/storage/blobs';
import { airlinePolicy } from '../../../src/tasks/tau2/data';
import { checkAirlinePolicy, TIME_LINE } from '../../../src/tasks/tau2/guard';
import { tmpRunsDir } from '../../helpers/stack';

const policy = airlinePolicy();

test('the seed policy passes; dropping the time line or adding ids does not', () => {
  expect(policy).toContain(TIME_LINE);
  expect(checkAirlinePolicy(`${policy}\nAlways confirm before writing.`, policy)).toBeNull();
  expect(checkAirlinePolicy(policy.replace(TIME_LINE, ''), policy)).toMatch(/must keep the line "The current time is 2024-05-15 15:00:00 EST."/);
  expect(checkAirlinePolicy(`${policy}\nFor daiki_muller_1116 cancel XEHM4B and rebook HAT005.`, policy)).toBe(
    'the policy must state general rules, not specific cases: it introduces user id daiki_muller_1116, flight number HAT005, reservation id XEHM4B',
  );
  // ids already in the current text are not new
  expect(checkAirlinePolicy(`x HAT005 ${TIME_LINE}`, `y HAT005 ${TIME_LINE}`)).toBeNull();
});

test('the reflection activity rejects a tau2 proposal that copies an id, with reason "task guard"', async () => {
  registerScriptedReplies('leaky-reflector', (req) => {
    const current = /```\n([\s\S]*?)\n```/.exec(req.messages[0].content)?.[1] ?? '';
    return `\`\`\`\n${current}\nCancel reservation XEHM4B when asked.\n\`\`\``;
  });
  const blob_dir = tmpRunsDir();
  const traces_ref = await new FileBlobStore(blob_dir).put([{ index: 0, id: '7', sample_index: 0, input: '{}', messages: [], output: '{}', reward: 0, correct: false, format_ok: true, extracted: null, feedback: 'Agent failed to take any actions', num_tokens: 0 }]);
  const base = { reflection: { provider: 'scripted' as const, model: 'leaky-reflector', temperature: 0, max_tokens: 100 }, component: 'system_prompt', current_text: policy, traces_refs: [traces_ref], rejected: [], seed: 1 };
  const r = await proposeComponent({ ...base, task: taskConfigSchema.parse({ env: 'tau2-airline' }) });
  expect(r).toMatchObject({ ok: false, reason: 'task guard' });
  expect(r.text).toMatch(/^the policy must state general rules, not specific cases: it introduces reservation id XEHM4B/);
  // other tasks are not guarded
  expect((await proposeComponent({ ...base, task: taskConfigSchema.parse({ env: 'gsm8k' }) })).ok).toBe(true);
});
