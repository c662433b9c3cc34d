/** Math answer normalisation, equivalence and the per-check time limit (issue 3, gaps 1, 2, 6). */
import { taskConfigSchema } from '../../src/config/task';
import { getTask } from '../../src/tasks';
import { lastNumber, toNumber } from '../../src/tasks/extract';
import { grade } from '../../src/tasks/graders';
import { mathEquivalence, mathEquivalent, normalizeMathAnswer } from '../../src/tasks/mathAnswer';

const eq = (pred: string, gold: string) => mathEquivalent(pred, gold);

test('units after a number are dropped: \\text{}, \\mathrm{} and common unit words', () => {
  expect(eq('5\\text{ cm}', '5')).toBe(true);
  expect(eq('5 cm', '5')).toBe(true);
  expect(eq('5\\,\\mathrm{cm}^2', '5')).toBe(true);
  expect(eq('12 \\text{inches}', '12')).toBe(true);
  expect(eq('3 square units', '3')).toBe(true);
  expect(eq('\\$18', '18')).toBe(true);
  expect(eq('5\\text{ cm}', '6')).toBe(false);
  // a bare letter after a number is a variable, not a unit
  expect(eq('5m', '5')).toBe(false);
});

test('number words, assignments, degrees', () => {
  expect(eq('\\text{five}', '5')).toBe(true);
  expect(eq('five', '5')).toBe(true);
  expect(eq('twenty-one', '21')).toBe(true);
  expect(eq('\\text{five}', '6')).toBe(false);
  expect(eq('x=3', '3')).toBe(true);
  expect(eq('x = 3', 'x=3')).toBe(true);
  expect(eq('x=4', '3')).toBe(false);
  expect(eq('a_1 = 7', '7')).toBe(true);
  expect(normalizeMathAnswer('\\sum_{n=1}^{3} n')).toEqual(['\\sum_{n=1}^{3} n']); // not an assignment
  // degrees: the marker is dropped, and the angle equals its radian value
  expect(eq('30^\\circ', '30')).toBe(true);
  expect(eq('30^{\\circ}', '30')).toBe(true);
  expect(eq('30^\\circ', '\\frac{\\pi}{6}')).toBe(true);
  expect(eq('30^\\circ', '45')).toBe(false);
  // without a marker on either side, 30 is not pi/6
  expect(eq('30', '\\frac{\\pi}{6}')).toBe(false);
});

test('percentages: 50\\% equals 50 and 0.5; a bare 50 does not equal 0.5', () => {
  expect(eq('50\\%', '50')).toBe(true);
  expect(eq('50\\%', '0.5')).toBe(true);
  expect(eq('12.5\\%', '\\frac{1}{8}')).toBe(true);
  expect(eq('50', '0.5')).toBe(false);
  expect(eq('0.5\\%', '50')).toBe(false);
  expect(normalizeMathAnswer('50\\%')).toEqual(['50', '0.5']);
});

test('thousands separators, \\dfrac, numbers strictly', () => {
  expect(eq('1{,}000', '1000')).toBe(true);
  expect(eq('1,000', '1000')).toBe(true);
  expect(eq('\\dfrac{3}{4}', '0.75')).toBe(true);
  expect(eq('\\tfrac{3}{4}', '\\frac{6}{8}')).toBe(true);
  expect(eq('1000', '1001')).toBe(false);
  expect(eq('3', '3.0001')).toBe(false);
  // "1,2" is two numbers (a list), not 12
  expect(toNumber('1,2')).toBeNull();
  expect(eq('1,2', '12')).toBe(false);
  expect(lastNumber('the roots are 1,2')).toBe('2');
  expect(lastNumber('#### 1,800')).toBe('1800');
});

test('intervals, tuples, sets and matrices compare structurally; wrong ones fail', () => {
  expect(eq('[1, 2)', '[1,2)')).toBe(true);
  expect(eq('(-\\infty, 3]', '(-\\infty,3]')).toBe(true);
  expect(eq('(1,2]', '[1,2]')).toBe(false);
  expect(eq('[1,2)', '[1,2]')).toBe(false);
  expect(eq('(1, 2)', '(1,2)')).toBe(true);
  expect(eq('(1,2)', '(2,1)')).toBe(false);
  expect(eq('\\{1,2\\}', '\\{2,1\\}')).toBe(true);
  expect(eq('\\{1,2\\}', '\\{1,3\\}')).toBe(false);
  expect(eq('\\begin{pmatrix}1\\\\2\\end{pmatrix}', '\\begin{bmatrix}1\\\\2\\end{bmatrix}')).toBe(true);
  expect(eq('\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}', '\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}')).toBe(false);
});

test('algebraic equivalence and its negatives', () => {
  expect(eq('x^2+2x+1', '(x+1)^2')).toBe(true);
  expect(eq('x^2+2x+1', '(x+1)^3')).toBe(false);
  expect(eq('\\frac{\\sqrt{2}}{2}', '\\frac{1}{\\sqrt{2}}')).toBe(true);
  expect(eq('\\sqrt{2}', '1.41421356')).toBe(false);
  expect(eq('2\\sqrt{3}', '3\\sqrt{2}')).toBe(false);
});

test('per-check time limit: an expensive check scores 0 with feedback saying it timed out', () => {
  // stopped by the engine's own deadline (the thread is reused)
  const sum = mathEquivalence('\\sum_{n=1}^{10^{9}} n', '5', { timeLimitMs: 200 });
  expect(sum).toMatchObject({ equal: false, timedOut: true, reason: expect.stringMatching(/timed out \(limit 200 ms\)/) });
  // native BigInt arithmetic ignores that deadline: the thread is terminated instead
  const tower = mathEquivalence('3^{3^{17}}', '3^{3^{17}}+1', { timeLimitMs: 200 });
  expect(tower).toMatchObject({ equal: false, timedOut: true });
  // the next check starts a fresh thread and works
  expect(eq('\\frac{1}{2}', '0.5')).toBe(true);
  const s = grade('math', '5', 'so \\boxed{\\sum_{n=1}^{10^{12}} n}');
  expect(s).toMatchObject({ reward: 0, correct: false, extracted: '\\sum_{n=1}^{10^{12}} n', feedback: expect.stringMatching(/timed out/) });
});

test('math task and math grader accept the same forms, including "the answer is"', () => {
  const math = getTask(taskConfigSchema.parse({ env: 'math' }));
  const x = { id: 'm', question: 'q', answer: '\\frac{1}{2}' };
  for (const c of ['\\boxed{\\dfrac12}', '#### 0.5', 'The answer is $\\frac{1}{2}$.', 'it is 0.5']) {
    expect(math.score(x, c).correct).toBe(true);
    expect(grade('math', '\\frac{1}{2}', c).correct).toBe(true);
  }
  expect(math.score(x, 'The answer is $\\frac{1}{2}$.')).toMatchObject({ format_ok: false, extracted: '$\\frac{1}{2}$' });
  expect(math.score(x, 'The answer is 3.')).toMatchObject({ correct: false, feedback: expect.stringMatching(/wrong value \(format: no \\boxed\{\} answer\)/) });
  const aime = getTask(taskConfigSchema.parse({ env: 'aime' }));
  expect(aime.score({ id: 'a', question: 'q', answer: '25' }, 'the answer is 025').correct).toBe(true);
  expect(aime.score({ id: 'a', question: 'q', answer: '25' }, '\\boxed{x=25}').correct).toBe(true);
});
