/**
 * gepaOptimization (DESIGN §5 "GEPA"): reflective prompt evolution as a durable workflow. Every
 * rule is in src/core/gepa; this file runs the evaluations and the reflection the core asks for.
 * A candidate is named text components (gepa.components, system_prompt first), all rendered into
 * the policy's system prompt; with gepa.use_merge, an iteration may instead merge two front
 * candidates (core/gepa/merge.ts).
 * All randomness is in the state, which continues-as-new when Temporal suggests it, so a resumed
 * run ends with exactly the candidates of an uninterrupted one.
 */
import { ActivityFailure, ApplicationFailure, allHandlersFinished, condition, continueAsNew, defineQuery, log, setHandler, workflowInfo } from '@temporalio/workflow';
import { FAILURE } from '../failures';
import type { GepaInput } from '../config';
import {
  candidatePrompt,
  componentsToReflect,
  frontier,
  gepaValSize,
  problemMeans,
  problemSpreads,
  initState,
  judgeChild,
  planIteration,
  recordAccepted,
  recordParentMinibatch,
  recordMergeAccepted,
  recordReflectionUsage,
  judgeMerge,
  reflectionTemplateFor,
  seedComponents,
  recordRejected,
  renderSystemPrompt,
  STOP_SIGNAL,
  stopBySignal,
  summarizeState,
  addEvaluatedCandidate,
  type GepaOptions,
  type GepaState,
  type GepaSummary,
} from '../core/gepa';
import type { RunPaths } from '../activities/run';
import type { ProposeResult } from '../activities/reflection';
import { PROVIDER_CONFIG_FAILURE } from '../llm/errors';
import { logMetrics, parseInput, runIdOf, ts } from './common';
import { installControl, type ControlState } from './control';
import { progress, statusQueries } from './messages';
import { costBudgetStop } from '../core/gepa/cost';
import { runPolicy as runPolicyUncounted, type RunOn } from './policy';
import { gepaEvalSeed, gepaReflectionSeed } from '../core/seeds';

export const frontierQuery = defineQuery<ReturnType<typeof frontier>>('frontier');
export const candidatesQuery = defineQuery<Array<{ id: number; parents: number[]; val_mean: number; prompt: string; components: Record<string, string> }>>('candidates');

export interface GepaCarry {
  state: GepaState;
  paths: RunPaths;
  /** pause/stop and the metrics summary at the moment of continue-as-new (absent in older carries) */
  control?: ControlState;
  /** USD spent on metric calls so far (episodic tasks report it; for max_cost_usd) */
  metric_cost_usd?: number;
  max_usd_per_call?: number;
}

export interface GepaResult extends GepaSummary {
  run_id: string;
  run_dir: string;
  best_prompt: string;
  seed_val_score: number;
  /** the best candidate's components (best_prompt is them rendered as one system prompt) */
  best_components: Record<string, string>;
  candidates: Array<{ id: number; parents: number[]; val_mean: number }>;
  /** gepa.eval_test: the best candidate's and the seed's mean score on the first n_test test problems (else null) */
  test_score: number | null;
  seed_test_score: number | null;
  n_test: number | null;
}


export async function gepaOptimization(raw: unknown, carry?: GepaCarry): Promise<GepaResult> {
  const input = parseInput<GepaInput>('gepaOptimization', raw);
  const g = input.gepa;
  const runId = runIdOf(input.run);
  let state: GepaState | null = carry?.state ?? null;
  let phase = 'starting';
  const control = installControl({ initial: carry?.control });
  let finalTest: { test_score: number; seed_test_score: number; n_test: number } | null = null;
  setHandler(statusQueries.gepaOptimization, () => ({ phase, paused: control.paused, progress: progress(state?.budget.used ?? 0, state?.budget.limit ?? 0, 'metric calls'), ...(state ? summarizeState(state) : {}), ...(finalTest ?? {}), ...(state?.candidates.length ? { seed_val_score: state.candidates[0].val_mean } : {}) }));
  setHandler(frontierQuery, () => (state ? frontier(state) : { fronts: [], best_per_instance: [] }));
  setHandler(candidatesQuery, () =>
    state ? state.candidates.map((c) => ({ id: c.id, parents: c.parents, val_mean: c.val_mean, prompt: candidatePrompt(state!, c), components: c.components })) : [],
  );

  const paths =
    carry?.paths ??
    (await ts.prepareRun({ run_id: runId, output_dir: input.run.output_dir, workflow_type: 'gepaOptimization', workflow_id: workflowInfo().workflowId, config: input, phase: input.phase }));
  const sizes = await ts.taskSplitSizes({ task: input.task });
  // the val rows candidates are scored on: fixed at the start (a default that fits the budget, core/gepa/budget.ts)
  const valSize = state?.val_size ?? gepaValSize({ available: sizes.val, budget: g.max_metric_calls, minibatch: g.minibatch_size, requested: g.val_size, max_iterations: g.max_iterations, rollouts_per_problem: g.rollouts_per_problem });
  const valIdx = Array.from({ length: valSize }, (_, i) => i);
  const on: RunOn = { task: input.task, policy: input.policy, blob_dir: paths.blob_dir, parallelism: g.parallelism, trainer_heartbeat_timeout_s: input.run.trainer_heartbeat_timeout_s };
  let metricCost = carry?.metric_cost_usd ?? 0;
  let maxPerCall = carry?.max_usd_per_call ?? 0;
  const runPolicy: typeof runPolicyUncounted = async (...args) => {
    const ev = await runPolicyUncounted(...args);
    metricCost += ev.cost_usd;
    if (ev.indices.length) maxPerCall = Math.max(maxPerCall, ev.cost_usd / ev.indices.length);
    return ev;
  };
  // every evaluation samples rollouts_per_problem completions per problem; a problem scores their mean
  const k = g.rollouts_per_problem;
  const evaluate = async (split: 'train' | 'val' | 'test', idx: number[], prompt: string, seed: number) => {
    const ev = await runPolicy(on, split, idx, prompt, { seed, numSamples: k });
    return { ...ev, scores: problemMeans(ev.rewards_PG), spreads: problemSpreads(ev.rewards_PG) };
  };
  const opts: GepaOptions = {
    minibatch_size: g.minibatch_size,
    component_selector: g.component_selector,
    max_iterations: g.max_iterations,
    score_threshold: g.score_threshold,
    max_no_improvement: g.max_no_improvement,
    perfect_score: g.perfect_score,
    rejected_memory: g.rejected_memory,
    use_merge: g.use_merge,
    max_merge_invocations: g.max_merge_invocations,
    pool_size: g.pool_size,
    min_improvement_threshold: g.min_improvement_threshold,
  };
  const metricsRow = async (s: GepaState, extra: Record<string, unknown>) => {
    const sum = summarizeState(s);
    await logMetrics(paths, input.run, [
      {
        key: `gepa-${sum.iteration}-${sum.budget_used}`,
        step: sum.iteration,
        'gepa/iteration': sum.iteration,
        'gepa/metric_calls': sum.budget_used,
        'gepa/best_val_score': sum.best_val_score,
        'gepa/n_candidates': sum.n_candidates,
        'gepa/accepted': s.counters.accepted,
        'gepa/rejected': s.counters.rejected,
        'gepa/skipped_perfect': s.counters.skipped_perfect,
        'gepa/reflection_calls': sum.reflection_usage.calls,
        'gepa/reflection_tokens_in': sum.reflection_usage.tokens_in,
        'gepa/reflection_tokens_out': sum.reflection_usage.tokens_out,
        'gepa/reflection_cost_usd': sum.reflection_usage.cost_usd,
        ...extra,
      },
    ], control);
  };
  // with several rollouts per problem: the mean spread of the problems' scores on the minibatch
  const spreadCols = (parent: number[], child: number[]) =>
    k > 1 ? { 'gepa/parent_minibatch_spread': parent.reduce((a, b) => a + b, 0) / Math.max(1, parent.length), 'gepa/child_minibatch_spread': child.reduce((a, b) => a + b, 0) / Math.max(1, child.length) } : {};
  const promptRow = async (s: GepaState, id: number) => {
    const c = s.candidates[id];
    await ts.appendRows({
      run_dir: paths.run_dir,
      file: 'prompts.jsonl',
      rows: [
        {
          key: `cand-${c.id}`,
          candidate_id: c.id,
          parent_ids: c.parents,
          components: c.components,
          text: candidatePrompt(s, c),
          val_score: c.val_mean,
          val_scores: c.val_scores,
          iteration: c.iteration,
          metric_calls: c.metric_calls,
          phase: input.phase ?? 'gepa',
        },
      ],
    });
  };

  if (!state) {
    // Seed: evaluated on the full val set and counted in the budget (never again on resume).
    let seed: Record<string, string>;
    try {
      seed = seedComponents(g);
      state = initState({ seed: input.run.seed, components: seed, val_size: valIdx.length, train_size: sizes.train, budget: g.max_metric_calls, minibatch_size: g.minibatch_size, rollouts_per_problem: k });
    } catch (e) {
      throw ApplicationFailure.create({ type: FAILURE.InvalidConfig, nonRetryable: true, message: (e as Error).message });
    }
    phase = 'seed evaluation';
    const ev = await evaluate('val', valIdx, renderSystemPrompt(seed, state.component_names), input.run.seed);
    addEvaluatedCandidate(state, { components: seed, parents: [], val_scores: ev.scores });
    await promptRow(state, 0);
    await metricsRow(state, { 'gepa/event': 'seed' });
  }
  const st = state;

  /**
   * One reflection activity. A reflection LM that errors does not crash the run: a failure after
   * Temporal's retries (429/5xx/network) is returned as a rejected proposal 'reflection error: ...'
   * and the loop goes on. The one exception, decided here: a provider that cannot be used at all
   * (missing API key or base URL, a rejected key, an unknown model: type ProviderConfig) fails the run at once with that message,
   * since every later iteration would fail the same way and only burn the metric-call budget.
   */
  const reflect = async (args: Parameters<typeof ts.proposeComponent>[0]): Promise<ProposeResult> => {
    try {
      return await ts.proposeComponent(args);
    } catch (e) {
      const cause = e instanceof ActivityFailure ? e.cause : e;
      const msg = cause instanceof Error ? cause.message : String(cause);
      if (cause instanceof ApplicationFailure && cause.type === PROVIDER_CONFIG_FAILURE) {
        throw ApplicationFailure.create({
          type: FAILURE.InvalidConfig,
          nonRetryable: true,
          message: `the reflection LM (provider=${input.reflection.provider}, model=${input.reflection.model}) cannot be used: ${msg}`,
        });
      }
      if (!(e instanceof ActivityFailure)) throw e;
      log.warn('reflection failed after retries; recorded as a rejected proposal', { error: msg });
      return {
        ok: false,
        text: `reflection error: ${msg}`.slice(0, 500),
        reason: 'reflection error',
        usage: { prompt_tokens: 0, completion_tokens: 0 },
        cost_usd: null,
        calls: 0,
        first_reply_unfenced: false,
        first_reply_excerpt: null,
      };
    }
  };
  type ProposalRow = Record<string, unknown> & { component: string };
  const proposalRows = async (it: number, parentId: number, rows: ProposalRow[], outcome: string) => {
    if (!rows.length) return;
    await ts.appendRows({
      run_dir: paths.run_dir,
      file: 'proposals.jsonl',
      rows: rows.map((r) => ({ key: `prop-${it}-${r.component}`, iteration: it, parent_id: parentId, outcome, ...r })),
    });
  };

  for (;;) {
    // checked every iteration, carrying the control state too
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof gepaOptimization>(raw, { state: st, paths, control: control.snapshot(), metric_cost_usd: metricCost, max_usd_per_call: maxPerCall });
    }
    if (await control.checkpoint()) {
      stopBySignal(st);
      break;
    }
    const ru = summarizeState(st);
    const costStop = costBudgetStop(g.max_cost_usd, { metric_usd: metricCost, metric_calls: ru.budget_used, max_usd_per_call: maxPerCall, reflection_usd: ru.reflection_usage.cost_usd ?? 0, reflection_calls: ru.reflection_usage.calls }, g.minibatch_size, valIdx.length);
    if (costStop) {
      st.stop_reason = costStop;
      log.info('GEPA stops', { reason: costStop });
      break;
    }
    const plan = planIteration(st, opts, control.stopRequested);
    if (plan.kind === 'stop') {
      log.info('GEPA stops', { reason: plan.reason });
      break;
    }
    if (plan.kind === 'merge') {
      const it = st.counters.iterations;
      const [a, b] = plan.parent_ids;
      const prompt = renderSystemPrompt(plan.components, st.component_names);
      phase = `iteration ${it}: merge of ${a} and ${b} on a val subsample`;
      const se = await evaluate('val', plan.subsample, prompt, input.run.seed);
      const v = judgeMerge(st, plan, se.scores);
      const row = { component: 'merge', parent_ids: plan.parent_ids, ancestor: plan.ancestor, sources: plan.sources, subsample: plan.subsample, parent_sums: v.parent_sums, child_sum: v.child_sum };
      if (!v.accept) {
        await proposalRows(it, a, [{ ...row, ok: false, reason: 'merge not better' }], 'rejected_merge');
        await metricsRow(st, { 'gepa/event': 'rejected_merge', 'gepa/merge_child_subsample': v.child_sum });
        continue;
      }
      phase = `iteration ${it}: merged child on val`;
      const ve = await evaluate('val', valIdx, prompt, input.run.seed);
      const cand = recordMergeAccepted(st, { components: plan.components, parents: [a, b], val_scores: ve.scores }, opts);
      log.info('GEPA accepted a merge', { id: cand.id, parents: plan.parent_ids, ancestor: plan.ancestor, val: cand.val_mean });
      await promptRow(st, cand.id);
      await proposalRows(it, a, [{ ...row, ok: true, reason: null }], `accepted as candidate ${cand.id}`);
      await metricsRow(st, { 'gepa/event': 'accepted_merge', 'gepa/merge_child_subsample': v.child_sum, 'gepa/child_val': cand.val_mean });
      continue;
    }
    const parent = st.candidates[plan.parent_id];
    const parentPrompt = candidatePrompt(st, parent);
    const it = st.counters.iterations;
    phase = `iteration ${it}: parent minibatch`;
    const evalSeed = gepaEvalSeed(input.run.seed, it);
    const pe = await evaluate('train', plan.minibatch, parentPrompt, evalSeed);
    if (recordParentMinibatch(st, pe.scores, opts)) {
      await metricsRow(st, { 'gepa/event': 'skip_perfect' });
      continue;
    }
    const components = componentsToReflect(st, parent.id, opts);
    // one component at a time (round-robin) or all of them
    const childComponents = { ...parent.components };
    const proposals: ProposalRow[] = [];
    const unfencedFirst = new Set<string>();
    let proposed = false;
    for (const comp of components) {
      phase = `iteration ${it}: reflecting on ${comp}`;
      const p = await reflect({
        reflection: input.reflection,
        component: comp,
        current_text: parent.components[comp],
        traces_refs: pe.traces_refs,
        rejected: st.rejected[comp] ?? [],
        template: reflectionTemplateFor(comp, g),
        seed: gepaReflectionSeed(input.run.seed, it),
        task: input.task,
        fence_repair: g.fence_repair,
        debug: g.debug,
      });
      recordReflectionUsage(st, p);
      if (p.first_reply_unfenced) unfencedFirst.add(comp);
      proposals.push({
        component: comp,
        ok: p.ok,
        reason: p.reason,
        text: p.text.slice(0, 2000),
        first_reply_unfenced: p.first_reply_unfenced,
        first_reply_excerpt: p.first_reply_excerpt,
        reflection_calls: p.calls,
        tokens_in: p.usage.prompt_tokens,
        tokens_out: p.usage.completion_tokens,
        cost_usd: p.cost_usd,
      });
      if (!p.ok) {
        recordRejected(
          st,
          comp,
          { text: p.text, reason: p.reason ?? 'empty', parent_score: null, child_score: null, first_reply_unfenced: p.first_reply_unfenced },
          opts.rejected_memory,
        );
        continue;
      }
      childComponents[comp] = p.text;
      proposed = true;
    }
    if (!proposed) {
      await proposalRows(it, parent.id, proposals, 'rejected_reflection');
      await metricsRow(st, { 'gepa/event': 'rejected_reflection' });
      continue;
    }
    const childPrompt = renderSystemPrompt(childComponents, st.component_names);
    phase = `iteration ${it}: child minibatch`;
    const ce = await evaluate('train', plan.minibatch, childPrompt, evalSeed);
    const verdict = judgeChild(st, { scores: pe.scores, format_ok: pe.format_ok }, { scores: ce.scores, format_ok: ce.format_ok }, g.format_guard, g.min_improvement_threshold);
    const parentSum = pe.scores.reduce((a, b) => a + b, 0);
    const childSum = ce.scores.reduce((a, b) => a + b, 0);
    // the minibatch scores behind the verdict, with each problem's spread over its rollouts
    const minibatchCols = { parent_minibatch: pe.scores, child_minibatch: ce.scores, ...(k > 1 ? { parent_minibatch_spread: pe.spreads, child_minibatch_spread: ce.spreads } : {}) };
    if (!verdict.accept) {
      for (const comp of components) {
        if (childComponents[comp] !== parent.components[comp]) {
          recordRejected(
            st,
            comp,
            { text: childComponents[comp], reason: verdict.reason!, parent_score: parentSum, child_score: childSum, first_reply_unfenced: unfencedFirst.has(comp) },
            opts.rejected_memory,
          );
        }
      }
      await proposalRows(it, parent.id, proposals.map((r) => ({ ...r, ...minibatchCols })), verdict.reason!);
      await metricsRow(st, { 'gepa/event': 'rejected', 'gepa/parent_minibatch': parentSum, 'gepa/child_minibatch': childSum, ...spreadCols(pe.spreads, ce.spreads) });
      continue;
    }
    phase = `iteration ${it}: child on val`;
    const ve = await evaluate('val', valIdx, childPrompt, input.run.seed);
    const cand = recordAccepted(st, { components: childComponents, parents: [parent.id], val_scores: ve.scores }, opts);
    log.info('GEPA accepted a candidate', { id: cand.id, val: cand.val_mean, old: parentPrompt.slice(0, 80), new: childPrompt.slice(0, 80) });
    await promptRow(st, cand.id);
    await proposalRows(it, parent.id, proposals.map((r) => ({ ...r, ...minibatchCols })), `accepted as candidate ${cand.id}`);
    await metricsRow(st, { 'gepa/event': 'accepted', 'gepa/parent_minibatch': parentSum, 'gepa/child_minibatch': childSum, 'gepa/child_val': cand.val_mean, ...spreadCols(pe.spreads, ce.spreads) });
  }

  const sum = summarizeState(st);
  const best = st.candidates[sum.best_candidate_id ?? 0];
  if (g.eval_test) {
    // the seed and the best candidate on the test split (not counted in the budget, as the reference)
    phase = 'test evaluation';
    const testIdx = Array.from({ length: Math.min(input.n_eval ?? sizes.test, sizes.test) }, (_, i) => i);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
    const bestEv = await evaluate('test', testIdx, candidatePrompt(st, best), input.run.seed);
    const seedEv = best.id === 0 ? bestEv : await evaluate('test', testIdx, candidatePrompt(st, st.candidates[0]), input.run.seed);
    finalTest = { test_score: mean(bestEv.scores), seed_test_score: mean(seedEv.scores), n_test: testIdx.length };
  }
  await metricsRow(st, {
    key: 'gepa-final',
    'gepa/event': 'final',
    'final/best_score': sum.best_val_score,
    'final/seed_score': st.candidates[0].val_mean,
    ...(finalTest ? { 'final/test_score': finalTest.test_score, 'final/seed_test_score': finalTest.seed_test_score, 'final/n_test': finalTest.n_test } : {}),
  });
  phase = 'done';
  const result: GepaResult = {
    ...sum,
    run_id: runId,
    run_dir: paths.run_dir,
    best_prompt: candidatePrompt(st, best),
    best_components: { ...best.components },
    seed_val_score: st.candidates[0].val_mean,
    candidates: st.candidates.map((c) => ({ id: c.id, parents: c.parents, val_mean: c.val_mean })),
    test_score: finalTest?.test_score ?? null,
    seed_test_score: finalTest?.seed_test_score ?? null,
    n_test: finalTest?.n_test ?? null,
  };
  await ts.writeJson({ run_dir: paths.run_dir, file: 'gepa/candidates.json', value: { candidates: st.candidates, frontier: frontier(st), component_names: st.component_names } });
  await ts.finishRun({ run_dir: paths.run_dir, status: sum.stop_reason === STOP_SIGNAL ? 'stopped' : 'completed', summary: { best_val_score: sum.best_val_score, seed_val_score: result.seed_val_score, test_score: result.test_score, seed_test_score: result.seed_test_score, n_test: result.n_test, val_size: sum.val_size, stop_reason: sum.stop_reason, budget_used: sum.budget_used, budget_limit: sum.budget_limit, reflection_usage: sum.reflection_usage } });
  await condition(allHandlersFinished);
  return result;
}

