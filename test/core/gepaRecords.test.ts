/** GEPA's rules moved out of the workflow and the activity: stop causes, options, rejection memory, row layouts, the proposal protocol. */
import {
  addEvaluatedCandidate,
  canAfford,
  spend,
  afterFirstReply,
  afterRepairReply,
  emptyTally,
  FENCE_PREFILL,
  FENCE_REPAIR_PROMPT,
  finalMetricsRow,
  firstTurn,
  closedAtBound,
  gepaOptions,
  initState,
  metricsRow,
  minibatchMetricColumns,
  minibatchProposalColumns,
  noMetricSpend,
  costSoFar,
  planIteration,
  promptRow,
  proposalCharBound,
  proposalGrammar,
  proposalOutcome,
  CLOSING_FENCE_TOKENS,
  proposalRows,
  recordMetricCost,
  recordRejectedChild,
  recordRejectedReflection,
  reflectionErrorOutcome,
  reflectionProposal,
  stopDecision,
  STOP_CAUSES,
  tallyCall,
  type GepaOptions,
} from '../../src/core/gepa';

const fresh = (val: number[], budget = 1000) => {
  const st = initState({ seed: 1, components: { system_prompt: 's' }, val_size: val.length, train_size: 10, max_metric_calls: budget, minibatch_size: 2 });
  addEvaluatedCandidate(st, { components: { system_prompt: 's' }, parents: [], val_scores: val });
  return st;
};
const base: GepaOptions = { minibatch_size: 2, component_selector: 'round_robin', perfect_score: 1, rejected_memory: 2 };

describe('stop decision', () => {
  test('the causes in their order: signal, cost, max_iterations, score_threshold, max_no_improvement, budget', () => {
    expect(STOP_CAUSES).toEqual(['stop_signal', 'cost_budget', 'max_iterations', 'score_threshold', 'max_no_improvement', 'budget']);
    const st = fresh([1, 1], 8); // val 2 spent
    st.budget.metric_calls = 3; // the next iteration needs 2*2+2 = 6 > 5 left
    const all = { ...base, max_cost_usd: 0.01, max_iterations: 0, score_threshold: 1, max_no_improvement: 1 };
    st.iterations_without_improvement = 1;
    const cost = { metric_usd: 0.02, metric_calls: 2, max_usd_per_call: 0.01, reflection_usd: 0, reflection_calls: 0 };
    expect(stopDecision(st, all, { stop_requested: true, cost })?.cause).toBe('stop_signal');
    expect(stopDecision(st, all, { cost })?.cause).toBe('cost_budget');
    expect(stopDecision(st, all)?.cause).toBe('max_iterations');
    expect(stopDecision(st, { ...all, max_iterations: undefined })).toEqual({ cause: 'score_threshold', reason: 'best val score 1 >= score_threshold=1' });
    expect(stopDecision(st, { ...all, max_iterations: undefined, score_threshold: undefined })?.cause).toBe('max_no_improvement');
    expect(stopDecision(st, base)).toEqual({ cause: 'budget', reason: 'budget: 3/8 metric calls used; the next iteration could need 6' });
    expect(stopDecision(fresh([0, 0]), base)).toBeNull();
  });
  test("budget_rule=reference (gepa-ai/gepa's rule): an iteration starts while the limit is not reached, and its spending can pass it", () => {
    const st = initState({ seed: 1, components: { system_prompt: 's' }, val_size: 2, train_size: 10, max_metric_calls: 8, minibatch_size: 2, budget_rule: 'reference' });
    addEvaluatedCandidate(st, { components: { system_prompt: 's' }, parents: [], val_scores: [1, 1] });
    st.budget.metric_calls = 3; // strict would stop here: the next iteration could need 6 > 5 left
    expect(stopDecision(st, base)).toBeNull();
    expect(canAfford(st.budget, 6)).toBe(true);
    spend(st.budget, 6); // 9 of 8: allowed under this rule
    expect(st.budget.metric_calls).toBe(9);
    expect(stopDecision(st, base)).toEqual({ cause: 'budget', reason: 'budget: 9/8 metric calls used; the limit is reached (gepa.budget_rule=reference: checked before each iteration)' });
    // the seed evaluation plus one iteration must still fit, under either rule
    expect(() => initState({ seed: 1, components: { system_prompt: 's' }, val_size: 2, train_size: 10, max_metric_calls: 7, minibatch_size: 2, budget_rule: 'reference' })).toThrow(/needs at least 8/);
    // strict (the default) never passes the limit
    const strict = fresh([1, 1], 8);
    expect(strict.budget.rule).toBeUndefined();
    expect(() => spend(strict.budget, 7)).toThrow(/would exceed the budget/);
  });
  test('the cost stop is checked only with max_cost_usd, and its reason becomes the stop_reason', () => {
    const st = fresh([0, 0]);
    const cost = { metric_usd: 5, metric_calls: 2, max_usd_per_call: 2.5, reflection_usd: 0, reflection_calls: 0 };
    expect(stopDecision(st, base, { cost })).toBeNull();
    const plan = planIteration(st, { ...base, max_cost_usd: 10 }, { cost });
    expect(plan).toMatchObject({ kind: 'stop', cause: 'cost_budget', reason: expect.stringMatching(/^cost budget: spent \$5\.0000 of max_cost_usd \$10/) });
    expect(st.stop_reason).toBe(plan.kind === 'stop' ? plan.reason : null);
    expect(st.counters.iterations).toBe(0);
  });
  test('the metric spend: summed, the costliest per-call rate kept, read with the state for the cost stop', () => {
    const s = noMetricSpend();
    recordMetricCost(s, 0.6, 3);
    recordMetricCost(s, 0.1, 1);
    recordMetricCost(s, 0, 0);
    expect(s.metric_cost_usd).toBeCloseTo(0.7, 12);
    expect(s.max_usd_per_call).toBeCloseTo(0.2, 12);
    const st = fresh([0, 0]);
    st.reflection_usage = { calls: 2, tokens_in: 0, tokens_out: 0, cost_usd: null };
    expect(costSoFar(s, st)).toEqual({ metric_usd: s.metric_cost_usd, metric_calls: 2, max_usd_per_call: s.max_usd_per_call, reflection_usd: 0, reflection_calls: 2 });
  });
});

test('every gepa setting the engine reads is mapped into its options', () => {
  const g = { minibatch_size: 4, component_selector: 'all' as const, max_iterations: 7, score_threshold: 0.9, max_no_improvement: 3, perfect_score: 0.5, rejected_memory: 1, use_merge: true, max_merge_invocations: 2, pool_size: 6, min_improvement_threshold: 0.1, format_guard: true, max_cost_usd: 3 };
  expect(gepaOptions(g)).toEqual(g);
});

describe('rejection memory', () => {
  test('a reflection without usable text is counted by its kind; only the newest rejected_memory are kept, each text clipped', () => {
    const st = fresh([0, 0]);
    recordRejectedReflection(st, 'system_prompt', { text: 'a', reason: 'unfenced', first_reply_unfenced: true }, 2);
    recordRejectedReflection(st, 'system_prompt', { text: 'b', reason: 'reflection error', first_reply_unfenced: false }, 2);
    recordRejectedReflection(st, 'system_prompt', { text: 'x'.repeat(3000), reason: null, first_reply_unfenced: false }, 2);
    expect(st.counters).toMatchObject({ rejected: 3, rejected_unfenced: 2, reflection_errors: 1 });
    expect(st.rejected.system_prompt.map((r) => [r.reason, r.text.length])).toEqual([['reflection error', 1], ['empty', 2000]]);
  });
  test('a child that lost on the minibatch: only the components it rewrote are remembered, with both sums', () => {
    const st = initState({ seed: 1, components: { system_prompt: 's', sub: 'u' }, val_size: 2, train_size: 10, max_metric_calls: 100, minibatch_size: 2 });
    recordRejectedChild(
      st,
      { parent: { system_prompt: 's', sub: 'u' }, child: { system_prompt: 's', sub: 'u2' }, components: ['system_prompt', 'sub'], reason: 'not better', parent_score: 2, child_score: 1, unfenced_first: new Set(['sub']) },
      5,
    );
    expect(st.rejected.system_prompt).toEqual([]);
    expect(st.rejected.sub).toEqual([{ text: 'u2', reason: 'not better', parent_score: 2, child_score: 1, first_reply_unfenced: true }]);
    expect(st.counters).toMatchObject({ rejected: 1, rejected_unfenced: 0 });
  });
});

describe('rows', () => {
  test('a metrics row: the run totals, then the event and its columns; the final row keeps its own key', () => {
    const st = fresh([1, 0]);
    const row = metricsRow(st, 'seed');
    expect(row).toEqual({
      key: 'gepa-0-2', step: 0, 'gepa/iteration': 0, 'gepa/metric_calls': 2, 'gepa/best_val_score': 0.5, 'gepa/n_candidates': 1, 'gepa/accepted': 0, 'gepa/rejected': 0,
      'gepa/skipped_perfect': 0, 'gepa/cache_hits': 0, 'gepa/reflection_calls': 0, 'gepa/reflection_tokens_in': 0, 'gepa/reflection_tokens_out': 0, 'gepa/reflection_cost_usd': null, 'gepa/event': 'seed',
    });
    // an iteration's row is keyed by its own iteration (parallel proposals: a later one may already be planned)
    expect(metricsRow(st, 'rejected', {}, 0)).toMatchObject({ key: 'gepa-0-2', step: 0, 'gepa/iteration': 0 });
    st.counters.iterations = 3;
    expect(metricsRow(st, 'rejected', {}, 1)).toMatchObject({ key: 'gepa-1-2', step: 1, 'gepa/iteration': 1 });
    expect(Object.keys(metricsRow(st, 'rejected', { 'gepa/parent_minibatch': 1 })).slice(-2)).toEqual(['gepa/event', 'gepa/parent_minibatch']);
    const fin = finalMetricsRow(st, { test_score: 0.75, seed_test_score: 0.5, n_test: 4 });
    expect(Object.keys(fin)[0]).toBe('key');
    expect(fin).toMatchObject({ key: 'gepa-final', 'gepa/event': 'final', 'final/best_score': 0.5, 'final/seed_score': 0.5, 'final/test_score': 0.75, 'final/seed_test_score': 0.5, 'final/n_test': 4 });
    expect(finalMetricsRow(st, null)).not.toHaveProperty('final/test_score');
  });
  test('a prompt row per candidate, in the phase folder or gepa', () => {
    const st = fresh([1, 0]);
    expect(promptRow(st, 0, undefined)).toEqual({ key: 'cand-0', candidate_id: 0, parent_ids: [], components: { system_prompt: 's' }, text: 's', val_score: 0.5, val_scores: [1, 0], iteration: 0, metric_calls: 2, phase: 'gepa' });
    expect(promptRow(st, 0, 'round1_gepa').phase).toBe('round1_gepa');
  });
  test('proposal rows: one per component with the outcome, the text clipped; minibatch columns with spreads only for several rollouts', () => {
    const p = { ok: true, text: 'y'.repeat(2500), reason: null, usage: { prompt_tokens: 10, completion_tokens: 3 }, cost_usd: 0.5, calls: 2, first_reply_unfenced: true, first_reply_excerpt: 'hi', closed_at_bound: false };
    const row = reflectionProposal('sub', p);
    expect(row).toMatchObject({ component: 'sub', ok: true, reason: null, first_reply_unfenced: true, first_reply_excerpt: 'hi', reflection_calls: 2, tokens_in: 10, tokens_out: 3, cost_usd: 0.5 });
    expect((row.text as string).length).toBe(2000);
    expect(proposalRows(3, 1, [row], 'not better')[0]).toMatchObject({ key: 'prop-3-sub', iteration: 3, parent_id: 1, outcome: 'not better', component: 'sub' });
    const parent = { scores: [1, 0], spreads: [0, 0.5] };
    const child = { scores: [1, 1], spreads: [0.5, 0.5] };
    expect(minibatchMetricColumns(parent, child, 1)).toEqual({ 'gepa/parent_minibatch': 1, 'gepa/child_minibatch': 2 });
    expect(minibatchMetricColumns(parent, child, 2, 0.75)).toEqual({ 'gepa/parent_minibatch': 1, 'gepa/child_minibatch': 2, 'gepa/child_val': 0.75, 'gepa/parent_minibatch_spread': 0.25, 'gepa/child_minibatch_spread': 0.5 });
    expect(minibatchProposalColumns(parent, child, 1)).toEqual({ parent_minibatch: [1, 0], child_minibatch: [1, 1] });
    expect(minibatchProposalColumns(parent, child, 3)).toEqual({ parent_minibatch: [1, 0], child_minibatch: [1, 1], parent_minibatch_spread: [0, 0.5], child_minibatch_spread: [0.5, 0.5] });
  });
});

describe('the proposal protocol', () => {
  test('without fence_repair one turn: the reply is the outcome; begun inside the fence where the provider can continue a reply', () => {
    expect(firstTurn('P', { prefill: false, grammar: false }, 160)).toEqual({ messages: [{ role: 'user', content: 'P' }] });
    expect(firstTurn('P', { prefill: false, grammar: true }, 160)).toEqual({ messages: [{ role: 'user', content: 'P' }] });
    expect(firstTurn('P', { prefill: true, grammar: false }, 160)).toEqual({ messages: [{ role: 'user', content: 'P' }], prefill: FENCE_PREFILL, stop: ['```'] });
    const r = afterFirstReply('P', { text: 'Be brief.' }, 'Answer.', { fence_repair: false, supports_prefill: false });
    expect(r).toEqual({ parsed: { ok: true, text: 'Be brief.' }, repair: null, first_reply_excerpt: null });
  });
  test('where the provider also takes a grammar, the continuation is bounded by the reflection max_tokens and must close the fence', () => {
    const t = firstTurn('P', { prefill: true, grammar: true }, 160);
    expect(t).toEqual({ messages: [{ role: 'user', content: 'P' }], prefill: FENCE_PREFILL, stop: ['```'], grammar: proposalGrammar(156), char_bound: 156 });
    expect(CLOSING_FENCE_TOKENS).toBe(4);
    expect(proposalCharBound(160)).toBe(156);
    expect(proposalCharBound(512)).toBe(508);
    expect(proposalCharBound(3)).toBe(1); // never a grammar that cannot hold one character
    // one visible non-backtick character, then up to n-1 more without a backtick, then the closing fence
    expect(proposalGrammar(156)).toBe('root ::= [^` \\t\\r\\n] [^`]{0,155} "```"');
    expect(proposalGrammar(1)).toBe('root ::= [^` \\t\\r\\n] "```"');
    expect(() => proposalGrammar(0)).toThrow(/positive whole number of characters \(got 0\)/);
    expect(() => proposalGrammar(2.5)).toThrow(/got 2.5/);
  });
  test('a reply that filled the bound was closed by the grammar, not the model: adopted, and marked', () => {
    const t = firstTurn('P', { prefill: true, grammar: true }, 14); // bound 10 characters
    expect(closedAtBound(t, { text: '```\nBe brief.```', finish_reason: 'stop' })).toBe(false); // 9 characters: the model closed it
    expect(closedAtBound(t, { text: '```\nBe briefer```', finish_reason: 'stop' })).toBe(true); // 10: the grammar allowed nothing else
    expect(closedAtBound(firstTurn('P', { prefill: true, grammar: false }, 14), { text: '```\nBe briefer and more```' })).toBe(false);
    const tally = { calls: 1, usage: { prompt_tokens: 1, completion_tokens: 1 }, cost_usd: null };
    expect(proposalOutcome({ ok: true, text: 'Be briefer' }, tally, null, null, true)).toMatchObject({ ok: true, closed_at_bound: true });
    expect(reflectionProposal('system_prompt', proposalOutcome({ ok: true, text: 'Be briefer' }, tally, null, null, true))).toMatchObject({ closed_at_bound: true });
    expect(proposalOutcome({ ok: true, text: 'Be brief.' }, tally, null)).toMatchObject({ closed_at_bound: false });
  });
  test('a prefilled reply is closed when the model ended it, and stays truncated when the token limit cut it', () => {
    // the provider returns the prefill, the text and the stop string it stopped at
    expect(afterFirstReply('P', { text: '```\nBe brief.```', finish_reason: 'stop' }, 'Answer.', { fence_repair: false, supports_prefill: true }).parsed).toEqual({ ok: true, text: 'Be brief.' });
    // the model ended its reply before writing the closing fence: it is complete
    expect(afterFirstReply('P', { text: '```\nBe brief.', finish_reason: 'stop' }, 'Answer.', { fence_repair: false, supports_prefill: true }).parsed).toEqual({ ok: true, text: 'Be brief.' });
    expect(afterFirstReply('P', { text: '```\nBe bri', finish_reason: 'length' }, 'Answer.', { fence_repair: false, supports_prefill: true }).parsed).toMatchObject({ ok: false, reason: 'truncated' });
  });
  test('with fence_repair an unfenced reply earns one repair turn in the same conversation', () => {
    const r = afterFirstReply('P', { text: 'Be brief.' }, 'Answer.', { fence_repair: true, supports_prefill: false });
    expect(r.parsed).toMatchObject({ ok: false, reason: 'unfenced' });
    expect(r.first_reply_excerpt).toBe('Be brief.');
    expect(r.repair).toEqual({ messages: [{ role: 'user', content: 'P' }, { role: 'assistant', content: 'Be brief.' }, { role: 'user', content: FENCE_REPAIR_PROMPT }] });
    // a truncated reply is rejected, never repaired
    expect(afterFirstReply('P', { text: 'Be', finish_reason: 'length' }, 'Answer.', { fence_repair: true, supports_prefill: false }).repair).toBeNull();
  });
  test('the repair reply replaces the first only when usable', () => {
    const first = afterFirstReply('P', { text: 'Be brief.' }, 'Answer.', { fence_repair: true, supports_prefill: false }).parsed;
    expect(afterRepairReply(first, { text: '```\nBe brief.\n```' }, 'Answer.')).toEqual({ ok: true, text: 'Be brief.' });
    expect(afterRepairReply(first, { text: 'still prose' }, 'Answer.')).toBe(first);
  });
  test('outcomes: usage summed over calls; a task guard refuses an adopted text; a rejected text is clipped; an error is a rejection', () => {
    const t = emptyTally();
    tallyCall(t, { usage: { prompt_tokens: 5, completion_tokens: 1 }, cost_usd: null });
    tallyCall(t, { usage: { prompt_tokens: 7, completion_tokens: 2 }, cost_usd: 0.25 });
    expect(t).toEqual({ calls: 2, usage: { prompt_tokens: 12, completion_tokens: 3 }, cost_usd: 0.25 });
    expect(proposalOutcome({ ok: true, text: 'T' }, t, 'first')).toEqual({ ok: true, text: 'T', reason: null, usage: t.usage, cost_usd: 0.25, calls: 2, first_reply_unfenced: true, first_reply_excerpt: 'first', closed_at_bound: false });
    expect(proposalOutcome({ ok: true, text: 'T' }, t, null, 'copies an id')).toMatchObject({ ok: false, reason: 'task guard', text: 'copies an id. Proposed: T' });
    expect(proposalOutcome({ ok: false, reason: 'unclosed fence', text: 'z'.repeat(30_000) }, t, null).text.length).toBe(20_000);
    expect(reflectionErrorOutcome(`reflection error: ${'e'.repeat(600)}`)).toEqual({
      ok: false, text: `reflection error: ${'e'.repeat(600)}`.slice(0, 500), reason: 'reflection error', usage: { prompt_tokens: 0, completion_tokens: 0 }, cost_usd: null, calls: 0, first_reply_unfenced: false, first_reply_excerpt: null, closed_at_bound: false,
    });
  });
});
