import { initialEvalRow, testEvalColumns } from '../../src/core/evalRows';

test('the step-0 evaluation row: one key, step 0, batch 0, the test accuracy and mean reward in that order', () => {
  const row = initialEvalRow({ accuracy: 0.25, reward: 0.5 });
  expect(row).toEqual({ key: 'eval-0', step: 0, 'progress/batch': 0, 'test/env/all/correct': 0.25, 'test/env/all/reward/total': 0.5 });
  expect(Object.keys(row)).toEqual(['key', 'step', 'progress/batch', 'test/env/all/correct', 'test/env/all/reward/total']);
  expect(testEvalColumns({ accuracy: 1, reward: 0 })).toEqual({ 'test/env/all/correct': 1, 'test/env/all/reward/total': 0 });
});
