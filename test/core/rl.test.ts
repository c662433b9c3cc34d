import { computeBatchAdvantages, hasLearningSignal, offPolicySamplingWarning, groupCenteredAdvantages, grpoStdAdvantages, planBatch, rlBatchRow, rlMetricsRow, shouldEval, shouldSave, testProblems } from '../../src/core/rl';

test('group-centred and GRPO advantages by hand', () => {
  expect(groupCenteredAdvantages([1, 0, 0, 1])).toEqual([0.5, -0.5, -0.5, 0.5]);
  // TRL's GRPO: (r - mean) / (Bessel-corrected std + 1e-4); here std = sqrt(4 * 0.25 / 3)
  const g = grpoStdAdvantages([1, 0, 0, 1], 0);
  const s = Math.sqrt(1 / 3);
  g.forEach((a, i) => expect(a).toBeCloseTo([0.5, -0.5, -0.5, 0.5][i] / s, 12));
  const d = grpoStdAdvantages([1, 0, 0, 1]);
  d.forEach((a, i) => expect(a).toBeCloseTo([0.5, -0.5, -0.5, 0.5][i] / (s + 1e-4), 12));
  expect(grpoStdAdvantages([1, 1, 1])).toEqual([0, 0, 0]);
  expect(grpoStdAdvantages([1])).toEqual([0]);
});

test('constant-reward groups are counted and optionally dropped', () => {
  const r = computeBatchAdvantages([[1, 1], [0, 1]], { advantage: 'group_centered', drop_constant_reward_groups: true });
  expect(r).toEqual({ advantages_PG: [[0, 0], [-0.5, 0.5]], n_constant_groups: 1 });
});

test('batch plans are deterministic, cover the train set each epoch, and differ by seed', () => {
  const b0 = planBatch(10, 0, 4, 1);
  expect(planBatch(10, 0, 4, 1)).toEqual(b0);
  const epoch = [0, 1].flatMap((b) => planBatch(10, b, 5, 1)).sort((a, b) => a - b);
  expect(epoch).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(planBatch(10, 0, 4, 2)).not.toEqual(b0);
  expect(planBatch(3, 1, 5, 0)).toHaveLength(5); // spans epochs
  expect(() => planBatch(0, 0, 4, 1)).toThrow(/train split is empty/);
});

test('eval schedule and metric names', () => {
  expect([1, 2, 3, 4, 5].map((b) => shouldEval(b, 2, 5))).toEqual([false, true, false, true, true]);
  expect([1, 2, 3, 4, 5].map((b) => shouldSave(b, 2, 5))).toEqual([false, true, false, true, true]); // every 2nd and the last
  expect([1, 2, 3].map((b) => shouldSave(b, 5, 3))).toEqual([false, false, true]);
  const row = rlMetricsRow({
    batch: 0, n_batches: 2, rewards_PG: [[1, 0]], correct_PG: [[true, false]], format_ok_PG: [[true, true]], num_tokens_PG: [[4, 6]],
    n_constant_groups: 0, optim: { loss: 0.1, entropy: 2, kl_sample_train_v1: 0, kl_sample_train_v2: 0, grad_norm: 1, learning_rate: 1e-4, tokens: 10 },
    test: { accuracy: 0.5, reward: 0.5 }, seconds_batch: 1, seconds_total: 2,
  });
  expect(row).toMatchObject({ 'progress/batch': 0, 'env/all/reward/total': 0.5, 'env/all/correct': 0.5, 'env/all/ac_tokens_per_turn': 5, 'optim/entropy': 2, 'test/env/all/correct': 0.5 });
});

test('RL names the settings that make its sampling off-policy, and only those: Tinker scores at T=1, the local learner under the sampling distribution', () => {
  expect(offPolicySamplingWarning('tinker', 1, 1)).toBeNull();
  expect(offPolicySamplingWarning('local', 0.7, 0.9)).toBeNull();
  expect(offPolicySamplingWarning('tinker', 0.7, 1)).toMatch(/^policy\.temperature=0\.7 with policy\.backend=tinker: RL samples from a tempered distribution .* set temperature=1 top_p=1/);
  expect(offPolicySamplingWarning('tinker', 1, 0.9)).toMatch(/^policy\.top_p=0\.9 with policy\.backend=tinker: RL samples from a truncated distribution/);
  expect(offPolicySamplingWarning('tinker', 0.5, 0.9)).toMatch(/^policy\.temperature=0\.5 and policy\.top_p=0\.9 with/);
});

test('a batch whose advantages are all 0 teaches nothing: no train step', () => {
  const dropped = computeBatchAdvantages([[1, 1], [0, 0]], { advantage: 'group_centered', drop_constant_reward_groups: false });
  expect(hasLearningSignal(dropped.advantages_PG.flat())).toBe(false);
  expect(hasLearningSignal(computeBatchAdvantages([[1, 1], [0, 1]], { advantage: 'grpo_std', drop_constant_reward_groups: true }).advantages_PG.flat())).toBe(true);
  expect(hasLearningSignal([])).toBe(false);
});

test('the RL batch row: key, step (batches done) and checkpoint first, then the metrics; no optimiser fields for a skipped step', () => {
  const row = rlBatchRow({
    batch: 2, n_batches: 4, rewards_PG: [[1, 1], [0, 1]], correct_PG: [[true, true], [false, true]], format_ok_PG: [[true, false], [true, true]], num_tokens_PG: [[2, 4], [6, 8]],
    n_constant_groups: 1, optim: null, test: null, seconds_batch: 3, seconds_total: 9, checkpoint: 'ckpt-1',
  });
  expect(row).toEqual({
    key: 'batch-2', step: 3, checkpoint: 'ckpt-1',
    'progress/batch': 2, 'progress/done_frac': 0.75, 'env/all/reward/total': 0.75, 'env/all/correct': 0.75, 'env/all/format_ok': 0.75,
    'env/all/ac_tokens_per_turn': 5, 'env/all/frac_constant_groups': 0.5, 'time/batch': 3, 'time/total': 9,
  });
  expect(Object.keys(row).slice(0, 3)).toEqual(['key', 'step', 'checkpoint']);
});

test('test problems: the first n_eval of the split, all of it without n_eval', () => {
  expect(testProblems(3, 10)).toEqual([0, 1, 2]);
  expect(testProblems(undefined, 4)).toEqual([0, 1, 2, 3]);
  expect(testProblems(50, 2)).toEqual([0, 1]);
  expect(testProblems(undefined, 0)).toEqual([]);
});
