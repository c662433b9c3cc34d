import { bar, completedProgress, etaSeconds, formatEta, formatProgress, stepOf } from '../../src/cli/progress';

test('progress line shows phase, done/total with its unit, reward, accuracy, best prompt score and ETA', () => {
  const line = formatProgress({ phase: 'rl', paused: false, progress: { done: 5, total: 20, unit: 'batches' }, reward: 0.5, accuracy: 0.25, best_val_score: 0.6 }, 90);
  expect(line).toContain('[rl]');
  expect(line).toContain(`${bar(5, 20)} 5/20 batches`);
  expect(line).toContain('reward 0.500');
  expect(line).toContain('acc 0.250');
  expect(line).toContain('best prompt 0.600');
  expect(line).toContain('ETA 1m30s');
  expect(line).not.toContain('PAUSED');
  expect(line).not.toContain('test ');
});

test('step and total come from the shared progress shape, whatever the workflow type', () => {
  expect(stepOf({ phase: 'sampling', paused: false, progress: { done: 3, total: 10, unit: 'batches' } })).toEqual({ step: 3, total: 10 });
  expect(stepOf({ phase: 'reflecting', paused: false, progress: { done: 40, total: 150, unit: 'metric calls' } })).toEqual({ step: 40, total: 150 });
  expect(stepOf({ phase: 'starting', paused: false, progress: { done: 0, total: 0, unit: 'problems' } })).toEqual({ step: 0, total: 0 });
});

test('eta from observed rate', () => {
  expect(etaSeconds({ at_ms: 0, step: 0 }, { at_ms: 10_000, step: 5 }, 20)).toBeCloseTo(30);
  expect(etaSeconds(null, { at_ms: 1, step: 1 }, 20)).toBeNull();
  expect(formatEta(null)).toBe('--');
  expect(formatEta(3725)).toBe('1h02m');
  expect(bar(5, 10, 10)).toBe('█████░░░░░');
});

test('a completed run shows its last status with a full bar, done, and no ETA', () => {
  const line = completedProgress({ phase: 'round0_rl: eval', paused: true, progress: { done: 2, total: 3, unit: 'batches' }, reward: 0.25, accuracy: 0.5, test_accuracy: 0.4375 });
  expect(line).toContain('[done]');
  expect(line).toContain(`${bar(3, 3)} 3/3 batches`);
  expect(line).toContain('test 0.438');
  expect(line).not.toContain('ETA');
  expect(line).not.toContain('PAUSED');
});
