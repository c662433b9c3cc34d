/**
 * Math answers are decided by Math-Verify (the real Python grader, started by `gepa-rl grade`):
 * agreement with Math-Verify's own public test expectations (test/data/math_verify/cases.jsonl,
 * exported from huggingface/Math-Verify at a pinned commit, Apache-2.0), bad input, and the TS
 * plain-number rule that `numeric`/gsm8k share with Math-Verify.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { buildPrompts, scoreRollouts } from '../../src/activities/tasks';
import { runGrade } from '../../src/cli/grade';
import { taskConfigSchema } from '../../src/config/task';
import { FileBlobStore, readBlob } from '../../src/storage/blobs';
import { getTask, loadSplitsCached } from '../../src/tasks';
import { grade } from '../../src/tasks/graders';

jest.setTimeout(300_000);

interface Case {
  id: string;
  gold: string;
  pred: string;
  expected: 0 | 1;
  match_types: 'default' | string[];
  precision: number;
  strict: boolean;
  allow_set_relation_comp: boolean;
}
const CASES: Case[] = readFileSync(path.join(__dirname, '../data/math_verify/cases.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));

async function gradeLines(lines: unknown[]): Promise<Array<Record<string, any>>> {
  const input = new PassThrough();
  const output = new PassThrough();
  let out = '';
  output.on('data', (d) => (out += d));
  input.end(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
  await runGrade(input, output);
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

test("agreement with Math-Verify's public test expectations, through `gepa-rl grade` (each case with its own settings)", async () => {
  expect(CASES.length).toBeGreaterThan(250);
  const got = await gradeLines(
    CASES.map((c) => ({
      grader: 'math',
      gold: c.gold,
      completion: c.pred,
      settings: { extraction: c.match_types, precision: c.precision, strict: c.strict, allow_set_relation_comp: c.allow_set_relation_comp },
    })),
  );
  const disagree = CASES.filter((c, i) => Number(got[i].correct) !== c.expected);
  const falseAccepts = disagree.filter((c) => c.expected === 0);
  if (disagree.length) console.log(`disagreements:\n${disagree.map((c) => `  ${c.id}`).join('\n')}`);
  console.log(`agreement ${CASES.length - disagree.length}/${CASES.length}, false accepts ${falseAccepts.length}`);
  expect((CASES.length - disagree.length) / CASES.length).toBeGreaterThanOrEqual(0.99);
  expect(falseAccepts).toEqual([]);
});

test("numeric (gsm8k) reads plain numbers by Math-Verify's rule: its number-extraction cases all agree", () => {
  const numberCases = CASES.filter((c) => c.id.startsWith('test_all.py::test_number_extraction'));
  expect(numberCases.length).toBeGreaterThan(15);
  const disagree = numberCases.filter((c) => Number(grade('numeric', c.gold, c.pred).correct) !== c.expected).map((c) => c.id);
  expect(disagree).toEqual([]);
  expect(grade('numeric', '1000', 'so 1,000')).toMatchObject({ correct: true, extracted: '1000' });
  expect(grade('numeric', '1000', '#### 1000.0').correct).toBe(true);
  expect(grade('numeric', '2', 'AZYUK2A')).toMatchObject({ correct: false, feedback: expect.stringMatching(/no number found/) });
  expect(grade('numeric', '18', 'so \\boxed{18}').correct).toBe(true);
});

test('math and aime tasks: verdicts become scores; format is \\boxed{}; feedback names expected, extracted and why', async () => {
  const math = getTask(taskConfigSchema.parse({ env: 'math' }));
  const aime = getTask(taskConfigSchema.parse({ env: 'aime' }));
  const [a, b, list, c, d] = await gradeLines([
    { task: 'math', gold: '\\frac{1}{3}', completion: 'so $\\frac13$' },
    { task: 'math', gold: '3\\sqrt{13}', completion: 'the answer is \\boxed{3}' },
    { task: 'math', gold: '-2,1', completion: '\\boxed{1, -2}' },
    { task: 'aime', gold: '25', completion: '\\boxed{025}' },
    { task: 'aime', gold: '25', completion: 'I give up' },
  ]);
  expect(a).toMatchObject({ correct: true, reward: 1, extracted: '\\frac{1}{3}' });
  // MATH answers are bare LaTeX: the task hands them to Math-Verify in \\boxed{} (else "3\\sqrt{13}" would read as 3)
  expect(b).toMatchObject({ correct: false, extracted: '3', feedback: 'Expected \\boxed{3\\sqrt{13}} (read as 3*sqrt(13)); extracted 3: not equivalent to the expected answer.' });
  expect(list).toMatchObject({ correct: true }); // a list answer, not the decimal -2.1
  expect(c).toMatchObject({ correct: true });
  expect(d).toMatchObject({ correct: false, extracted: null, feedback: expect.stringMatching(/^Expected 25; extracted nothing: Math-Verify found no answer.*\(format: no \\boxed\{\} answer\)$/) });
  // a math task asked to score without Math-Verify's verdict is a bug, not a zero
  expect(() => math.score({ id: 'x', question: 'q', answer: '1' }, '\\boxed{1}')).toThrow(/Math-Verify/);
  expect(() => aime.score({ id: 'x', question: 'q', answer: '1' }, '\\boxed{1}')).toThrow(/Math-Verify/);
});

test('bad input: 1 MB completion, deep braces, \\frac{}{}, unicode digits, a gold that does not parse, a bad line; the others still answered', async () => {
  const deep = '\\boxed{' + '{'.repeat(3000) + '5' + '}'.repeat(3000) + '}';
  const out = await gradeLines([
    { grader: 'math', gold: '42', completion: 'x '.repeat(500_000) + 'so \\boxed{42}' },
    { grader: 'math', gold: '5', completion: deep },
    { grader: 'math', gold: '1', completion: '\\boxed{\\frac{}{}}' },
    { grader: 'math', gold: '12', completion: 'the answer is １２' },
    { grader: 'math', gold: '???', completion: '\\boxed{3}' },
    'not json',
    { grader: 'math', gold: '', completion: '\\boxed{3}' },
    { grader: 'math', gold: '\\frac{1}{2}', completion: '\\boxed{0.5}' },
  ]);
  expect(out).toHaveLength(8);
  expect(out[0]).toMatchObject({ correct: true, extracted: '42' });
  expect(out[1]).toMatchObject({ correct: false, reward: 0 });
  expect(out[2]).toMatchObject({ correct: false, reward: 0 });
  expect(out[3]).toMatchObject({ correct: false, reward: 0 });
  expect(out[4]).toMatchObject({ correct: false, reward: 0, feedback: expect.stringMatching(/the gold does not parse as math/) });
  expect(out[5]).toMatchObject({ line: 6, error: expect.stringMatching(/not JSON/) });
  expect(out[6]).toMatchObject({ correct: false, reward: 0, feedback: expect.stringMatching(/the gold answer does not parse with Math-Verify/) });
  expect(out[7]).toMatchObject({ correct: true });
});

test('task activities for a math task: buildPrompts writes the golds; scoreRollouts needs and uses the verdicts', async () => {
  const task = taskConfigSchema.parse({ env: 'math', n_test: 2 });
  const dir = mkdtempSync(path.join(tmpdir(), 'math-score-'));
  const built = await buildPrompts({ task, split: 'test', indices: [0, 1], system_prompt: 'sys', blob_dir: dir });
  const test = (await loadSplitsCached(task)).test;
  expect(await readBlob<string[]>(built.golds_ref!)).toEqual([`\\boxed{${test[0].answer}}`, `\\boxed{${test[1].answer}}`]); // MATH answers are bare LaTeX
  const arith = await buildPrompts({ task: taskConfigSchema.parse({ env: 'arithmetic' }), split: 'test', indices: [0], system_prompt: '', blob_dir: dir });
  expect(arith.golds_ref).toBeUndefined(); // only tasks graded by Math-Verify
  const rollout = (prompt_index: number, text: string) => ({ prompt_index, sample_index: 0, prompt_token_ids: [1], token_ids: [1, 2], logprobs: [0, 0], text, stop_reason: 'stop' as const });
  const store = new FileBlobStore(dir);
  const rollouts_ref = await store.put({ model: { backend: 'local', base_model: 'tiny-random', lora_rank: 0, lora_alpha: 0, lora_target_modules: [] }, checkpoint: null, rollouts: [rollout(0, '\\boxed{1}'), rollout(1, 'it is 2')] });
  const req = { task, split: 'test' as const, indices: [0, 1], prompts_ref: built.prompts_ref, golds_ref: built.golds_ref, rollouts_ref, blob_dir: dir };
  await expect(scoreRollouts(req)).rejects.toThrow(/graded by Math-Verify: scoreRollouts needs verdicts_ref/);
  const v = (correct: boolean, extracted: string, feedback: string) => ({ correct, status: correct ? 'correct' : 'wrong', extracted, gold_parsed: null, pred_parsed: null, feedback });
  const verdicts_ref = await store.put([v(false, '1', 'Expected X; extracted 1: not equivalent to the expected answer.'), v(true, '2', 'Correct: expected 2; extracted 2.')]);
  const r = await scoreRollouts({ ...req, verdicts_ref });
  expect(r.rewards_PG).toEqual([[0], [1]]);
  expect(r.format_ok_PG).toEqual([[true], [false]]);
  const traces = await readBlob<Array<{ feedback: string }>>(r.traces_ref);
  expect(traces.map((t) => t.feedback)).toEqual(['Expected X; extracted 1: not equivalent to the expected answer.', 'Correct: expected 2; extracted 2.']);
});
