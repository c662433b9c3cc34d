/**
 * apiSample (API-model policy sampling) against a local HTTP server that imitates OpenAI's and
 * Anthropic's APIs: token counts are the provider's, the rollouts say they came from an API.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { apiSample, type ApiSampleRequest } from '../../src/activities/llm';
import { buildPrompts, scoreRollouts } from '../../src/activities/tasks';
import { taskConfigSchema } from '../../src/config/task';
import { readBlob } from '../../src/storage/blobs';
import type { PolicySampleResult, RolloutsBlob } from '../../src/types';
import { startFakeProvider, type FakeProvider, type FakeRequest } from '../helpers/fakeProvider';

let fake: FakeProvider;
let base: string;
/** every request is answered with the body `reply` builds from it */
const answerWith = (reply: (req: FakeRequest) => unknown) => fake.plan([], (req) => ({ kind: 'json', body: reply(req) }));

beforeAll(async () => {
  fake = await startFakeProvider();
  base = fake.base;
});
afterAll(() => fake.close());

const task = taskConfigSchema.parse({ env: 'arithmetic' });

async function sample(over: Partial<ApiSampleRequest>, env: NodeJS.ProcessEnv) {
  const dir = mkdtempSync(path.join(tmpdir(), 'api-sample-'));
  const { prompts_ref } = await buildPrompts({ task, split: 'train', indices: [0, 1], system_prompt: 'Answer.', blob_dir: dir });
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const req: ApiSampleRequest = {
      provider: 'openai', model: 'gpt-4o-mini', base_url: `${base}/v1`, prompts_ref, num_samples: 2, max_tokens: 64,
      temperature: 1, top_p: 1, seed: 3, blob_dir: dir, parallelism: 1, ...over,
    };
    const result: PolicySampleResult = await new MockActivityEnvironment().run(apiSample, req);
    const blob = await readBlob<RolloutsBlob>(result.rollouts_ref);
    const scored = await scoreRollouts({ task, split: 'train', indices: [0, 1], prompts_ref, rollouts_ref: result.rollouts_ref, blob_dir: dir });
    return { result, blob, scored };
  } finally {
    process.env = saved;
  }
}

test('openai: token counts are the provider usage (one completion: exact; n completions: its total split by length)', async () => {
  // texts of 3 and 9 characters; the provider counts 8 completion tokens for the pair, 5 for one
  answerWith(({ body }) => ({
    id: 'x', object: 'chat.completion', created: 0, model: 'gpt-4o-mini',
    choices: Array.from({ length: body.n ?? 1 }, (_, i) => ({ index: i, message: { role: 'assistant', content: i ? 'abcdefghi' : 'abc' }, finish_reason: 'stop' })),
    usage: { prompt_tokens: 30, completion_tokens: (body.n ?? 1) === 1 ? 5 : 8, total_tokens: 0 },
  }));
  const two = await sample({}, { OPENAI_API_KEY: 'sk-test' });
  expect(two.result.num_tokens).toEqual([[2, 6], [2, 6]]);
  expect(two.scored.num_tokens_PG).toEqual([[2, 6], [2, 6]]);
  expect(two.blob.model).toEqual({ backend: 'api', provider: 'openai', model: 'gpt-4o-mini', base_url: `${base}/v1` });
  const one = await sample({ num_samples: 1 }, { OPENAI_API_KEY: 'sk-test' });
  expect(one.result.num_tokens).toEqual([[5], [5]]);
  expect(one.scored.num_tokens_PG).toEqual([[5], [5]]);
});

test('anthropic: one call per completion, so each completion has its own count', async () => {
  const before = fake.requests.length;
  answerWith(() => ({
    id: 'm', type: 'message', role: 'assistant', model: 'claude-haiku-4-5',
    content: [{ type: 'text', text: 'x' }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 10 + fake.requests.length - before },
  }));
  const r = await sample({ provider: 'anthropic', model: 'claude-haiku-4-5', base_url: base }, { ANTHROPIC_API_KEY: 'sk-test' });
  expect(r.result.num_tokens).toEqual([[11, 12], [13, 14]]);
  expect(r.scored.num_tokens_PG).toEqual([[11, 12], [13, 14]]);
  expect(r.blob.model).toMatchObject({ backend: 'api', provider: 'anthropic', model: 'claude-haiku-4-5' });
  expect(r.blob.rollouts.map((x) => x.num_tokens)).toEqual([11, 12, 13, 14]);
});
