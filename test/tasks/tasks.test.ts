import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { taskConfigSchema } from '../../src/config/task';
import { getTask, loadSplitsCached } from '../../src/tasks';
import { grade } from '../../src/tasks/graders';
import { lastBoxed } from '../../src/tasks/extract';
import { mathVerifyBatch, runGrade } from '../../src/cli/grade';
import type { MathVerdict } from '../../src/types';

const cfg = (o: Record<string, unknown>) => taskConfigSchema.parse(o);

test('arithmetic splits are deterministic, disjoint and sized', async () => {
  const s = await getTask(cfg({ env: 'arithmetic' })).loadSplits(cfg({ env: 'arithmetic' }));
  expect([s.train.length, s.val.length, s.test.length]).toEqual([200, 50, 100]);
  const again = await getTask(cfg({ env: 'arithmetic' })).loadSplits(cfg({ env: 'arithmetic' }));
  expect(again.val).toEqual(s.val);
  const qs = new Set([...s.train, ...s.val, ...s.test].map((x) => x.question));
  expect(qs.size).toBe(350);
  const other = await getTask(cfg({ env: 'arithmetic', data_seed: 1 })).loadSplits(cfg({ env: 'arithmetic', data_seed: 1 }));
  expect(other.val).not.toEqual(s.val);
});

test('arithmetic scoring: last number, exact integer', () => {
  const t = getTask(cfg({ env: 'arithmetic' }));
  const x = { id: 'a', question: '12 + 7', answer: '19' };
  expect(t.score(x, 'The answer is 19.')).toMatchObject({ reward: 1, correct: true, extracted: '19' });
  expect(t.score(x, '19.5')).toMatchObject({ reward: 0, correct: false });
  expect(t.score(x, '')).toMatchObject({ reward: 0, format_ok: false, feedback: expect.stringMatching(/no number/) });
});

test('gsm8k real rows: val carved from train, answers extracted from ####', async () => {
  const c = cfg({ env: 'gsm8k' });
  const s = await loadSplitsCached(c);
  expect([s.train.length, s.val.length, s.test.length]).toEqual([7373, 100, 1319]);
  expect(s.test[0].answer).toBe('18');
  const t = getTask(c);
  expect(t.score(s.test[0], 'She sells 9 eggs, 9*2 = 18.\n#### 18')).toMatchObject({ correct: true, format_ok: true });
  expect(t.score(s.test[0], 'so $18 dollars')).toMatchObject({ correct: true, format_ok: false });
  expect(t.score(s.test[0], '#### 1,800')).toMatchObject({ correct: false, feedback: expect.stringMatching(/Expected 18/) });
});

const verdicts = async (pairs: Array<[gold: string, completion: string]>): Promise<MathVerdict[]> =>
  (await mathVerifyBatch(pairs.map(([gold, completion]) => ({ gold, completion })))) as MathVerdict[];

test('math grading by Math-Verify: known-hard equivalences', async () => {
  const v = await verdicts([
    ['0.5', '$\\dfrac{1}{2}$'],
    ['\\sqrt{2}', '$\\frac{\\sqrt{8}}{2}$'],
    ['\\sqrt{8}', '$2\\sqrt{2}$'],
    ['3.0001', '$3$'],
    ['\\frac{\\pi}{2}', '$\\pi/2$'],
    ['2', '\\boxed{\\frac{1}{'],
  ]);
  expect(v.map((x) => x.correct)).toEqual([true, true, true, false, true, false]);
  expect(lastBoxed('so \\boxed{\\frac{1}{2}} and finally \\boxed{3}')).toBe('3');
});

test('MATH-500: gold answers of real rows grade against their own reference solutions', async () => {
  const s = await loadSplitsCached(cfg({ env: 'math', n_test: 40 }));
  const t = getTask(cfg({ env: 'math' }));
  const v = await verdicts(s.test.map((x) => [t.verifierGold!(x) ?? '', String(x.solution)]));
  const ok = s.test.filter((x, i) => t.score(x, String(x.solution), v[i]).correct).length;
  expect(ok / s.test.length).toBeGreaterThan(0.85);
});

test('aime: Math-Verify reads "025" as 25', async () => {
  const t = getTask(cfg({ env: 'aime' }));
  const s = await t.loadSplits(cfg({ env: 'aime' }));
  expect(s.test).toHaveLength(30);
  const x = { id: 'x', question: 'q', answer: '25' };
  const [a, b] = await verdicts([['25', '\\boxed{025}'], ['25', '\\boxed{25.5}']]);
  expect(t.score(x, '\\boxed{025}', a)).toMatchObject({ correct: true, format_ok: true });
  expect(t.score(x, '\\boxed{25.5}', b)).toMatchObject({ correct: false });
});

test('hotpotqa: paragraphs in the prompt, exact match or F1 partial credit', async () => {
  const c = cfg({ env: 'hotpotqa' });
  const s = await loadSplitsCached(c);
  expect([s.train.length, s.val.length, s.test.length]).toEqual([300, 100, 100]);
  const t = getTask(c);
  const x = { id: 'h', question: 'q', answer: 'Kansas Song', paragraphs: [] };
  expect(t.score(x, 'Answer: the Kansas song')).toMatchObject({ reward: 1, correct: true });
  const partial = t.score(x, 'Answer: Kansas fight song');
  expect(partial.correct).toBe(false);
  expect(partial.reward).toBeCloseTo(0.8, 5);
  expect(t.render(s.val[0])[0].content).toContain('Question:');
});

test('user JSONL task: fields and grader from config; a malformed row names file and line', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jsonl-'));
  const good = path.join(dir, 'good.jsonl');
  writeFileSync(good, Array.from({ length: 20 }, (_, i) => JSON.stringify({ q: `say ${i}`, a: String(i) })).join('\n'));
  const c = cfg({ env: 'jsonl', jsonl_path: good, jsonl_prompt_field: 'q', jsonl_answer_field: 'a', jsonl_grader: 'contains' });
  const s = await getTask(c).loadSplits(c);
  expect([s.train.length, s.val.length, s.test.length]).toEqual([16, 2, 2]);
  expect(getTask(c).score(s.val[0], `it is ${s.val[0].answer}`).correct).toBe(true);
  const bad = path.join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"q":"a","a":"1"}\n{"q": oops}\n');
  const cb = cfg({ ...c, jsonl_path: bad });
  await expect(getTask(cb).loadSplits(cb)).rejects.toThrow(`${bad}:2: malformed row`);
  expect(() => taskConfigSchema.parse({ env: 'jsonl' })).toThrow(/jsonl_path/);
});

test('graders never throw on bad input and bound huge completions', () => {
  const huge = 'x'.repeat(1_000_000) + ' 42';
  expect(grade('numeric', '42', huge).correct).toBe(true);
  expect(grade('exact', 'café', 'CAFÉ').correct).toBe(true);
  expect(grade('regex', '[', 'x')).toMatchObject({ correct: false, feedback: expect.stringMatching(/invalid regex/) });
  expect(grade('f1', 'new york city', 'the answer is new york').reward).toBeCloseTo(0.8, 5);
});

test('grade command: one JSON line per input, per-line errors', async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  let out = '';
  output.on('data', (d) => (out += d));
  input.end(['{"task":"gsm8k","gold":"42","completion":"#### 42"}', 'not json', '{"grader":"math","gold":"\\\\frac{1}{2}","completion":"\\\\boxed{0.5}"}', '{"task":"nope","gold":"1"}'].join('\n'));
  const r = await runGrade(input, output);
  expect(r).toEqual({ lines: 4, errors: 2 });
  const lines = out.trim().split('\n').map((l) => JSON.parse(l));
  expect(lines[0]).toMatchObject({ reward: 1, correct: true, extracted: '42' });
  expect(lines[1]).toMatchObject({ line: 2, error: expect.stringMatching(/not JSON/) });
  expect(lines[2]).toMatchObject({ correct: true });
  expect(lines[3].error).toMatch(/unknown task "nope"/);
});

test('grade command: a line without a math verdict is answered before the next line is written (a coprocess)', async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  const answers: string[] = [];
  let wake: (() => void) | null = null;
  output.on('data', (d) => {
    answers.push(...String(d).trim().split('\n'));
    wake?.();
  });
  const done = runGrade(input, output);
  const ask = async (line: string) => {
    const n = answers.length;
    const got = new Promise<void>((r) => (wake = r));
    input.write(line + '\n');
    while (answers.length === n) await got;
    return JSON.parse(answers[answers.length - 1]);
  };
  expect(await ask('{"task":"arithmetic","gold":"7","question":"What is 3 + 4?","completion":"7"}')).toMatchObject({ reward: 1 });
  expect(await ask('{"task":"arithmetic","gold":"7","question":"What is 3 + 4?","completion":"8"}')).toMatchObject({ reward: 0 });
  input.end();
  expect(await done).toEqual({ lines: 2, errors: 0 });
});

test('download code: datasets-server pages become rows the loaders read (offline, on the local copies)', async () => {
  const { downloadTask } = await import('../../src/tasks/download');
  const { readJsonlRows, dataPath } = await import('../../src/tasks/datasets');
  const local = readJsonlRows(dataPath('gsm8k/test.jsonl')).slice(0, 3);
  // a fake fetch that serves the local rows in the datasets-server shape
  const fakeFetch = (async () => ({ ok: true, status: 200, json: async () => ({ rows: local.map((row) => ({ row })), num_rows_total: 3 }) })) as unknown as typeof fetch;
  const dir = mkdtempSync(path.join(tmpdir(), 'dl-'));
  const files = await downloadTask('gsm8k', dir, fakeFetch);
  expect(files.map((f) => path.relative(dir, f))).toEqual(['gsm8k/train.jsonl', 'gsm8k/test.jsonl']);
  expect(readJsonlRows(files[1])).toEqual(local);
});
