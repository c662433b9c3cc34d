import { createRng, nextFloat, shuffle, weightedChoice } from '../../src/core/rng';
import {
  acceptIfStrictlyBetter,
  addEvaluatedCandidate,
  canAfford,
  checkInitialBudget,
  frontWins,
  initSampler,
  initState,
  isPerfect,
  judgeChild,
  keepsFormat,
  nextMinibatch,
  paretoFronts,
  parseReflectionReply,
  MAX_PROPOSAL_CHARS,
  componentsToReflect,
  acceptIfImproved,
  prunePool,
  problemMeans,
  problemSpreads,
  formatRecords,
  debugProposal,
  gepaValSize,
  minimumBudget,
  planIteration,
  buildReflectionPrompt,
  recordParentMinibatch,
  recordReflectionUsage,
  removeDominatedCandidates,
  summarizeState,
  seedComponents,
  reflectionTemplateFor,
  renderSystemPrompt,
  ancestorsOf,
  mergeComponents,
  mergeTriplets,
  markMergeTried,
  initMergeState,
  mergeSubsample,
  acceptMerge,
  recordAccepted,
  judgeMerge,
  recordMergeAccepted,
  selectComponents,
  selectParentFromFront,
  type Candidate,
  type GepaOptions,
} from '../../src/core/gepa';

const cand = (id: number, val_scores: number[]): Candidate => ({
  id,
  components: { system_prompt: `p${id}` },
  parents: [],
  iteration: 0,
  val_scores,
  val_mean: val_scores.reduce((a, b) => a + b, 0) / val_scores.length,
  metric_calls: 0,
});

describe('rng', () => {
  test('same seed, same sequence; a saved state resumes the exact sequence', () => {
    const a = createRng(5);
    const b = createRng(5);
    const xs = Array.from({ length: 5 }, () => nextFloat(a));
    expect(Array.from({ length: 5 }, () => nextFloat(b))).toEqual(xs);
    const saved = JSON.parse(JSON.stringify(a));
    const next = [nextFloat(a), nextFloat(a)];
    expect([nextFloat(saved), nextFloat(saved)]).toEqual(next);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(createRng(6).s).not.toEqual(createRng(5).s);
  });
  test('shuffle is a permutation', () => {
    expect(shuffle(createRng(1), [1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('pareto fronts and parent selection', () => {
  // instance:   0  1  2  3
  // c0        [ 1, 0, 0, 1 ]
  // c1        [ 1, 1, 0, 0 ]
  // c2        [ 0, 1, 1, 0 ]
  // c3        [ 1, 1, 0, 0 ]  (same as c1)
  const cs = [cand(0, [1, 0, 0, 1]), cand(1, [1, 1, 0, 0]), cand(2, [0, 1, 1, 0]), cand(3, [1, 1, 0, 0])];

  test('fronts hold every candidate tied for the best on an instance', () => {
    expect(paretoFronts(cs)).toEqual([[0, 1, 3], [1, 2, 3], [2], [0]]);
  });

  test('a candidate whose every front holds another survivor is removed', () => {
    const fronts = paretoFronts(cs);
    // order by mean (all 0.5) then id: c0 is alone on front 3 and stays; c1's fronts 0 and 1 also
    // hold c3 (alive), so c1 goes; c2 is alone on front 2 and stays; c3's fronts 0 and 1 still
    // hold c0 and c2, so c3 goes too.
    const alive = removeDominatedCandidates(cs, fronts);
    expect([...alive].sort()).toEqual([0, 2]);
    expect(Object.fromEntries(frontWins(fronts, alive))).toEqual({ 0: 2, 2: 2 });
  });

  test('selection frequency is proportional to instances won', () => {
    const two = [cand(0, [1, 1, 1, 0]), cand(1, [0, 0, 0, 1])];
    const rng = createRng(3);
    const counts = [0, 0];
    for (let i = 0; i < 20000; i++) counts[selectParentFromFront(two, rng)]++;
    expect(counts[0] / 20000).toBeCloseTo(0.75, 1);
    expect(Math.abs(counts[0] / 20000 - 0.75)).toBeLessThan(0.015);
  });

  test('weightedChoice follows the weights', () => {
    const rng = createRng(9);
    const c = [0, 0, 0];
    for (let i = 0; i < 30000; i++) c[weightedChoice(rng, [1, 2, 7])]++;
    expect(c.map((x) => Math.round((x / 30000) * 10))).toEqual([1, 2, 7]);
  });
});

describe('minibatch sampler', () => {
  test('every train id exactly once per epoch, minibatches without repeats', () => {
    const rng = createRng(2);
    const s = initSampler();
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      const mb = nextMinibatch(s, 10, 3, rng);
      expect(new Set(mb).size).toBe(3);
      seen.push(...mb);
    }
    // 30 ids drawn from 3 epochs of 10
    for (let e = 0; e < 3; e++) expect(seen.slice(e * 10, e * 10 + 10).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
  test('a train set smaller than the minibatch gives all of it', () => {
    expect(nextMinibatch(initSampler(), 2, 3, createRng(1)).sort()).toEqual([0, 1]);
  });
});

describe('acceptance, budget and components', () => {
  test('strictly better on the same minibatch; equal is rejected', () => {
    expect(acceptIfStrictlyBetter([1, 0, 0], [1, 1, 0])).toBe(true);
    expect(acceptIfStrictlyBetter([1, 0, 0], [0, 1, 0])).toBe(false);
    expect(isPerfect([1, 1, 1], 1)).toBe(true);
    expect(isPerfect([1, 0.5], 1)).toBe(false);
    expect(keepsFormat([true, true, false], [true, false, false])).toBe(false);
  });
  test('budget errors are clear and spending is checked first', () => {
    expect(() => checkInitialBudget(5, 6, 3)).toThrow(/max_metric_calls=5 cannot pay for .* smaller than one evaluation of the val set, 6 rows\): it needs at least 18/);
    // gsm8k's val split (100) with the default budget: refused before start, with the minimum
    expect(() => checkInitialBudget(150, 100, 3)).toThrow(
      'max_metric_calls=150 cannot pay for the seed evaluation on 100 val rows plus one iteration (2 × minibatch 3 + 100 val = 106): it needs at least 206',
    );
    expect(() => checkInitialBudget(206, 100, 3)).not.toThrow();
    expect(minimumBudget(100, 3)).toBe(206);
    expect(() => checkInitialBudget(5, 0, 3)).toThrow(/val set is empty/);
    expect(canAfford({ metric_calls: 8, max_metric_calls: 10 }, 2)).toBe(true);
    expect(canAfford({ metric_calls: 8, max_metric_calls: 10 }, 3)).toBe(false);
  });
  test('the default val size leaves the budget room for several iterations; an explicit one is kept', () => {
    // gsm8k / math / hotpotqa (val 100) and arithmetic (val 50) with the default budget 150, minibatch 3
    expect(gepaValSize({ available: 100, max_metric_calls: 150, minibatch: 3 })).toBe(33);
    expect(gepaValSize({ available: 50, max_metric_calls: 150, minibatch: 3 })).toBe(33);
    expect(gepaValSize({ available: 30, max_metric_calls: 150, minibatch: 3 })).toBe(30); // aime
    expect(gepaValSize({ available: 8, max_metric_calls: 50, minibatch: 3 })).toBe(8);
    // the alternation's phases: 3 iterations of 16 traces
    expect(gepaValSize({ available: 100, max_metric_calls: 150, minibatch: 16, max_iterations: 3 })).toBe(13);
    for (const [available, mb, it] of [[100, 3, undefined], [50, 3, undefined], [30, 3, undefined], [100, 16, 3]] as const) {
      const v = gepaValSize({ available, max_metric_calls: 150, minibatch: mb, max_iterations: it });
      expect(v + 3 * (2 * mb + v)).toBeLessThanOrEqual(150); // seed + 3 worst-case iterations fit
    }
    expect(gepaValSize({ available: 100, max_metric_calls: 150, minibatch: 3, requested: 100 })).toBe(100);
    expect(gepaValSize({ available: 6, max_metric_calls: 150, minibatch: 3, requested: 100 })).toBe(6);
    expect(gepaValSize({ available: 100, max_metric_calls: 20, minibatch: 3 })).toBe(8); // never below 8: then refused with the minimum
  });
  test('budget accounting per iteration type', () => {
    const opts: GepaOptions = { minibatch_size: 3, component_selector: 'round_robin', perfect_score: 1, rejected_memory: 3 };
    const st = initState({ seed: 1, components: { system_prompt: 's' }, val_size: 4, train_size: 10, max_metric_calls: 20, minibatch_size: 2 });
    addEvaluatedCandidate(st, { components: { system_prompt: 's' }, parents: [], val_scores: [0, 0, 1, 0] });
    expect(st.budget.metric_calls).toBe(4); // seed on val
    const plan = planIteration(st, opts);
    expect(plan.kind).toBe('reflect');
    expect(recordParentMinibatch(st, [1, 1, 1], opts)).toBe(true); // perfect: skipped, calls still counted
    expect(st.budget.metric_calls).toBe(7);
    planIteration(st, opts);
    recordParentMinibatch(st, [0, 1, 0], opts);
    expect(judgeChild(st, { scores: [0, 1, 0], format_ok: [true, true, true] }, { scores: [1, 1, 0], format_ok: [true, true, true] }, {})).toEqual({ accept: true, reason: null });
    expect(st.budget.metric_calls).toBe(13);
    // 13 used, worst case of the next iteration is 3+3+4=10 > 7 left: stop before spending
    expect(planIteration(st, opts)).toEqual({ kind: 'stop', cause: 'budget', reason: expect.stringMatching(/^budget: 13\/20/) });
  });
  test('round-robin: the pointer moves only when the reflector is asked, and a child continues its parent\'s pointer', () => {
    const opts: GepaOptions = { minibatch_size: 2, component_selector: 'round_robin', perfect_score: 1, rejected_memory: 3 };
    const comps = { system_prompt: 's', a: 'A', b: 'B' };
    const st = initState({ seed: 3, components: comps, val_size: 2, train_size: 10, max_metric_calls: 1000, minibatch_size: 2 });
    addEvaluatedCandidate(st, { components: comps, parents: [], val_scores: [0, 0] });
    // a perfect (skipped) minibatch does not move the pointer
    expect(planIteration(st, opts).kind).toBe('reflect');
    expect(recordParentMinibatch(st, [1, 1], opts)).toBe(true);
    planIteration(st, opts);
    expect(recordParentMinibatch(st, [0, 1], opts)).toBe(false);
    expect(componentsToReflect(st, 0, opts)).toEqual(['system_prompt']);
    // the child of seed (whose system_prompt was just rewritten) goes on with component a
    const child = recordAccepted(st, { components: { ...comps, system_prompt: 's2' }, parents: [0], val_scores: [1, 0] }, opts);
    expect(componentsToReflect(st, child.id, opts)).toEqual(['a']);
    expect(componentsToReflect(st, child.id, opts)).toEqual(['b']);
    expect(componentsToReflect(st, 0, opts)).toEqual(['a']);
    // a merge child takes the furthest pointer of its parents
    const merged = recordAccepted(st, { components: comps, parents: [0, child.id], val_scores: [1, 1] }, opts);
    expect(componentsToReflect(st, merged.id, opts)).toEqual(['b']); // the child's pointer wrapped to 0, the seed's is at b
  });
  test('round-robin components per candidate', () => {
    const cursor = {};
    expect(selectComponents(['a', 'b'], cursor, 0, 'round_robin')).toEqual(['a']);
    expect(selectComponents(['a', 'b'], cursor, 0, 'round_robin')).toEqual(['b']);
    expect(selectComponents(['a', 'b'], cursor, 1, 'round_robin')).toEqual(['a']);
    expect(selectComponents(['a', 'b'], cursor, 0, 'all')).toEqual(['a', 'b']);
  });
});

describe('reflection', () => {
  test('a complete reply is adopted between its first and last fence, or whole without a fence', () => {
    expect(parseReflectionReply('Sure:\n```\nNew prompt\n```\nbye')).toEqual({ ok: true, text: 'New prompt' });
    // a proposal that itself holds a code block stays whole (issue #11: it was cut to "Never add units.")
    const nested = '```\nSolve…\nFormat like:\n```\nAnswer: 42\n```\nNever add units.\n```';
    expect(parseReflectionReply(nested)).toEqual({ ok: true, text: 'Solve…\nFormat like:\n```\nAnswer: 42\n```\nNever add units.' });
    expect(parseReflectionReply('```text\nA\n```')).toEqual({ ok: true, text: 'A' });
    expect(parseReflectionReply('  Give only the final number.\n')).toEqual({ ok: true, text: 'Give only the final number.' });
    expect(parseReflectionReply('just text', 'other', { requireFence: true })).toMatchObject({ ok: false, reason: 'unfenced' });
  });
  test('truncated, unclosed, empty, unchanged and runaway replies are rejected with their reason', () => {
    expect(parseReflectionReply('```\nA complete-looking block\n```', undefined, { finishReason: 'length' })).toMatchObject({ ok: false, reason: 'truncated' });
    expect(parseReflectionReply('No fence, cut off mid', undefined, { finishReason: 'length' })).toMatchObject({ ok: false, reason: 'truncated' });
    expect(parseReflectionReply('```\ntruncated new prompt')).toMatchObject({ ok: false, reason: 'unclosed fence' });
    expect(parseReflectionReply('```\nA\n```\nand then ```\nB')).toMatchObject({ ok: false, reason: 'unclosed fence' });
    expect(parseReflectionReply('```\n\n```')).toMatchObject({ ok: false, reason: 'empty' });
    expect(parseReflectionReply('```')).toMatchObject({ ok: false, reason: 'unclosed fence' });
    expect(parseReflectionReply('   \n ')).toMatchObject({ ok: false, reason: 'empty' });
    expect(parseReflectionReply('```\nsame\n```', 'same')).toMatchObject({ ok: false, reason: 'unchanged' });
    expect(parseReflectionReply(' same ', 'same')).toMatchObject({ ok: false, reason: 'unchanged' });
    const huge = parseReflectionReply('x'.repeat(10_000_000));
    expect(huge).toMatchObject({ ok: false, reason: 'too long' });
    expect(huge.text.length).toBe(MAX_PROPOSAL_CHARS);
  });
  test('the reflection prompt carries the text, the records and the rejected proposals', () => {
    const p = buildReflectionPrompt({
      component: 'system_prompt',
      current_text: 'Answer.',
      records: [{ input: 'What is 2+2?', output: '5', reward: 0, feedback: 'Expected 4' }],
      rejected: [{ text: 'Be careful {examples}', reason: 'not better', parent_score: 1, child_score: 1 }],
    });
    expect(p).toContain('Answer.');
    expect(p).toMatch(/#### Inputs\nWhat is 2\+2\?\n#### Generated Outputs\n5\n#### Feedback\n\(score 0\) Expected 4/);
    expect(p).toContain('(not better, scored 1 vs parent 1) Be careful {examples}');
  });
});

describe('stop conditions', () => {
  const base: GepaOptions = { minibatch_size: 2, component_selector: 'round_robin', perfect_score: 1, rejected_memory: 3 };
  const fresh = (val: number[]) => {
    const st = initState({ seed: 1, components: { system_prompt: 's' }, val_size: val.length, train_size: 10, max_metric_calls: 1000, minibatch_size: 2 });
    addEvaluatedCandidate(st, { components: { system_prompt: 's' }, parents: [], val_scores: val });
    return st;
  };
  test('max_iterations: exactly that many iterations are planned', () => {
    const st = fresh([0, 0]);
    const opts = { ...base, max_iterations: 2 };
    expect(planIteration(st, opts).kind).toBe('reflect');
    expect(planIteration(st, opts).kind).toBe('reflect');
    expect(planIteration(st, opts)).toEqual({ kind: 'stop', cause: 'max_iterations', reason: 'max_iterations=2 reached' });
    expect(st.stop_reason).toBe('max_iterations=2 reached');
    expect(st.counters.iterations).toBe(2);
  });
  test('score_threshold: stops once the best val mean reaches it, not before', () => {
    const st = fresh([1, 0]); // mean 0.5
    expect(planIteration(st, { ...base, score_threshold: 0.75 }).kind).toBe('reflect');
    addEvaluatedCandidate(st, { components: { system_prompt: 't' }, parents: [0], val_scores: [1, 0.5] }); // mean 0.75
    expect(planIteration(st, { ...base, score_threshold: 0.75 })).toEqual({ kind: 'stop', cause: 'score_threshold', reason: 'best val score 0.75 >= score_threshold=0.75' });
  });
  test('max_no_improvement: counts iterations since the best improved; a better candidate resets it', () => {
    const st = fresh([0, 0]);
    const opts = { ...base, max_no_improvement: 2 };
    expect(planIteration(st, opts).kind).toBe('reflect'); // 1 without improvement
    addEvaluatedCandidate(st, { components: { system_prompt: 't' }, parents: [0], val_scores: [1, 0] }); // better: reset to 0
    expect(st.iterations_without_improvement).toBe(0);
    expect(planIteration(st, opts).kind).toBe('reflect'); // 1
    addEvaluatedCandidate(st, { components: { system_prompt: 'u' }, parents: [1], val_scores: [0, 1] }); // equal mean: no reset
    expect(planIteration(st, opts).kind).toBe('reflect'); // 2
    expect(planIteration(st, opts)).toEqual({ kind: 'stop', cause: 'max_no_improvement', reason: '2 iterations without improvement (max_no_improvement=2)' });
  });
  test('the stop signal ends the run with stop_reason stop_signal, before any other cause', () => {
    const a = fresh([0, 0]);
    expect(planIteration(a, { ...base, max_iterations: 0 }, { stop_requested: true })).toEqual({ kind: 'stop', cause: 'stop_signal', reason: 'stop_signal' });
    expect(a.counters.iterations).toBe(0);
    expect(summarizeState(a).stop_reason).toBe('stop_signal');
  });
});

describe('reflection usage', () => {
  test('tokens and cost are summed per reflection call; unknown prices stay null until one is known', () => {
    const st = initState({ seed: 1, components: { system_prompt: 's' }, val_size: 2, train_size: 2, max_metric_calls: 10, minibatch_size: 2 });
    expect(summarizeState(st).reflection_usage).toEqual({ calls: 0, tokens_in: 0, tokens_out: 0, cost_usd: null });
    recordReflectionUsage(st, { calls: 2, usage: { prompt_tokens: 100, completion_tokens: 10 }, cost_usd: null });
    expect(summarizeState(st).reflection_usage).toEqual({ calls: 2, tokens_in: 100, tokens_out: 10, cost_usd: null });
    recordReflectionUsage(st, { calls: 1, usage: { prompt_tokens: 50, completion_tokens: 5 }, cost_usd: 0.25 });
    recordReflectionUsage(st, { calls: 1, usage: { prompt_tokens: 1, completion_tokens: 1 }, cost_usd: 0.5 });
    expect(summarizeState(st).reflection_usage).toEqual({ calls: 4, tokens_in: 151, tokens_out: 16, cost_usd: 0.75 });
  });
});

describe('multi-component candidates', () => {
  test('seed components: default, given (system_prompt first), seed_prompt put first when absent', () => {
    expect(seedComponents({ seed_prompt: 'S' })).toEqual({ system_prompt: 'S' });
    const given = seedComponents({ seed_prompt: 'S', components: { system_prompt: 'P', format: 'F' } });
    expect(Object.entries(given)).toEqual([['system_prompt', 'P'], ['format', 'F']]);
    expect(Object.keys(seedComponents({ seed_prompt: 'S', components: { format: 'F' } }))).toEqual(['system_prompt', 'format']);
    expect(() => seedComponents({ seed_prompt: 'S', components: { format: 'F', system_prompt: 'P' } })).toThrow(
      'gepa.components must list system_prompt first; got the order ["format","system_prompt"]',
    );
    expect(() => seedComponents({ seed_prompt: 'S', components: {} })).toThrow(/gepa.components is empty/);
    expect(() => seedComponents({ seed_prompt: 'S', components: { '1x': 'a' } })).toThrow(/must be identifiers.*\["1x"\]/);
    expect(() => seedComponents({ seed_prompt: 'S', reflection_prompts: { format: 't' } })).toThrow(
      'gepa.reflection_prompts names components that do not exist: ["format"] (components: ["system_prompt"])',
    );
  });
  test('per-component reflection template, else the run template, else the default', () => {
    const cfg = { reflection_template: 'RUN {current_text}', reflection_prompts: { format: 'FMT {current_text}' } };
    expect(reflectionTemplateFor('format', cfg)).toBe('FMT {current_text}');
    expect(reflectionTemplateFor('system_prompt', cfg)).toBe('RUN {current_text}');
    expect(reflectionTemplateFor('system_prompt', {})).toBeUndefined();
    expect(buildReflectionPrompt({ component: 'format', current_text: 'x', records: [], rejected: [], template: reflectionTemplateFor('format', cfg) })).toBe('FMT x');
  });
  test('all components reach the policy, in order, as one system prompt', () => {
    expect(renderSystemPrompt({ system_prompt: 'A', format: '', tips: 'C' }, ['system_prompt', 'format', 'tips'])).toBe('A\n\nC');
  });
});

describe('merge', () => {
  const names = ['sys', 'fmt', 'tips'];
  const c = (id: number, parents: number[], comps: [string, string, string], val_scores: number[]): Candidate => ({
    id,
    components: { sys: comps[0], fmt: comps[1], tips: comps[2] },
    parents,
    iteration: id,
    val_scores,
    val_mean: val_scores.reduce((a, b) => a + b, 0) / val_scores.length,
    metric_calls: 0,
  });
  // c0 seed; c1 and c2 both children of c0, each changing one component; c3 a child of c1.
  //            inst:  0  1  2  3
  const c0 = c(0, [], ['A', 'X', 'P'], [0, 0, 0, 0]);
  const c1 = c(1, [0], ['B', 'X', 'P'], [1, 1, 0, 0]);
  const c2 = c(2, [0], ['A', 'Y', 'P'], [0, 0, 1, 1]);
  const empty = { tried_triplets: [] as string[], tried_merges: [] as string[] };

  test('ancestors follow every parent link', () => {
    const c3 = c(3, [1], ['B', 'X', 'Q'], [1, 1, 0, 1]);
    expect([...ancestorsOf([c0, c1, c2, c3], 3)].sort()).toEqual([0, 1]);
    expect(ancestorsOf([c0, c1, c2, c3], 0).size).toBe(0);
  });

  test('each component from the side that changed it', () => {
    // sys: c2 kept the ancestor's A, c1 changed it to B -> B from c1; fmt: c1 kept X -> Y from c2
    expect(mergeComponents(names, c0, c1, c2)).toEqual({ components: { sys: 'B', fmt: 'Y', tips: 'P' }, sources: [1, 2, 1] });
  });

  test('changed on both sides: the higher-scoring parent wins; a tie goes to the lower id', () => {
    const a = c(1, [0], ['B', 'X', 'Q'], [1, 0, 0, 0]); // mean 0.25
    const b = c(2, [0], ['C', 'Y', 'P'], [1, 1, 0, 0]); // mean 0.5
    expect(mergeComponents(names, c0, a, b)).toEqual({ components: { sys: 'C', fmt: 'Y', tips: 'Q' }, sources: [2, 2, 1] });
    const bTie = { ...b, val_scores: [0, 0, 0, 1], val_mean: 0.25 };
    expect(mergeComponents(names, c0, a, bTie).components.sys).toBe('B');
  });

  test('triplets: front survivors with a common, not better ancestor; never ancestor and descendant; never twice', () => {
    const cs = [c0, c1, c2];
    const ts = mergeTriplets(cs, names, empty);
    expect(ts).toEqual([{ a: 1, b: 2, ancestor: 0, merged: { components: { sys: 'B', fmt: 'Y', tips: 'P' }, sources: [1, 2, 1] } }]);
    // the same triplet once tried is not offered again
    const st = { ...initMergeState() };
    markMergeTried(st, ts[0]);
    expect(mergeTriplets(cs, names, st)).toEqual([]);
    // a child of c1 that beats it everywhere removes c1 from the fronts; c3 and c2 still share c0
    const c3 = c(3, [1], ['B', 'X', 'Q'], [1, 1, 1, 0]);
    expect(mergeTriplets([c0, c1, c2, c3], names, empty).map((t) => [t.a, t.b, t.ancestor])).toEqual([[2, 3, 0]]);
    // an ancestor better than one of the pair is not used
    const good0 = c(0, [], ['A', 'X', 'P'], [0, 1, 1, 0]); // mean 0.5, equal to c1's and c2's: allowed
    expect(mergeTriplets([good0, c1, c2], names, empty)).toHaveLength(1);
    const better0 = c(0, [], ['A', 'X', 'P'], [0, 1, 1, 1]); // mean 0.75 > both
    expect(mergeTriplets([better0, c1, c2], names, empty)).toEqual([]);
    // two candidates changing the same component the same way give nothing to merge
    const twin = c(2, [0], ['B', 'X', 'P'], [0, 0, 1, 1]);
    expect(mergeTriplets([c0, c1, twin], names, empty)).toEqual([]);
  });

  test('the subsample favours instances where the parents differ, never more than the val set', () => {
    const a = [1, 1, 1, 0, 0, 0.5, 0.5, 0.5];
    const b = [0, 0, 0, 1, 1, 0.5, 0.5, 0.5];
    const sub = mergeSubsample(a, b, 5, createRng(4));
    expect(sub).toHaveLength(5);
    expect(new Set(sub).size).toBe(5);
    // ceil(5/3) = 2 where a wins, 2 where b wins (both of them), 1 tie
    expect(sub.filter((i) => i <= 2)).toHaveLength(2);
    expect(sub.filter((i) => i === 3 || i === 4)).toHaveLength(2);
    expect(sub.filter((i) => i >= 5)).toHaveLength(1);
    expect(mergeSubsample([1, 0], [0, 1], 5, createRng(1)).sort()).toEqual([0, 1]);
    expect(mergeSubsample(a, b, 5, createRng(4))).toEqual(sub); // same rng state, same subsample
  });

  test('acceptance: at least the better parent on the subsample', () => {
    expect(acceptMerge([1, 1, 0], [0, 0, 1], [1, 1, 0])).toBe(true);
    expect(acceptMerge([1, 1, 0], [0, 0, 1], [1, 0, 0])).toBe(false);
  });

  test('engine: a merge is scheduled by an accepted child and tried on the next iteration, within the budget', () => {
    const opts: GepaOptions = { minibatch_size: 2, component_selector: 'round_robin', perfect_score: 1, rejected_memory: 3, use_merge: true, max_merge_invocations: 1 };
    const st = initState({ seed: 3, components: c0.components, val_size: 4, train_size: 10, max_metric_calls: 100, minibatch_size: 2 });
    addEvaluatedCandidate(st, { components: c0.components, parents: [], val_scores: c0.val_scores });
    recordAccepted(st, { components: c1.components, parents: [0], val_scores: c1.val_scores }, opts);
    // only two candidates: no triplet yet, so the scheduled merge waits and the iteration reflects
    expect(planIteration(st, opts).kind).toBe('reflect');
    expect(st.merge).toMatchObject({ due: 1, tested: 0, last_found_new: false });
    recordAccepted(st, { components: c2.components, parents: [0], val_scores: c2.val_scores }, opts);
    expect(st.merge!.due).toBe(1); // capped: max_merge_invocations=1
    const used = st.budget.metric_calls;
    const plan = planIteration(st, opts);
    expect(plan).toMatchObject({ kind: 'merge', parent_ids: [1, 2], ancestor: 0, components: { sys: 'B', fmt: 'Y', tips: 'P' } });
    if (plan.kind !== 'merge') throw new Error('expected a merge');
    expect(plan.subsample.slice().sort()).toEqual([0, 1, 2, 3]);
    const v = judgeMerge(st, plan, plan.subsample.map(() => 1));
    expect(v).toEqual({ accept: true, parent_sums: [2, 2], child_sum: 4 });
    expect(st.budget.metric_calls).toBe(used + 4);
    const m = recordMergeAccepted(st, { components: plan.components, parents: plan.parent_ids, val_scores: [1, 1, 1, 1] });
    expect(m.parents).toEqual([1, 2]);
    expect(st.budget.metric_calls).toBe(used + 8);
    expect(summarizeState(st).merges).toEqual({ tested: 1, accepted: 1 });
    // no more merges after max_merge_invocations
    recordAccepted(st, { components: { sys: 'Z', fmt: 'Y', tips: 'P' }, parents: [3], val_scores: [1, 1, 1, 1] }, opts);
    expect(planIteration(st, opts).kind).toBe('reflect');
  });

  test('engine: a merge that does not fit the budget is not planned', () => {
    const opts: GepaOptions = { minibatch_size: 1, component_selector: 'round_robin', perfect_score: 1, rejected_memory: 3, use_merge: true, max_merge_invocations: 5 };
    // 3 candidates x 4 val = 12 used; reflective worst case 1+1+4 = 6 fits 19, a merge needs 4+4 = 8
    const st = initState({ seed: 3, components: c0.components, val_size: 4, train_size: 10, max_metric_calls: 19, minibatch_size: 2 });
    addEvaluatedCandidate(st, { components: c0.components, parents: [], val_scores: c0.val_scores });
    recordAccepted(st, { components: c1.components, parents: [0], val_scores: c1.val_scores }, opts);
    recordAccepted(st, { components: c2.components, parents: [0], val_scores: c2.val_scores }, opts);
    expect(planIteration(st, opts).kind).toBe('reflect');
    expect(st.merge!.tested).toBe(0);
  });
});

describe('knobs of the founding spec', () => {
  const base: GepaOptions = { minibatch_size: 2, component_selector: 'round_robin', perfect_score: 1, rejected_memory: 3 };
  test('min_improvement_threshold: the child mean must beat the parent mean by at least t; 0 keeps the strict rule', () => {
    expect(acceptIfImproved([0, 0.5], [0.5, 0.5], 0)).toBe(true);
    expect(acceptIfImproved([0.5, 0.5], [0.5, 0.5], 0)).toBe(false);
    expect(acceptIfImproved([0, 0.5], [0.5, 0.5], 0.25)).toBe(true); // 0.5 - 0.25 = 0.25
    expect(acceptIfImproved([0, 0.5], [0.5, 0.5], 0.3)).toBe(false);
    const st = initState({ seed: 1, components: { system_prompt: 's' }, val_size: 2, train_size: 10, max_metric_calls: 100, minibatch_size: 2 });
    addEvaluatedCandidate(st, { components: { system_prompt: 's' }, parents: [], val_scores: [0, 0] });
    const ok = [true, true];
    expect(judgeChild(st, { scores: [0, 0], format_ok: ok }, { scores: [0, 1], format_ok: ok }, { min_improvement_threshold: 0.6 })).toEqual({ accept: false, reason: 'not better' });
    expect(judgeChild(st, { scores: [0, 0], format_ok: ok }, { scores: [1, 1], format_ok: ok }, { min_improvement_threshold: 0.6 })).toEqual({ accept: true, reason: null });
  });
  test('pool_size: at most that many live candidates, pruned by the Pareto rule, never the best; pruned ones are never parents', () => {
    const opts = { ...base, pool_size: 2 };
    const st = initState({ seed: 5, components: { system_prompt: 's' }, val_size: 3, train_size: 10, max_metric_calls: 1000, minibatch_size: 2 });
    addEvaluatedCandidate(st, { components: { system_prompt: 's0' }, parents: [], val_scores: [0, 0, 0] });
    recordAccepted(st, { components: { system_prompt: 's1' }, parents: [0], val_scores: [1, 0, 0] }, opts);
    expect(st.candidates.map((c) => !!c.pruned)).toEqual([false, false]); // 2 fit the pool
    recordAccepted(st, { components: { system_prompt: 's2' }, parents: [1], val_scores: [0, 1, 1] }, opts);
    expect(st.candidates.map((c) => !!c.pruned)).toEqual([true, false, false]); // 3 live: the seed is on no front any more
    recordAccepted(st, { components: { system_prompt: 's3' }, parents: [1], val_scores: [1, 1, 0] }, opts);
    // 3 live: c1 (front of instance 0, shared with c3) is redundant and goes; c2 is the best, kept
    expect(st.candidates.map((c) => !!c.pruned)).toEqual([true, true, false, false]);
    expect(summarizeState(st)).toMatchObject({ n_candidates: 4, n_live_candidates: 2, best_candidate_id: 2 });
    for (let i = 0; i < 50; i++) expect([2, 3]).toContain(selectParentFromFront(st.candidates, st.rng));
    expect(prunePool(st.candidates, 1)).toEqual([3]); // down to one: only the best stays
  });
  test('rollouts_per_problem: a problem scores the mean of its samples, every sample is a metric call, budgets scale', () => {
    expect(problemMeans([[1, 0, 1, 0], [1, 1]])).toEqual([0.5, 1]);
    expect(problemSpreads([[1, 0, 1, 0], [1, 1], [0.3]])).toEqual([0.5, 0, 0]);
    expect(minimumBudget(10, 3, 4)).toBe(4 * (10 + 16));
    expect(() => checkInitialBudget(100, 10, 3, 4)).toThrow(/each × 4 rollouts_per_problem.*it needs at least 104/);
    expect(gepaValSize({ available: 100, max_metric_calls: 600, minibatch: 3, rollouts_per_problem: 4 })).toBe(33);
    const st = initState({ seed: 1, components: { system_prompt: 's' }, val_size: 4, train_size: 10, max_metric_calls: 200, minibatch_size: 3, rollouts_per_problem: 4 });
    addEvaluatedCandidate(st, { components: { system_prompt: 's' }, parents: [], val_scores: [0, 0.5, 0, 0] });
    expect(st.budget.metric_calls).toBe(16);
    planIteration(st, { ...base, minibatch_size: 3 });
    recordParentMinibatch(st, [0.25, 0, 0.5], base);
    expect(st.budget.metric_calls).toBe(28);
    const text = formatRecords([
      { input: 'Q1', output: 'a', reward: 1, feedback: 'ok' },
      { input: 'Q1', output: 'b', reward: 0, feedback: 'wrong' },
      { input: 'Q2', output: 'c', reward: 0, feedback: 'wrong' },
    ]);
    expect(text).toContain("(score 1; this problem's 2 samples: mean 0.5, spread 0.5) ok");
    expect(text).toContain("(score 0; this problem's 2 samples: mean 0.5, spread 0.5) wrong");
    expect(text.match(/this problem's/g)).toHaveLength(2);
  });
  test('debug reflector: a documented deterministic edit from the first failure, then a fixed check line, then unchanged', () => {
    const recs = [
      { input: 'Q1', output: '5', reward: 1, feedback: 'Correct.' },
      { input: 'Q2', output: '7', reward: 0, feedback: 'Expected 8 (got 7).\nmore' },
    ];
    const once = debugProposal('Answer.', recs);
    expect(once).toBe('Answer.\nNote: Expected 8 (got 7).');
    const twice = debugProposal(once, recs);
    expect(twice).toBe('Answer.\nNote: Expected 8 (got 7).\nCheck your answer before you reply.');
    expect(debugProposal(twice, recs)).toBe(twice);
    expect(parseReflectionReply(debugProposal(twice, recs), twice)).toMatchObject({ ok: false, reason: 'unchanged' });
  });
});
