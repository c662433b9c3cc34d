import {
  addEvaluatedCandidate,
  canAfford,
  costBudgetStop,
  evalCacheEnabled,
  fillScores,
  initState,
  judgeChild,
  lookupCached,
  mayDispatch,
  planIteration,
  planWorstCase,
  promptKey,
  recordAccepted,
  recordParentMinibatch,
  release,
  reserve,
  spend,
  storeScores,
  type Budget,
  type GepaOptions,
  type GepaState,
  type Payment,
} from '../../src/core/gepa';

const opts: GepaOptions = { minibatch_size: 3, component_selector: 'round_robin', perfect_score: 1, rejected_memory: 5 };
const seeded = (budget: number, extra: Partial<Parameters<typeof initState>[0]> = {}): GepaState => {
  const st = initState({ seed: 5, components: { system_prompt: 's' }, val_size: 6, train_size: 12, max_metric_calls: budget, minibatch_size: 3, ...extra });
  addEvaluatedCandidate(st, { components: { system_prompt: 's' }, parents: [], val_scores: [0, 0, 1, 0, 1, 0] });
  return st;
};

describe('parallel proposals: the budget reservation (budget.ts, parallel.ts)', () => {
  test('reserve, spend from the reservation, release: spent + reserved never passes the limit', () => {
    const b = { metric_calls: 0, max_metric_calls: 30 };
    const r1 = reserve(b, 12);
    const r2 = reserve(b, 12);
    expect(b).toEqual({ metric_calls: 0, max_metric_calls: 30, reserved: 24 });
    expect(canAfford(b, 7)).toBe(false); // 0 + 24 + 7 > 30
    expect(canAfford(b, 6)).toBe(true);
    expect(() => reserve(b, 7)).toThrow(/reserving 7 metric calls would exceed the budget \(0\/30 used, 24 reserved\)/);
    spend(b, 3, r1);
    spend(b, 3, r1);
    expect(b).toEqual({ metric_calls: 6, max_metric_calls: 30, reserved: 18 });
    expect(r1.calls).toBe(6);
    expect(release(b, r1)).toBe(6); // the val set it never paid: its child was rejected
    expect(b).toEqual({ metric_calls: 6, max_metric_calls: 30, reserved: 12 });
    expect(canAfford(b, 12)).toBe(true); // 6 + 12 + 12 = 30
    expect(() => spend(b, 13, r2)).toThrow(/spending 13 metric calls exceeds the 12 this iteration still holds reserved/);
    expect(() => spend(b, 13)).toThrow(/would exceed the budget \(6\/30 used, 12 reserved\)/);
    spend(b, 12, r2);
    expect(release(b, r2)).toBe(0);
    expect(b).toEqual({ metric_calls: 18, max_metric_calls: 30 }); // nothing in flight: no reserved field
  });

  test('budget_rule=reference: a reservation is held but never refused, and an iteration starts while fewer than the limit are spent', () => {
    const b: Budget = { metric_calls: 25, max_metric_calls: 30, rule: 'reference' };
    const r = reserve(b, 12);
    reserve(b, 12);
    expect(b.reserved).toBe(24);
    expect(canAfford(b, 12)).toBe(true);
    spend(b, 12, r);
    expect(b.metric_calls).toBe(37);
    expect(canAfford(b, 1)).toBe(false);
  });

  test("an iteration's worst case: two minibatches and the val set (times rollouts), a merge's subsample and the val set", () => {
    const st = seeded(100, { rollouts_per_problem: 2 });
    expect(planWorstCase(st, { kind: 'reflect', parent_id: 0, minibatch: [1, 2, 3] })).toBe(24); // (3 + 3 + 6) x 2
    expect(planWorstCase(seeded(100), { kind: 'merge', parent_ids: [0, 0], ancestor: 0, components: {}, sources: [], subsample: [0, 1, 2, 3, 4] })).toBe(11); // 5 + 6
    expect([0, 1, 2, 3].map((n) => mayDispatch(n, 3))).toEqual([true, true, true, false]);
  });

  test('with iterations in flight, a stop decision waits (nothing dispatched, no stop_reason) until what lands settles it', () => {
    const st = seeded(30); // seed paid 6; an iteration's worst case is 3 + 3 + 6 = 12
    const a = planIteration(st, opts, { in_flight: 0 });
    expect(a.kind).toBe('reflect');
    const ra = reserve(st.budget, planWorstCase(st, a as Extract<typeof a, { kind: 'reflect' }>));
    const b = planIteration(st, opts, { in_flight: 1 }); // 6 + 12 + 12 = 30 fits
    expect(b.kind).toBe('reflect');
    const rb = reserve(st.budget, 12);
    const c = planIteration(st, opts, { in_flight: 2 }); // 6 + 24 + 12 = 42 does not
    expect(c).toMatchObject({ kind: 'wait', cause: 'budget' });
    expect(st.stop_reason).toBeNull();
    expect(st.counters.iterations).toBe(2);
    // a lands: its parent minibatch was perfect (3 paid), 9 go back
    expect(recordParentMinibatch(st, [1, 1, 1], opts, { from: ra })).toBe(true);
    release(st.budget, ra);
    expect(st.budget).toMatchObject({ metric_calls: 9, reserved: 12 });
    expect(planIteration(st, opts, { in_flight: 1 }).kind).toBe('wait'); // 9 + 12 + 12 = 33 > 30
    // b lands having paid its whole worst case
    spend(st.budget, 12, rb);
    release(st.budget, rb);
    expect(planIteration(st, opts, { in_flight: 0 })).toMatchObject({ kind: 'stop', cause: 'budget' });
    expect(st.stop_reason).toBe('budget: 21/30 metric calls used; the next iteration could need 12');
    expect(st.budget.metric_calls).toBeLessThanOrEqual(30);
  });

  test('the stop signal with iterations in flight waits for them, then stops', () => {
    const st = seeded(100);
    planIteration(st, opts);
    expect(planIteration(st, opts, { stop_requested: true, in_flight: 1 })).toMatchObject({ kind: 'wait', cause: 'stop_signal' });
    expect(planIteration(st, opts, { stop_requested: true, in_flight: 0 })).toMatchObject({ kind: 'stop', cause: 'stop_signal' });
  });

  test('the USD budget counts the iterations in flight, each estimated as the next one', () => {
    const c = { metric_usd: 1, metric_calls: 10, max_usd_per_call: 0.1, reflection_usd: 0, reflection_calls: 0 };
    // one iteration: 0.1 x (3 + 3 + 6) = 1.2; spent 1 + 1.2 <= 3.5
    expect(costBudgetStop(3.5, c, 3, 6)).toBeNull();
    expect(costBudgetStop(3.5, c, 3, 6, 2)).toBeNull(); // 1 + 2.4
    expect(costBudgetStop(3.5, c, 3, 6, 3)).toBe('cost budget: spent $1.0000 of max_cost_usd $3.5; the next iteration and the 2 in flight (~$3.6000) would exceed it');
  });

  test('P = 1: paying every evaluation from a reservation and releasing it changes no decision and no state', () => {
    // the same scripted run twice: once as before parallel proposals (no reservation), once as the loop now runs it
    const run = (reserved: boolean) => {
      const st = seeded(60);
      const seen: string[] = [];
      for (let n = 0; n < 20; n++) {
        const plan = planIteration(st, opts, { in_flight: 0 });
        seen.push(plan.kind);
        if (plan.kind !== 'reflect') break;
        const r = reserved ? reserve(st.budget, planWorstCase(st, plan)) : undefined;
        const pay: Payment = { from: r };
        const parent = plan.minibatch.map((i) => (i % 3 === 0 ? 1 : 0));
        if (!recordParentMinibatch(st, parent, opts, pay)) {
          const child = plan.minibatch.map((i) => (i % 2 === 0 ? 1 : 0));
          const v = judgeChild(st, { scores: parent, format_ok: [true, true, true] }, { scores: child, format_ok: [true, true, true] }, opts, pay);
          if (v.accept) recordAccepted(st, { components: { system_prompt: `c${n}` }, parents: [plan.parent_id], val_scores: [1, 0, 1, 0, 1, n % 2] }, opts, pay);
        }
        if (r) release(st.budget, r);
      }
      return { st, seen };
    };
    const before = run(false);
    const now = run(true);
    expect(now.seen).toEqual(before.seen);
    expect(now.st).toEqual(before.st);
    expect(before.st.candidates.length).toBeGreaterThan(1); // the script accepts children, so the comparison covers the val path
    expect(before.seen[before.seen.length - 1]).toBe('stop');
  });
});

describe('the evaluation cache (evalCache.ts)', () => {
  test('on by default exactly at temperature 0; true above 0 is refused, saying why and what was received', () => {
    expect(evalCacheEnabled(undefined, 0)).toBe(true);
    expect(evalCacheEnabled(undefined, 0.7)).toBe(false);
    expect(evalCacheEnabled(false, 0)).toBe(false);
    expect(evalCacheEnabled(true, 0)).toBe(true);
    expect(() => evalCacheEnabled(true, 0.7)).toThrow(/gepa.cache_evaluation=true needs a deterministic policy \(policy.temperature=0; got 0.7\)/);
  });

  test('lookup, fill and store by prompt and row', () => {
    const cache = {};
    const k = promptKey('Answer the question.');
    expect(promptKey('Answer the question.')).toBe(k);
    expect(promptKey('Answer the question!')).not.toBe(k);
    expect(lookupCached(cache, k, [0, 1, 2])).toEqual({ cached: [null, null, null], missing: [0, 1, 2] });
    storeScores(cache, k, [1, 3], [0.5, 1]);
    const { cached, missing } = lookupCached(cache, k, [0, 1, 2, 3]);
    expect(cached).toEqual([null, 0.5, null, 1]);
    expect(missing).toEqual([0, 2]);
    expect(fillScores(cached, [0, 0.25])).toEqual([0, 0.5, 0.25, 1]);
    expect(() => fillScores(cached, [0])).toThrow(/2 sampled scores were expected; got 1/);
    expect(lookupCached(cache, promptKey('other'), [1]).missing).toEqual([1]); // another text shares nothing
  });

  test('a candidate whose val rows partly came from the cache pays only the sampled ones', () => {
    const st = seeded(60, { rollouts_per_problem: 2 });
    expect(st.budget.metric_calls).toBe(12);
    const r = reserve(st.budget, 24);
    addEvaluatedCandidate(st, { components: { system_prompt: 't' }, parents: [0], val_scores: [1, 1, 1, 1, 1, 1] }, { from: r, paid: 2 });
    expect(st.budget.metric_calls).toBe(16); // 2 rows x 2 rollouts
    expect(release(st.budget, r)).toBe(20);
    expect(initState({ seed: 1, components: { s: 'x' }, val_size: 2, train_size: 4, max_metric_calls: 50, minibatch_size: 1, cache_evaluation: true }).eval_cache).toEqual({});
    expect(initState({ seed: 1, components: { s: 'x' }, val_size: 2, train_size: 4, max_metric_calls: 50, minibatch_size: 1 }).eval_cache).toBeNull();
  });
});
