import { evaluationRow } from '../../src/core/metrics';

describe('core/metrics: the evaluation row', () => {
  it("evaluatePrompt's: accuracy, mean reward and format-ok rate under the split's prefix", () => {
    expect(evaluationRow('val', { accuracy: 0.5, mean_reward: 0.75, format_ok_rate: 1 })).toEqual({
      key: 'evaluation',
      step: 0,
      'val/env/all/correct': 0.5,
      'val/env/all/reward/total': 0.75,
      'val/env/all/format_ok': 1,
    });
  });

  it("evaluation's: answer and thinking proportions, and for tau2 pass^k, the refusal floor and the cost per episode", () => {
    const row = evaluationRow('test', { accuracy: 0.25, mean_reward: 0.3, answer_proportion: 0.9, thinking_proportion: 0.1, tau2: { pass_hat: { 'pass^1': 0.4, 'pass^2': 0.2 }, refusal_floor: 0.46, cost_per_episode_usd: 0.01 } });
    expect(Object.keys(row)).toEqual([
      'key', 'step', 'test/env/all/correct', 'test/env/all/reward/total', 'test/answer_proportion', 'test/thinking_proportion', 'test/tau2/pass^1', 'test/tau2/pass^2', 'test/tau2/refusal_floor', 'test/tau2/cost_per_episode_usd',
    ]);
    expect([row['test/tau2/pass^2'], row['test/tau2/refusal_floor'], row['test/thinking_proportion']]).toEqual([0.2, 0.46, 0.1]);
    expect(evaluationRow('test', { accuracy: 0, mean_reward: 0, tau2: undefined })).toEqual({ key: 'evaluation', step: 0, 'test/env/all/correct': 0, 'test/env/all/reward/total': 0 });
  });
});
