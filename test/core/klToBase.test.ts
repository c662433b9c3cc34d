/** KL(π_θ‖π_base) in metrics rows (core/klToBase.ts): its names, where a row carries it, and which backends skip it. */
import { klToBaseMetrics, klToBaseSkipReason, KL_TO_BASE_KEY } from '../../src/core/klToBase';
import { initialEvalRow, testMetrics } from '../../src/core/metrics';
import { fastSlowBatchRow, twoByTwoRow } from '../../src/core/fastslow';

const kl = { kl: 0.0125, k1: 0.02, k3: 0.011, tokens: 40 };

test('the KL keys: test/kl_to_base (whole-vocabulary), its k1 and k3 estimators and the tokens they average over', () => {
  expect(KL_TO_BASE_KEY).toBe('test/kl_to_base');
  expect(klToBaseMetrics(kl)).toEqual({ 'test/kl_to_base': 0.0125, 'test/kl_to_base/k1': 0.02, 'test/kl_to_base/k3': 0.011, 'test/kl_to_base/tokens': 40 });
});

test('a test score carries its KL into the row only when it was measured', () => {
  expect(testMetrics({ accuracy: 0.5, reward: 0.25 })).toEqual({ 'test/env/all/correct': 0.5, 'test/env/all/reward/total': 0.25 });
  expect(testMetrics({ accuracy: 0.5, reward: 0.25, kl_to_base: kl })['test/kl_to_base']).toBe(0.0125);
  expect(initialEvalRow({ accuracy: 0, reward: 0, kl_to_base: { kl: 0, k1: 0, k3: 0, tokens: 9 } })).toMatchObject({ key: 'eval-0', 'test/kl_to_base': 0, 'test/kl_to_base/tokens': 9 });
});

test('fast-slow rows take the KL of the seed prompt\'s evaluation (not the best prompt\'s), and the 2x2 row the trained weights\' under the seed prompt', () => {
  const facts = {
    batch: 0,
    n_batches: 2,
    rewards_PG: [[1, 0]],
    correct_PG: [[true, false]],
    format_ok_PG: [[true, true]],
    num_tokens_PG: [[3, 4]],
    n_constant_groups: 0,
    optim: null,
    seconds_batch: 1,
    seconds_total: 1,
    checkpoint: null,
    prompts_PG: [[0, 1]],
    pool_size: 2,
    best_prompt_id: 1,
    n_advantage_groups: 1,
    trial_child: null,
  };
  const row = fastSlowBatchRow({ ...facts, test: { accuracy: 1, reward: 1 }, seed_test: { accuracy: 0.5, reward: 0.5, kl_to_base: kl } });
  expect(row['test/env/all/correct']).toBe(1);
  expect(row['test/kl_to_base']).toBe(0.0125);
  expect(fastSlowBatchRow({ ...facts, test: null, seed_test: null })['test/kl_to_base']).toBeUndefined();
  const s = { accuracy: 0, reward: 0 };
  const t = twoByTwoRow({ base_seed: s, base_best: s, trained_seed: { ...s, kl_to_base: kl }, trained_best: s, best_prompt_id: 1 }, 3);
  expect(t['test/kl_to_base']).toBe(0.0125);
  expect(t['test/kl_to_base/k1']).toBe(0.02);
});

test('only the local backend measures it; tinker says why', () => {
  expect(klToBaseSkipReason('local')).toBeNull();
  expect(klToBaseSkipReason('tinker')).toMatch(/not measured on policy.backend=tinker: .*only the sampled tokens' logprobs/);
  expect(klToBaseSkipReason('api')).toMatch(/policy.backend=api/);
});
