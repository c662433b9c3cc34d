/**
 * task.style=cookbook (issue 23, item 7): gsm8k, math and arithmetic asked and rewarded as
 * tinker-cookbook recipes/math_rl does. Rewards are hand-computed from ProblemEnv's
 * 0.1·(format − 1) + correct; the prompts are checked message by message; the style changes what
 * scoreRollouts returns for the same rollouts, and is refused for a task the cookbook does not have.
 */
import { scoreRollouts } from '../../src/activities/tasks';
import { parseWorkflowInput, ConfigError } from '../../src/config';
import { taskConfigSchema } from '../../src/config/task';
import { FileBlobStore } from '../../src/storage/blobs';
import { getTask, loadSplitsCached } from '../../src/tasks';
import { cookbookBoxed, cookbookReward, normaliseCookbookNumber } from '../../src/tasks/cookbook';
import type { MathVerdict, RolloutsBlob } from '../../src/types';
import { tmpRunsDir } from '../helpers/stack';

const cfg = (env: string, style = 'cookbook') => taskConfigSchema.parse({ env, style });
const gsm = getTask(cfg('gsm8k'));
const arith = getTask(cfg('arithmetic'));
const math = getTask(cfg('math'));
const x = (question: string, answer: string) => ({ id: 'q', question, answer });
const verdict = (correct: boolean): MathVerdict => ({ correct, status: correct ? 'correct' : 'wrong', extracted: null, gold_parsed: null, pred_parsed: null, feedback: '' });

test('the reward is 0.1·(format − 1) + correct', () => {
  expect(cookbookReward(true, true)).toBe(1);
  expect(cookbookReward(true, false)).toBe(0);
  expect(cookbookReward(false, true)).toBeCloseTo(0.9, 12);
  expect(cookbookReward(false, false)).toBeCloseTo(-0.1, 12);
});

test('the boxed answer as the cookbook reads it: matched braces, the box that closes last, an unmatched } is no answer', () => {
  expect(cookbookBoxed('so \\boxed{18}.')).toBe('18');
  expect(cookbookBoxed('\\boxed{\\frac{1}{2}}')).toBe('\\frac{1}{2}');
  expect(cookbookBoxed('first \\boxed{1} then \\boxed{2}')).toBe('2');
  // the outer box closes after the inner one: the outer wins
  expect(cookbookBoxed('\\boxed{a \\boxed{b}}')).toBe('a \\boxed{b}');
  expect(cookbookBoxed('oops } then \\boxed{5}')).toBeNull();
  expect(cookbookBoxed('\\boxed 42 is it')).toBe('42');
  expect(cookbookBoxed('the answer is 42')).toBeNull();
  expect(cookbookBoxed('\\boxed{7')).toBeNull();
});

test('gsm8k answers normalised as the cookbook does before comparing', () => {
  expect(normaliseCookbookNumber('\\$1,250')).toBe('1250');
  expect(normaliseCookbookNumber('\\text{18}')).toBe('18');
  expect(normaliseCookbookNumber('5 hours')).toBe('5');
  expect(normaliseCookbookNumber('20\\%')).toBe('20');
});

test('gsm8k cookbook prompt: the strawberry exchange, then the question with MathEnv\'s suffix', () => {
  const msgs = gsm.render(x('Tom has 3 apples and buys 4. How many?', '7'));
  expect(msgs).toHaveLength(3);
  expect(msgs.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
  expect(msgs[0].content).toBe("How many r's are in strawberry? Write your answer in \\boxed{} format.");
  expect(msgs[1].content).toMatch(/positions 3, 8, and 9\. \\boxed\{3\}$/);
  expect(msgs[2].content).toBe('Tom has 3 apples and buys 4. How many? Write your answer in \\boxed{} format.');
  // ours asks for "#### <number>" and never shows an example
  expect(getTask(cfg('gsm8k', 'ours')).render(x('Q?', '7'))).toEqual([{ role: 'user', content: 'Q?\nSolve step by step, then write the final answer on its own line as "#### <number>".' }]);
});

test('gsm8k cookbook rewards, hand-computed', () => {
  const q = x('Q', '1250');
  expect(gsm.score(q, 'It costs \\boxed{\\$1,250}', undefined, 'stop')).toMatchObject({ reward: 1, correct: true, format_ok: true, extracted: '\\$1,250' });
  expect(gsm.score(q, '\\boxed{1200}', undefined, 'stop')).toMatchObject({ reward: 0, correct: false, format_ok: true });
  // right number, no box: not correct (check_answer reads only the box) and no format
  expect(gsm.score(q, '#### 1250', undefined, 'stop').reward).toBeCloseTo(-0.1, 12);
  // boxed and right, cut off at max_tokens: format 0, correct 1
  const cut = gsm.score(q, '\\boxed{1250} and then more', undefined, 'length');
  expect(cut.reward).toBeCloseTo(0.9, 12);
  expect(cut).toMatchObject({ correct: true, format_ok: false });
  expect(cut.feedback).toMatch(/cut off at max_tokens/);
  // our gsm8k gives the unboxed "#### 1250" full reward
  expect(getTask(cfg('gsm8k', 'ours')).score(q, '#### 1250').reward).toBe(1);
});

test('math cookbook: Math-Verify decides, but only a boxed answer can be correct', () => {
  const q = x('What is 1/2 + 1/2?', '1');
  expect(math.score(q, '\\boxed{1}', verdict(true), 'stop').reward).toBe(1);
  expect(math.score(q, 'the answer is 1', verdict(true), 'stop').reward).toBeCloseTo(-0.1, 12);
  expect(math.score(q, '\\boxed{2}', verdict(false), 'length').reward).toBeCloseTo(-0.1, 12);
  expect(() => math.score(q, '\\boxed{1}', undefined, 'stop')).toThrow(/Math-Verify/);
  expect(math.render(q)[2].content).toBe('What is 1/2 + 1/2? Write your answer in \\boxed{} format.');
});

test('arithmetic cookbook: "What is a op b?" after 4 + 5 = 9, the last integer is the answer, format is a clean stop', () => {
  const q = x('12 + 30', '42');
  expect(arith.render(q)).toEqual([
    { role: 'user', content: 'What is 4 + 5?' },
    { role: 'assistant', content: '9' },
    { role: 'user', content: 'What is 12 + 30?' },
  ]);
  expect(arith.score(q, '12 + 30 = 42', undefined, 'stop').reward).toBe(1);
  expect(arith.score(q, '42, no wait, 41', undefined, 'stop').reward).toBe(0);
  expect(arith.score(q, 'forty-two', undefined, 'stop').reward).toBe(0);
  expect(arith.score(q, '42 42 42', undefined, 'length').reward).toBeCloseTo(0.9, 12);
  expect(arith.score(q, 'hmm', undefined, 'length').reward).toBeCloseTo(-0.1, 12);
  expect(arith.score(x('3 - 10', '-7'), '-7', undefined, 'stop').reward).toBe(1);
});

test('gsm8k cookbook reference solutions end in \\boxed{answer} (what SFT from references trains on)', async () => {
  const s = await loadSplitsCached(taskConfigSchema.parse({ env: 'gsm8k', style: 'cookbook', n_train: 3 }));
  for (const row of s.train) {
    expect(row.solution).toMatch(new RegExp(`\\\\boxed\\{${row.answer}\\}$`));
    expect(row.solution).not.toMatch(/####/);
  }
});

test('the style changes what scoreRollouts returns for the same rollouts (stop reasons included)', async () => {
  const blobDir = tmpRunsDir();
  const store = new FileBlobStore(blobDir);
  const task = (style: string) => taskConfigSchema.parse({ env: 'arithmetic', style, n_train: 1, n_val: 1, n_test: 1 });
  // the same seeded problem under both styles
  const gold = Number((await loadSplitsCached(task('ours'))).test[0].answer);
  const rollout = (text: string, stop: 'stop' | 'length', sample_index: number) => ({ prompt_index: 0, sample_index, prompt_token_ids: [], token_ids: [1], logprobs: [0], text, stop_reason: stop });
  const rollouts_ref = await store.put({ rollouts: [rollout(`It is ${gold}`, 'stop', 0), rollout(`It is ${gold}`, 'length', 1), rollout(`It is ${gold + 1}`, 'stop', 2)] } as unknown as RolloutsBlob);
  const prompts_ref = await store.put([[{ role: 'user', content: 'q' }]]);
  const run = (style: string) => scoreRollouts({ task: task(style), split: 'test', indices: [0], prompts_ref, rollouts_ref, blob_dir: blobDir });
  // ours: 1 for the right number however the reply ended
  expect((await run('ours')).rewards_PG).toEqual([[1, 1, 0]]);
  // cookbook: the reply cut at max_tokens loses the format term
  const cook = (await run('cookbook')).rewards_PG[0];
  expect(cook[0]).toBe(1);
  expect(cook[1]).toBeCloseTo(0.9, 12);
  expect(cook[2]).toBe(0);
});

test('style=cookbook is refused for a task the cookbook has no environment for, naming what it got', () => {
  expect(() => parseWorkflowInput('rlTraining', { task: { env: 'hotpotqa', style: 'cookbook' } })).toThrow(ConfigError);
  try {
    parseWorkflowInput('rlTraining', { task: { env: 'hotpotqa', style: 'cookbook' } });
  } catch (e) {
    expect((e as ConfigError).issues).toEqual([expect.objectContaining({ path: 'task.style', message: expect.stringMatching(/style=cookbook exists for gsm8k, math, arithmetic only .*got env=hotpotqa/) })]);
  }
  expect(() => parseWorkflowInput('rlTraining', { task: { env: 'gsm8k', style: 'cookbook' } })).not.toThrow();
});
