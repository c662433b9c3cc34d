/** Fast–slow training's pure rules (src/core/fastslow), each on a hand-computed case. */
import { createRng } from '../../src/core/rng';
import {
  addSetPrompt,
  advanceTrial,
  assignmentWeights,
  batchEntries,
  bestPrompt,
  fastSlowAdvantages,
  initFastSlowState,
  isGepaStep,
  judgeTrial,
  minibatchIsPerfect,
  planPromptAssignment,
  poolView,
  prunePoolToSize,
  reflectionMinibatch,
  selectParent,
  splitGroup,
  startTrial,
  traceRows,
  trialEvidence,
  windowCandidates,
  windowScores,
  type ScoreEntry,
} from '../../src/core/fastslow';

const e = (step: number, prompt: number, problem: number, mean: number, n = 2): ScoreEntry => ({ step, prompt, problem, mean, n });

describe('prompt assignment', () => {
  test('a group splits evenly over its prompts, the first taking the remainder', () => {
    expect(splitGroup(4, 2)).toEqual([2, 2]);
    expect(splitGroup(5, 3)).toEqual([2, 2, 1]);
    expect(splitGroup(4, 3)).toEqual([2, 1, 1]);
    expect(splitGroup(4, 1)).toEqual([4]);
    expect(() => splitGroup(2, 3)).toThrow('cannot split a group of 2 rollouts over 3 prompts');
  });

  test('a child on trial and its parent share every problem, and take no draw', () => {
    const rng = createRng(1);
    const before = JSON.stringify(rng);
    const plan = planPromptAssignment({ n_problems: 3, group_size: 4, prompts_per_group: 2, weighted: [{ id: 0, weight: 1 }, { id: 1, weight: 1 }], trial: { child: 3, parent: 0 }, rng });
    expect(plan).toEqual([[0, 0, 3, 3], [0, 0, 3, 3], [0, 0, 3, 3]]);
    expect(JSON.stringify(rng)).toBe(before);
  });

  test('a member of weight 0 is never drawn; one prompt per group takes all rollouts', () => {
    const plan = planPromptAssignment({ n_problems: 2, group_size: 4, prompts_per_group: 1, weighted: [{ id: 0, weight: 0 }, { id: 1, weight: 1 }], trial: null, rng: createRng(5) });
    expect(plan).toEqual([[1, 1, 1, 1], [1, 1, 1, 1]]);
  });

  test('with the trial taking two of three slots, the third rollout group is one drawn member (2, 1, 1 rollouts)', () => {
    const plan = planPromptAssignment({ n_problems: 1, group_size: 4, prompts_per_group: 3, weighted: [{ id: 0, weight: 1 }, { id: 1, weight: 0 }, { id: 2, weight: 1 }], trial: { child: 3, parent: 0 }, rng: createRng(2) });
    expect(plan).toEqual([[0, 0, 3, 2]]);
  });

  test('two members in two slots: both on every problem, two rollouts each, in a seeded order', () => {
    const a = planPromptAssignment({ n_problems: 4, group_size: 4, prompts_per_group: 2, weighted: [{ id: 0, weight: 1 }, { id: 1, weight: 3 }], trial: null, rng: createRng(9) });
    const b = planPromptAssignment({ n_problems: 4, group_size: 4, prompts_per_group: 2, weighted: [{ id: 0, weight: 1 }, { id: 1, weight: 3 }], trial: null, rng: createRng(9) });
    expect(a).toEqual(b);
    for (const g of a) expect([...g].sort()).toEqual([0, 0, 1, 1]);
  });

  test('a member weighs 1 + the window problems it wins', () => {
    const st = initFastSlowState('seed', createRng(0));
    startTrial(st, 'child', 0, 0, 1);
    st.pool[1].status = 'member';
    // problem 3: prompt 1 wins; problem 4: prompt 0 wins; problem 5: tie (both on its front)
    st.entries = [e(0, 0, 3, 0), e(0, 1, 3, 1), e(0, 0, 4, 1), e(0, 1, 4, 0.5), e(0, 0, 5, 1), e(0, 1, 5, 1)];
    expect(assignmentWeights(st, 0, 1)).toEqual([{ id: 0, weight: 3 }, { id: 1, weight: 3 }]);
  });
});

describe('advantage grouping', () => {
  const rewards = [[1, 0, 1, 1]];
  const prompts = [[0, 0, 1, 1]];
  test('problem (FST): one group across prompts, reward minus the problem mean 0.75', () => {
    expect(fastSlowAdvantages(rewards, prompts, { advantage_group: 'problem', advantage: 'group_centered', drop_constant_reward_groups: false })).toEqual({ advantages_PG: [[0.25, -0.75, 0.25, 0.25]], n_groups: 1, n_constant_groups: 0 });
  });
  test('prompt (E-SPL): a baseline per (problem, prompt): 0.5 for prompt 0, 1 for prompt 1 (a constant group)', () => {
    expect(fastSlowAdvantages(rewards, prompts, { advantage_group: 'prompt', advantage: 'group_centered', drop_constant_reward_groups: false })).toEqual({ advantages_PG: [[0.5, -0.5, 0, 0]], n_groups: 2, n_constant_groups: 1 });
  });
  test('prompt groups need not be contiguous', () => {
    const r = fastSlowAdvantages([[1, 1, 0, 0]], [[0, 1, 0, 1]], { advantage_group: 'prompt', advantage: 'group_centered', drop_constant_reward_groups: false });
    expect(r.advantages_PG).toEqual([[0.5, 0.5, -0.5, -0.5]]);
  });
});

describe('score window', () => {
  const entries = [e(0, 0, 5, 1, 2), e(1, 0, 5, 0, 2), e(2, 0, 5, 0.5, 4)];
  test('only the last `window` steps count, weighted by rollouts', () => {
    expect(windowScores(entries, 2, 1).get(0)!.get(5)).toEqual({ mean: 0.5, n: 4 });
    expect(windowScores(entries, 2, 2).get(0)!.get(5)!.mean).toBeCloseTo((0 * 2 + 0.5 * 4) / 6, 12);
    expect(windowScores(entries, 2, 3).get(0)!.get(5)).toEqual({ mean: 0.5, n: 8 });
    expect(windowScores(entries, 1, 1).get(0)!.get(5)).toEqual({ mean: 0, n: 2 }); // steps after `step` do not count
  });
  test('as candidates: problems in ascending order, -Infinity where a prompt was not sampled', () => {
    const st = initFastSlowState('a', createRng(0));
    st.pool.push({ id: 1, text: 'b', parent: 0, origin: 'gepa', born: 1, status: 'member' });
    const c = windowCandidates(st.pool, [e(1, 0, 7, 0), e(1, 0, 2, 0.5), e(1, 1, 2, 1), e(0, 1, 9, 1)], 1, 1);
    expect(c.map((x) => [x.id, x.val_scores, x.val_mean])).toEqual([
      [0, [0.5, 0], 0.25],
      [1, [1, -Infinity], 1],
    ]);
  });
  test('the pool view: recent reward, rollouts and front wins of each live prompt', () => {
    const st = initFastSlowState('seed prompt', createRng(0));
    st.pool.push({ id: 1, text: 'b', parent: 0, origin: 'gepa', born: 1, status: 'member' });
    st.entries = [e(1, 0, 2, 0.5, 2), e(1, 1, 2, 1, 2), e(1, 0, 3, 0, 2)];
    const v = poolView(st, 1, 1);
    expect(v.map((x) => [x.id, x.recent_reward, x.window_rollouts, x.front_wins, x.on_front])).toEqual([
      [0, 0.25, 4, 1, true],
      [1, 1, 2, 1, true],
    ]);
  });
});

describe('acceptance from RL rollouts', () => {
  const entries = [e(2, 0, 1, 0.9), e(3, 0, 1, 0.5), e(3, 2, 1, 1), e(3, 0, 4, 1), e(3, 2, 4, 0.5), e(3, 1, 4, 0), e(4, 0, 1, 0), e(4, 2, 1, 0.25)];
  test('the paired (step, problem) means from the trial start on', () => {
    expect(trialEvidence(entries, 0, 2, 3)).toEqual({ pairs: ['3:1', '3:4', '4:1'], parent_means: [0.5, 1, 0], child_means: [1, 0.5, 0.25] });
  });
  test('strictly better sum (1.75 > 1.5) is kept; min_improvement_threshold 0.1 drops it (mean gain 0.083)', () => {
    const ev = trialEvidence(entries, 0, 2, 3);
    expect(judgeTrial(ev, 0)).toMatchObject({ accept: true, reason: null, n_pairs: 3 });
    expect(judgeTrial(ev, 0.1)).toMatchObject({ accept: false, reason: 'not better' });
    expect(judgeTrial(ev, 0.08)).toMatchObject({ accept: true });
  });
  test('a tie is dropped, and so is a child with no paired problem', () => {
    expect(judgeTrial({ pairs: ['0:1'], parent_means: [0.5], child_means: [0.5] }).accept).toBe(false);
    expect(judgeTrial(trialEvidence(entries, 1, 2, 3))).toMatchObject({ accept: true }); // 3:4 paired: 0.5 > 0
    expect(judgeTrial(trialEvidence(entries, 0, 2, 5))).toMatchObject({ accept: false, reason: 'no paired problems' });
  });
  test('a trial of 2 batches is judged after its second; kept, it becomes a member and the pool is pruned to size', () => {
    const st = initFastSlowState('seed', createRng(0));
    st.pool.push({ id: 1, text: 'other', parent: null, origin: 'set_prompt', born: 0, status: 'member' });
    const child = startTrial(st, 'child', 0, 3, 2);
    expect(child).toMatchObject({ id: 2, status: 'trial', parent: 0 });
    st.entries = entries;
    const opts = { min_improvement_threshold: 0, pool_size: 2, rejected_memory: 5, step: 4, window: 2 };
    expect(advanceTrial(st, opts)).toBeNull();
    const v = advanceTrial(st, opts)!;
    expect(v).toMatchObject({ accept: true, child: 2, parent: 0, n_pairs: 3 });
    expect(st.trial).toBeNull();
    expect(st.pool[2].status).toBe('member');
    // window steps 3-4: problem 1 won by 2 (avg 0.625 vs 0.25), problem 4 by 0; prompt 1 (0 on problem 4) is pruned
    expect(v.pruned).toEqual([1]);
    expect(st.pool[1].status).toBe('pruned');
    expect(st.counters).toMatchObject({ proposed: 1, accepted: 1, rejected: 0 });
  });
  test('a dropped child is remembered for the reflector with both means', () => {
    const st = initFastSlowState('seed', createRng(0));
    startTrial(st, 'worse', 0, 1, 1);
    st.entries = [e(1, 0, 3, 1), e(1, 1, 3, 0)];
    expect(advanceTrial(st, { min_improvement_threshold: 0, pool_size: 4, rejected_memory: 5, step: 1, window: 2 })).toMatchObject({ accept: false, reason: 'not better' });
    expect(st.pool[1].status).toBe('rejected');
    expect(st.rejected).toEqual([{ text: 'worse', reason: 'not better', parent_score: 1, child_score: 0 }]);
  });
});

describe('the slow loop', () => {
  test('a GEPA round every gepa_every steps, not after the last, not while a child is on trial', () => {
    expect(isGepaStep(5, 6, 20, false)).toBe(true);
    expect(isGepaStep(4, 6, 20, false)).toBe(false);
    expect(isGepaStep(5, 6, 6, false)).toBe(false);
    expect(isGepaStep(5, 6, 20, true)).toBe(false);
    expect(isGepaStep(5, 0, 20, false)).toBe(false);
  });
  test('a batch adds one entry per (problem, prompt): mean reward and count', () => {
    expect(batchEntries(4, [7, 9], [[0, 0, 1, 1], [0, 0, 0, 0]], [[1, 0, 1, 1], [0.5, 0.5, 0, 1]])).toEqual([e(4, 0, 7, 0.5, 2), e(4, 1, 7, 1, 2), e(4, 0, 9, 0.5, 4)]);
  });
  test('the reflection minibatch is drawn from the parent\'s own window rollouts; the rows are found in the step\'s traces', () => {
    const st = initFastSlowState('seed', createRng(3));
    st.entries = [e(0, 0, 1, 0), e(1, 0, 2, 1), e(1, 1, 2, 0), e(2, 0, 3, 0.5), e(2, 0, 4, 1)];
    const mb = reflectionMinibatch(st, 0, 2, 2, 2);
    expect(mb.length).toBe(2);
    for (const m of mb) expect([[1, 2], [2, 3], [2, 4]]).toContainEqual([m.step, m.problem]);
    expect(reflectionMinibatch(st, 0, 2, 2, 10).map((m) => m.problem)).toEqual([2, 3, 4]);
    expect(minibatchIsPerfect([{ mean: 1 }, { mean: 1 }], 1)).toBe(true);
    expect(minibatchIsPerfect([{ mean: 1 }, { mean: 0.5 }], 1)).toBe(false);
    expect(traceRows({ step: 1, row_problem: [2, 2, 2, 2, 5, 5], row_prompt: [0, 0, 1, 1, 0, 1] }, 2, 1)).toEqual([2, 3]);
  });
  test('parent: the only member with window scores; best: the highest window mean (ties: the older)', () => {
    const st = initFastSlowState('seed', createRng(0));
    st.pool.push({ id: 1, text: 'b', parent: 0, origin: 'gepa', born: 1, status: 'member' });
    st.entries = [e(0, 1, 2, 0.5)];
    expect(selectParent(st, 0, 1)).toBe(1);
    expect(bestPrompt(st, 0, 1).id).toBe(1);
    st.entries = [e(0, 1, 2, 0.5), e(0, 0, 3, 0.5)];
    expect(bestPrompt(st, 0, 1).id).toBe(0);
    expect(bestPrompt(initFastSlowState('only', createRng(0)), 0, 1).id).toBe(0);
  });
  test('pruning keeps the best; set_prompt adds a member and prunes among the others', () => {
    const st = initFastSlowState('seed', createRng(0));
    st.pool.push({ id: 1, text: 'b', parent: 0, origin: 'gepa', born: 1, status: 'member' });
    st.entries = [e(0, 0, 2, 0.5), e(0, 1, 2, 1), e(0, 0, 3, 0), e(0, 1, 3, 1)];
    expect(prunePoolToSize(st, 1, 0, 1)).toEqual([0]);
    const { added, pruned } = addSetPrompt(st, 'mine', 0, 1, 1);
    expect(added).toMatchObject({ id: 2, origin: 'set_prompt', status: 'member' });
    expect(pruned).toEqual([]); // one other member: pool_size 1 - 1 rounds up to keeping it
    expect(st.pool.filter((p) => p.status === 'member').map((p) => p.id)).toEqual([1, 2]);
  });
});
