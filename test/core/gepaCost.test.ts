import { costBudgetStop, nextIterationCostEstimate } from '../../src/core/gepa/cost';

test('the next iteration is estimated from the mean cost per metric call and per reflection', () => {
  const c = { metric_usd: 0.6, metric_calls: 6, max_usd_per_call: 0, reflection_usd: 0.02, reflection_calls: 1 };
  // 0.1 per call × (2×3 + 6) + 0.02
  expect(nextIterationCostEstimate(c, 3, 6)).toBeCloseTo(1.22, 10);
  expect(costBudgetStop(undefined, c, 3, 6)).toBeNull();
  expect(costBudgetStop(1.9, c, 3, 6)).toBeNull();
  expect(costBudgetStop(1.8, c, 3, 6)).toBe('cost budget: spent $0.6200 of max_cost_usd $1.8; the next iteration (~$1.2200) would exceed it');
  // a costlier evaluation seen (0.2 per call) raises the estimate
  expect(nextIterationCostEstimate({ ...c, max_usd_per_call: 0.2 }, 3, 6)).toBeCloseTo(2.42, 10);
  expect(costBudgetStop(0.1, { metric_usd: 0, metric_calls: 0, max_usd_per_call: 0, reflection_usd: 0, reflection_calls: 0 }, 3, 6)).toBeNull();
});
