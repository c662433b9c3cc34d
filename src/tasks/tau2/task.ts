/**
 * tau2-airline in the task registry. Its examples are episodes, not single completions: the
 * workflows run one tau2Episode activity per (example, trial) and never call render/score on it
 * (they check isEpisodicTask). Splits: train (30) serves GEPA's minibatches and, as in the
 * project's design note, also its Pareto/val set; test (20) is for baseline and final measurements.
 */
import type { TaskConfig } from '../../config/task';
import type { Example, Splits, Task } from '../types';
import { airlinePolicy, loadTau2Split, renderScenario, scenarioUserId, type Tau2Task } from './data';

export function tau2Example(t: Tau2Task): Example {
  return { id: t.id, question: renderScenario(t), answer: null, user_id: scenarioUserId(t) };
}

export const tau2AirlineTask: Task = {
  name: 'tau2-airline',
  async loadSplits(cfg: TaskConfig): Promise<Splits> {
    const train = loadTau2Split('train').map(tau2Example);
    const test = loadTau2Split('test').map(tau2Example);
    return {
      train: cfg.n_train ? train.slice(0, cfg.n_train) : train,
      val: cfg.n_val ? train.slice(0, cfg.n_val) : train,
      test: cfg.n_test ? test.slice(0, cfg.n_test) : test,
    };
  },
  render: (x) => [{ role: 'user', content: x.question }],
  score() {
    throw new Error('tau2-airline is episodic: an example is scored by its tau2Episode activity (a whole conversation), not from one completion; RL, SFT and expert iteration do not support it');
  },
  answerForHint: () => null,
  // what GEPA evolves is the agent's policy: it starts from tau2's own (the generic prompt stands for it in episodes)
  seedPrompt: () => airlinePolicy(),
};
