import { bar, completedProgress, etaSeconds, formatEta, formatProgress, stepOf } from '../../src/cli/progress';

test('progress line shows phase, step/total, reward, accuracy, best prompt score and ETA', () => {
  const line = formatProgress({ phase: 'rl', batch: 5, n_batches: 20, reward: 0.5, accuracy: 0.25, best_val_score: 0.6 }, 90);
  expect(line).toContain('[rl]');
  expect(line).toContain('5/20');
  expect(line).toContain('reward 0.500');
  expect(line).toContain('acc 0.250');
  expect(line).toContain('best prompt 0.600');
  expect(line).toContain('ETA 1m30s');
});

test('step extraction covers rl, gepa and evaluation statuses', () => {
  expect(stepOf({ batch: 3, n_batches: 10 })).toEqual({ step: 3, total: 10 });
  expect(stepOf({ budget_used: 40, budget_limit: 150 })).toEqual({ step: 40, total: 150 });
  expect(stepOf({})).toEqual({ step: 0, total: 0 });
});

test('eta from observed rate', () => {
  expect(etaSeconds({ at_ms: 0, step: 0 }, { at_ms: 10_000, step: 5 }, 20)).toBeCloseTo(30);
  expect(etaSeconds(null, { at_ms: 1, step: 1 }, 20)).toBeNull();
  expect(formatEta(null)).toBe('--');
  expect(formatEta(3725)).toBe('1h02m');
  expect(bar(5, 10, 10)).toBe('█████░░░░░');
});

test('a completed run shows its last status with a full bar, done, and no ETA', () => {
  const line = completedProgress({ phase: 'round0_rl: eval', batch: 2, n_batches: 3, reward: 0.25, accuracy: 0.5, test_accuracy: 0.4375, paused: true });
  expect(line).toContain('[done]');
  expect(line).toContain(`${bar(3, 3)} 3/3`);
  expect(line).toContain('test 0.438');
  expect(line).not.toContain('ETA');
  expect(line).not.toContain('PAUSED');
});
