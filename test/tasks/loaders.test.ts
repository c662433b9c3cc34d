/** Loader errors name file and line (or JSON-array row); declarative JSONL tasks with every grader (issue 3, gaps 4 and 7). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { taskConfigSchema } from '../../src/config/task';
import { getTask } from '../../src/tasks';
import { aimeRows, hotpotqaRows, mathTrainRows, readJsonlRecords } from '../../src/tasks/datasets';
import { mathVerifyBatch } from '../../src/cli/grade';
import type { MathVerdict } from '../../src/types';

const dir = mkdtempSync(path.join(tmpdir(), 'loaders-'));
function file(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

test('math train (a JSON array): errors say "row N", a null row is a clear error, null answers are skipped', () => {
  const ok = file('math-ok.json', JSON.stringify([{ problem: 'p1', answer: '1' }, { problem: 'p2', answer: null }, { problem: 'p3', answer: '3' }]));
  expect(mathTrainRows(ok).map((x) => x.answer)).toEqual(['1', '3']);
  const nullRow = file('math-null.json', JSON.stringify([{ problem: 'p1', answer: '1' }, null]));
  expect(() => mathTrainRows(nullRow)).toThrow(`${nullRow}: row 2 of the JSON array: expected a JSON object, got null`);
  const noProblem = file('math-noproblem.json', JSON.stringify([{ problem: 'p1', answer: '1' }, { question: 'p2', answer: '2' }]));
  expect(() => mathTrainRows(noProblem)).toThrow(`${noProblem}: row 2 of the JSON array: field "problem" missing or not a string (got undefined)`);
  const notArray = file('math-obj.json', '{"problem": "p"}');
  expect(() => mathTrainRows(notArray)).toThrow(`${notArray}: expected a JSON array of objects, got object`);
});

test('JSONL line numbers count blank lines', () => {
  const f = file('blank.jsonl', '{"a":1}\n\n{"a":2}\n');
  expect(readJsonlRecords(f).map((r) => r.where)).toEqual([`${f}:1`, `${f}:3`]);
});

test('hotpotqa: context entries must be [title, [sentences]]; else file and line', () => {
  const good = { _id: 'h1', question: 'q', answer: 'a', context: [['T', ['s1. ', 's2.']]] };
  const bad = { ...good, context: [['T', 'not a list of sentences']] };
  const f = file('hotpot.jsonl', [good, good, bad].map((r) => JSON.stringify(r)).join('\n'));
  expect(() => hotpotqaRows(f)).toThrow(`${f}:3: context[0] must be [title, [sentence, ...]] (got ["T","not a list of sentences"])`);
  const g = file('hotpot-good.jsonl', JSON.stringify(good));
  expect(hotpotqaRows(g)[0].paragraphs).toEqual(['T: s1. s2.']);
});

test('aime: a non-numeric answer is a clear error with file and line', () => {
  const f = file('aime.jsonl', [{ id: 1, problem: 'p', answer: '025' }, { id: 2, problem: 'p', answer: 'twelve' }].map((r) => JSON.stringify(r)).join('\n'));
  expect(() => aimeRows(f)).toThrow(`${f}:2: field "answer" must be an integer (got "twelve")`);
  const ok = file('aime-ok.jsonl', JSON.stringify({ id: 1, problem: 'p', answer: '025' }));
  expect(aimeRows(ok)[0].answer).toBe('25');
});

function jsonlTask(name: string, rows: Array<Record<string, unknown>>, grader: string) {
  const cfg = taskConfigSchema.parse({ env: 'jsonl', jsonl_path: file(name, rows.map((r) => JSON.stringify(r)).join('\n')), jsonl_grader: grader });
  return { cfg, task: getTask(cfg) };
}

test('declarative JSONL task: a row without a gold answer is a load error naming file and line', async () => {
  const { cfg } = jsonlTask('nogold.jsonl', [{ question: 'a', answer: 'x' }, { question: 'b', answer: '  ' }], 'contains');
  await expect(getTask(cfg).loadSplits(cfg)).rejects.toThrow(`${cfg.jsonl_path}:2: field "answer" (the gold answer) is empty; every row needs one`);
  const { cfg: c2 } = jsonlTask('missing.jsonl', [{ question: 'a' }], 'exact');
  await expect(getTask(c2).loadSplits(c2)).rejects.toThrow(`${c2.jsonl_path}:1: field "answer" missing or not a string (got undefined)`);
});

test('declarative JSONL task with each grader: exact, numeric, regex, f1, math', async () => {
  const rows = (answers: string[]) => answers.map((answer, i) => ({ question: `q${i}`, answer }));
  const loadOne = async (name: string, answers: string[], grader: string) => {
    const { cfg, task } = jsonlTask(name, rows(answers), grader);
    const s = await task.loadSplits(cfg);
    return { task, x: [...s.train, ...s.val, ...s.test].find((r) => r.answer === answers[0])! };
  };

  const exact = await loadOne('exact.jsonl', ['Paris'], 'exact');
  expect(exact.task.score(exact.x, '  paris. ')).toMatchObject({ reward: 1, correct: true });
  expect(exact.task.score(exact.x, 'It is Paris')).toMatchObject({ reward: 0, feedback: expect.stringMatching(/Expected Paris; .*wrong value/) });

  const numeric = await loadOne('numeric.jsonl', ['1234'], 'numeric');
  expect(numeric.task.score(numeric.x, 'so the total is 1,234')).toMatchObject({ correct: true, extracted: '1234' });
  expect(numeric.task.score(numeric.x, 'about 1235')).toMatchObject({ correct: false, extracted: '1235' });
  expect(numeric.task.score(numeric.x, 'no idea')).toMatchObject({ correct: false, feedback: expect.stringMatching(/no number found/) });

  // regex: the row's gold answer is the pattern
  const regex = await loadOne('regex.jsonl', ['^(yes|y)\\b'], 'regex');
  expect(regex.task.score(regex.x, 'Yes, it is.')).toMatchObject({ correct: true, extracted: 'Yes' });
  expect(regex.task.score(regex.x, 'well, yes')).toMatchObject({ correct: false, feedback: expect.stringMatching(/does not match/) });

  const f1 = await loadOne('f1.jsonl', ['New York City'], 'f1');
  expect(f1.task.score(f1.x, 'The answer is new york city.')).toMatchObject({ reward: 1, correct: true });
  const partial = f1.task.score(f1.x, 'The answer is New York');
  expect(partial.correct).toBe(false);
  expect(partial.reward).toBeCloseTo(0.8, 5);

  const math = await loadOne('math.jsonl', ['\\frac{1}{2}'], 'math');
  const [half, quarter] = (await mathVerifyBatch([
    { gold: '\\frac{1}{2}', completion: '\\boxed{50\\%}' },
    { gold: '\\frac{1}{2}', completion: '\\boxed{0.25}' },
  ])) as MathVerdict[];
  expect(math.task.score(math.x, '\\boxed{50\\%}', half)).toMatchObject({ correct: true });
  expect(math.task.score(math.x, '\\boxed{0.25}', quarter)).toMatchObject({ correct: false, feedback: expect.stringMatching(/not equivalent/) });
});
