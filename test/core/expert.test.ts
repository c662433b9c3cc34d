import { capSuccesses, failedProblems, hasGroundTruth, hintLeaks, judgeHint, keepSuccesses, numericForms, partitionByGroundTruth, referenceCompletion } from '../../src/core/expert';

test('numeric forms of an answer', () => {
  expect(numericForms('0.5')).toEqual(expect.arrayContaining(['0.5', '50%', '1/2']));
  expect(numericForms('1000')).toEqual(expect.arrayContaining(['1000', '1,000']));
  expect(numericForms('\\frac{3}{4}')).toEqual(expect.arrayContaining(['3/4', '0.75', '75%']));
  expect(numericForms('7')).toEqual(expect.arrayContaining(['7', 'seven']));
});

test('leak check matches whole tokens in any form', () => {
  const forms = numericForms('12');
  expect(hintLeaks('The answer is 12.', forms)).toEqual({ leaks: true, matched: '12' });
  expect(hintLeaks('Try twelve groups', forms).leaks).toBe(true);
  expect(hintLeaks('Multiply 123 by 2', forms).leaks).toBe(false);
  expect(hintLeaks('It is about 12.5 percent', forms).leaks).toBe(false);
  expect(hintLeaks('So $\\boxed{12}$', forms).leaks).toBe(true);
  expect(hintLeaks('half of it, i.e. 1/2', numericForms('0.5')).leaks).toBe(true);
  expect(hintLeaks('count the 1,000 apples', numericForms('1000')).leaks).toBe(true);
  expect(hintLeaks('Think about the units first.', forms).leaks).toBe(false);
});

test('at most N successes per problem', () => {
  const counts = {};
  expect(capSuccesses(counts, 3, 7, 10)).toBe(7);
  expect(capSuccesses(counts, 3, 7, 10)).toBe(3);
  expect(capSuccesses(counts, 3, 1, 10)).toBe(0);
  expect(capSuccesses(counts, 4, 2, 10)).toBe(2);
});

test('failed problems are those with no correct attempt', () => {
  expect(failedProblems([7, 3, 9], [[false, false], [false, true], []])).toEqual([7, 9]);
});

test('kept successes respect the per-problem cap across rounds, in order', () => {
  const counts: Record<string, number> = { '5': 1 };
  const picks = [
    { index: 5, sample_index: 0 },
    { index: 5, sample_index: 1 },
    { index: 6, sample_index: 2 },
    { index: 6, sample_index: 3 },
    { index: 6, sample_index: 4 },
  ];
  expect(keepSuccesses(counts, picks, 2)).toEqual([picks[0], picks[2], picks[3]]);
  expect(counts).toEqual({ '5': 2, '6': 2 });
  expect(keepSuccesses(counts, picks, 2)).toEqual([]);
});

test('a leaking hint is regenerated up to k times, then dropped; no ground truth and errors are their own outcomes', () => {
  const forms = numericForms('42');
  const leak = { hint: 'The result is 42.', answer_forms: forms, error: null };
  expect(judgeHint(leak, 0, 2)).toEqual({ outcome: null, leaked: true });
  expect(judgeHint(leak, 1, 2)).toEqual({ outcome: null, leaked: true });
  expect(judgeHint(leak, 2, 2)).toEqual({ outcome: { kind: 'dropped' }, leaked: true });
  expect(judgeHint({ hint: 'Add the tens first.', answer_forms: forms, error: null }, 1, 2)).toEqual({ outcome: { kind: 'hint', hint: 'Add the tens first.' }, leaked: false });
  expect(judgeHint({ hint: '   ', answer_forms: forms, error: null }, 0, 0)).toEqual({ outcome: { kind: 'dropped' }, leaked: false });
  expect(judgeHint({ hint: null, answer_forms: [], error: 'no ground truth' }, 0, 2).outcome).toEqual({ kind: 'no_ground_truth' });
  expect(judgeHint({ hint: null, answer_forms: forms, error: '400 bad request' }, 0, 2).outcome).toEqual({ kind: 'error', message: '400 bad request' });
});

test('a problem has a ground truth only when its gold answer is a non-blank string', () => {
  expect(hasGroundTruth('42')).toBe(true);
  expect(hasGroundTruth('0')).toBe(true);
  expect(hasGroundTruth('')).toBe(false);
  expect(hasGroundTruth('  \n')).toBe(false);
  expect(hasGroundTruth(null)).toBe(false);
  expect(hasGroundTruth(undefined)).toBe(false);
});

test('problems are split by ground truth, order kept; a length mismatch says what it got', () => {
  expect(partitionByGroundTruth([4, 9, 2, 7], ['a', '', null, ' b '])).toEqual({ with_truth: [4, 7], without_truth: [9, 2] });
  expect(partitionByGroundTruth([], [])).toEqual({ with_truth: [], without_truth: [] });
  expect(() => partitionByGroundTruth([1, 2], ['a'])).toThrow('2 indices but 1 answers');
});

test('reference completion: the worked solution, else the bare gold answer (a counted fallback), else nothing', () => {
  expect(referenceCompletion({ solution: 'Half of 48 is 24.\n#### 24', answer: '24' })).toEqual({ completion: 'Half of 48 is 24.\n#### 24', source: 'solution' });
  expect(referenceCompletion({ answer: '24' })).toEqual({ completion: '24', source: 'answer' });
  expect(referenceCompletion({ solution: '  ', answer: '24' })).toEqual({ completion: '24', source: 'answer' });
  expect(referenceCompletion({ solution: 7, answer: '' })).toBeNull();
  expect(referenceCompletion({ answer: null })).toBeNull();
});

test('leak check: decimal forms with trailing zeros, number words and simple fraction words (issue 11)', () => {
  const half = numericForms('0.5');
  expect(hintLeaks('so each gets 0.50 of the pie', half).leaks).toBe(true);
  expect(hintLeaks('that is .5 of it', half).leaks).toBe(true);
  expect(hintLeaks('you keep one half of the cake', half).leaks).toBe(true);
  expect(hintLeaks('exactly 50 percent', half).leaks).toBe(true);
  expect(hintLeaks('halve each side first', half).leaks).toBe(false);
  expect(hintLeaks('0.55 is close but not it', half).leaks).toBe(false);
  expect(hintLeaks('0.05 is a small step', half).leaks).toBe(false);
  const n25 = numericForms('25');
  expect(hintLeaks('there are twenty-five of them', n25).leaks).toBe(true);
  expect(hintLeaks('there are Twenty Five of them', n25).leaks).toBe(true);
  expect(hintLeaks('so 25.0 in total', n25).leaks).toBe(true);
  expect(hintLeaks('twenty-six is too many', n25).leaks).toBe(false);
  expect(hintLeaks('add 25.5 to it', n25).leaks).toBe(false);
  expect(hintLeaks('one hundred and twenty-five in total', numericForms('125')).leaks).toBe(true);
  expect(hintLeaks('one hundred twenty-five', numericForms('125')).leaks).toBe(true);
  expect(hintLeaks('two thousand and twenty-four', numericForms('2024')).leaks).toBe(true);
  expect(hintLeaks('two thirds of the class', numericForms('2/3')).leaks).toBe(true);
  expect(hintLeaks('three quarters of it', numericForms('\\frac{3}{4}')).leaks).toBe(true);
  expect(hintLeaks('one and a half hours', numericForms('1.5')).leaks).toBe(true);
  expect(hintLeaks('one third of the class', numericForms('2/3')).leaks).toBe(false);
  // the gold answer itself may carry trailing zeros
  expect(hintLeaks('each costs 2.5 dollars', numericForms('2.50')).leaks).toBe(true);
});
