import { capSuccesses, hintLeaks, numericForms } from '../../src/core/expert';

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
