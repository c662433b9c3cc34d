/**
 * gepaOptimization (DESIGN §5 "GEPA"): reflective prompt evolution as a durable workflow. Every
 * rule is in src/core/gepa; this file runs the evaluations and the reflection the core asks for.
 * The loop: plan (core/gepa planIteration: stop, merge or reflect) → act (evaluations, reflection)
 * → record (the state's record* functions, then the rows of core/gepa/records.ts).
 * A candidate is named text components (gepa.components, system_prompt first), all rendered into
 * the policy's system prompt; with gepa.use_merge, an iteration may instead merge two front
 * candidates (core/gepa/merge.ts).
 * All randomness is in the state, which continues-as-new when Temporal suggests it, so a resumed
 * run ends with exactly the candidates of an uninterrupted one.
 * With gepa.parallel_proposals=P up to P iterations are in flight (core/gepa/parallel.ts): each is
 * dispatched with its parent, minibatch and reserved worst case, and records its results as its
 * activities complete. Those records run in the workflow's one thread in the order Temporal
 * delivers the activity results, which a replay repeats from the history; the loop awaits
 * Promise.race over the in-flight iterations in dispatch order (a tie lands the earliest
 * dispatched), so the order of acceptance is the same on every replay. Continue-as-new waits until
 * nothing is in flight: the carry never holds half an iteration.
 */
import { ApplicationFailure, allHandlersFinished, condition, continueAsNew, defineQuery, log, setHandler, workflowInfo } from '@temporalio/workflow';
import { FAILURE } from '../failures';
import { DEFAULT_SYSTEM_PROMPT, type GepaInput } from '../config';
import {
  addEvaluatedCandidate,
  candidatePrompt,
  componentsToReflect,
  evalCacheEnabled,
  fillScores,
  lookupCached,
  mayDispatch,
  planWorstCase,
  promptKey,
  release,
  reserve,
  storeScores,
  costSoFar,
  bestPromptText,
  finalMetricsRow,
  frontier,
  gepaOptions,
  gepaValSize,
  initState,
  judgeChild,
  judgeMerge,
  metricsRow,
  minibatchMetricColumns,
  minibatchProposalColumns,
  noMetricSpend,
  planIteration,
  problemMeans,
  problemSpreads,
  promptRow,
  proposalRows,
  recordAccepted,
  recordMergeAccepted,
  recordMetricCost,
  recordParentMinibatch,
  recordReflectionUsage,
  recordRejectedChild,
  recordRejectedReflection,
  reflectionProposal,
  reflectionTemplateFor,
  renderSystemPrompt,
  seedComponents,
  seedLeftToTask,
  STOP_SIGNAL,
  summarizeState,
  type FinalTest,
  type GepaEvent,
  type GepaOptions,
  type GepaState,
  type GepaSummary,
  type MetricSpend,
  type Payment,
  type Plan,
  type Reservation,
  type ProposalRow,
} from '../core/gepa';
import type { RunPaths } from '../activities/run';
import { logMetrics, mean, parseInput, reflect, runIdOf, tsActivities } from './common';
import { installControl, setStatusHandler, type Control, type ControlState } from './control';
import { progress } from './messages';
import { runPolicy, type RunOn } from './policy';
import { gepaEvalSeed, gepaReflectionSeed } from '../core/seeds';
import { testProblems } from '../core/rl';

export const frontierQuery = defineQuery<ReturnType<typeof frontier>>('frontier');
export const candidatesQuery = defineQuery<Array<{ id: number; parents: number[]; val_mean: number; prompt: string; components: Record<string, string> }>>('candidates');

export interface GepaCarry extends MetricSpend {
  state: GepaState;
  paths: RunPaths;
  /** pause/stop and the metrics summary at the moment of continue-as-new */
  control: ControlState;
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

/** What the queries show: the state once it exists, what the run is doing, the test scores at the end. */
interface LiveView {
  state: GepaState | null;
  phase: string;
  final_test: FinalTest | null;
}

/** One run's fixed parts: its settings, files, val rows and control, and the USD its metric calls cost so far. */
interface GepaRun {
  input: GepaInput;
  opts: GepaOptions;
  run_id: string;
  paths: RunPaths;
  sizes: { train: number; val: number; test: number };
  val_idx: number[];
  on: RunOn;
  control: Control;
  spend: MetricSpend;
  view: LiveView;
}

/** An evaluation's per-problem scores (the mean over its rollouts) and spreads. */
type Evaluation = Awaited<ReturnType<typeof runPolicy>> & { scores: number[]; spreads: number[] };

export async function gepaOptimization(raw: unknown, carry?: GepaCarry): Promise<GepaResult> {
  const input = parseInput<GepaInput>('gepaOptimization', raw);
  const view: LiveView = { state: carry?.state ?? null, phase: 'starting', final_test: null };
  const control = installControl({ initial: carry?.control });
  installQueries(view, control);
  const run = await openRun(input, carry, view, control);
  const state = carry?.state ?? (await evaluateSeed(run));
  view.state = state;
  const inFlight: InFlight[] = [];
  for (;;) {
    let stopped = false;
    while (mayDispatch(inFlight.length, run.opts.parallel_proposals ?? 1) && !workflowInfo().continueAsNewSuggested) {
      const stopRequested = await control.checkpoint();
      const plan = planIteration(state, run.opts, { stop_requested: stopRequested, cost: costSoFar(run.spend, state), in_flight: inFlight.length });
      if (plan.kind === 'wait') break;
      if (plan.kind === 'stop') {
        log.info('GEPA stops', { cause: plan.cause, reason: plan.reason });
        stopped = true;
        break;
      }
      inFlight.push(dispatch(run, state, plan));
    }
    if (inFlight.length) {
      await landNext(state, inFlight);
      continue;
    }
    if (stopped) break;
    // nothing in flight and Temporal suggests continue-as-new
    await condition(allHandlersFinished);
    return continueAsNew<typeof gepaOptimization>(raw, { state, paths: run.paths, control: control.snapshot(), ...run.spend });
  }
  return finishRun(run, state);
}

/** An iteration in flight: its reservation (the unspent part of its worst case) and its completion. */
interface InFlight {
  iteration: number;
  reservation: Reservation;
  done: Promise<InFlight>;
}

/** Start an iteration: reserve its worst case, then run it (it records its results as its activities complete). */
function dispatch(run: GepaRun, state: GepaState, plan: Extract<Plan, { kind: 'reflect' | 'merge' }>): InFlight {
  const reservation = reserve(state.budget, planWorstCase(state, plan));
  const job = { iteration: state.counters.iterations, reservation } as InFlight;
  job.done = (plan.kind === 'merge' ? mergeIteration(run, state, plan, reservation) : reflectiveIteration(run, state, plan, reservation)).then(() => job);
  return job;
}

/** Wait for the first in-flight iteration to complete (ties: the earliest dispatched), and release what it did not spend. */
async function landNext(state: GepaState, inFlight: InFlight[]): Promise<void> {
  const job = await Promise.race(inFlight.map((j) => j.done));
  inFlight.splice(inFlight.indexOf(job), 1);
  release(state.budget, job.reservation);
}

function installQueries(view: LiveView, control: Control): void {
  setStatusHandler('gepaOptimization', () => ({
    phase: view.phase,
    paused: control.paused,
    progress: progress(view.state?.budget.metric_calls ?? 0, view.state?.budget.max_metric_calls ?? 0, 'metric calls'),
    ...(view.state ? summarizeState(view.state) : {}),
    ...(view.final_test ?? {}),
    ...(view.state?.candidates.length ? { seed_val_score: view.state.candidates[0].val_mean } : {}),
  }));
  setHandler(frontierQuery, () => (view.state ? frontier(view.state) : { fronts: [], best_per_instance: [] }));
  setHandler(candidatesQuery, () => {
    const s = view.state;
    return s ? s.candidates.map((c) => ({ id: c.id, parents: c.parents, val_mean: c.val_mean, prompt: candidatePrompt(s, c), components: c.components })) : [];
  });
}

async function openRun(input: GepaInput, carry: GepaCarry | undefined, view: LiveView, control: Control): Promise<GepaRun> {
  const g = input.gepa;
  const runId = runIdOf(input.run);
  const paths =
    carry?.paths ??
    (await tsActivities.prepareRun({ run_id: runId, output_dir: input.run.output_dir, workflow_type: 'gepaOptimization', workflow_id: workflowInfo().workflowId, config: input, phase: input.phase }));
  const sizes = await tsActivities.taskSplitSizes({ task: input.task });
  // the val rows candidates are scored on: fixed at the start (a default that fits the budget, core/gepa/budget.ts)
  const valSize =
    carry?.state.val_size ??
    gepaValSize({ available: sizes.val, max_metric_calls: g.max_metric_calls, minibatch: g.minibatch_size, requested: g.val_size, max_iterations: g.max_iterations, rollouts_per_problem: g.rollouts_per_problem });
  return {
    input,
    opts: gepaOptions(g),
    run_id: runId,
    paths,
    sizes,
    val_idx: Array.from({ length: valSize }, (_, i) => i),
    on: { task: input.task, policy: input.policy, blob_dir: paths.blob_dir, parallelism: g.parallelism, trainer_heartbeat_timeout_s: input.run.trainer_heartbeat_timeout_s },
    control,
    spend: carry ? { metric_cost_usd: carry.metric_cost_usd, max_usd_per_call: carry.max_usd_per_call } : noMetricSpend(),
    view,
  };
}

/** Every evaluation samples rollouts_per_problem completions per problem; a problem scores their mean. Its cost counts for max_cost_usd. */
async function evaluate(run: GepaRun, split: 'train' | 'val' | 'test', idx: number[], prompt: string, seed: number): Promise<Evaluation> {
  const ev = await runPolicy(run.on, split, idx, prompt, { seed, numSamples: run.input.gepa.rollouts_per_problem });
  recordMetricCost(run.spend, ev.cost_usd, ev.indices.length);
  return { ...ev, scores: problemMeans(ev.rewards_PG), spreads: problemSpreads(ev.rewards_PG) };
}

const logEvent = (run: GepaRun, state: GepaState, event: GepaEvent, columns: Record<string, unknown> = {}, iteration = state.counters.iterations) =>
  logMetrics(run.paths, run.input.run, [metricsRow(state, event, columns, iteration)], run.control);

/**
 * A candidate's val rows, through the evaluation cache when the run keeps one (core/gepa/evalCache.ts):
 * a row already scored for this prompt is neither sampled nor paid. `paid`: the rows sampled.
 */
async function evaluateVal(run: GepaRun, state: GepaState, idx: number[], prompt: string): Promise<{ scores: number[]; paid: number }> {
  const cache = state.eval_cache;
  if (!cache) return { scores: (await evaluate(run, 'val', idx, prompt, run.input.run.seed)).scores, paid: idx.length };
  const key = promptKey(prompt);
  const { cached, missing } = lookupCached(cache, key, idx);
  const sampled = missing.length ? (await evaluate(run, 'val', missing, prompt, run.input.run.seed)).scores : [];
  storeScores(cache, key, missing, sampled);
  state.counters.cache_hits += idx.length - missing.length;
  return { scores: fillScores(cached, sampled), paid: missing.length };
}

const logCandidate = (run: GepaRun, state: GepaState, id: number) =>
  tsActivities.appendRows({ run_dir: run.paths.run_dir, file: 'prompts.jsonl', rows: [promptRow(state, id, run.input.phase)] });

async function logProposals(run: GepaRun, iteration: number, parentId: number, rows: ProposalRow[], outcome: string): Promise<void> {
  if (!rows.length) return;
  await tsActivities.appendRows({ run_dir: run.paths.run_dir, file: 'proposals.jsonl', rows: proposalRows(iteration, parentId, rows, outcome) });
}

/** The seed (the task's own prompt when the config leaves it at the default): evaluated on the full val set and counted in the budget (never again on resume). */
async function evaluateSeed(run: GepaRun): Promise<GepaState> {
  const g = run.input.gepa;
  let seed: Record<string, string>;
  let state: GepaState;
  const taskSeed = seedLeftToTask(g, DEFAULT_SYSTEM_PROMPT) ? await tsActivities.taskSeedPrompt({ task: run.input.task }) : null;
  try {
    seed = seedComponents(taskSeed === null ? g : { ...g, seed_prompt: taskSeed });
    state = initState({ seed: run.input.run.seed, components: seed, val_size: run.val_idx.length, train_size: run.sizes.train, max_metric_calls: g.max_metric_calls, budget_rule: g.budget_rule, minibatch_size: g.minibatch_size, rollouts_per_problem: g.rollouts_per_problem, cache_evaluation: evalCacheEnabled(g.cache_evaluation, run.input.policy.temperature) });
  } catch (e) {
    throw ApplicationFailure.create({ type: FAILURE.InvalidConfig, nonRetryable: true, message: (e as Error).message });
  }
  run.view.state = state;
  run.view.phase = 'seed evaluation';
  const ev = await evaluateVal(run, state, run.val_idx, renderSystemPrompt(seed, state.component_names));
  addEvaluatedCandidate(state, { components: seed, parents: [], val_scores: ev.scores }, { paid: ev.paid });
  await logCandidate(run, state, 0);
  await logEvent(run, state, 'seed');
  return state;
}

/** A merge of two front candidates: on a val subsample first, on the full val set only if it beats both parents there. */
async function mergeIteration(run: GepaRun, state: GepaState, plan: Extract<Plan, { kind: 'merge' }>, reservation: Reservation): Promise<void> {
  const it = state.counters.iterations;
  const [a, b] = plan.parent_ids;
  const prompt = renderSystemPrompt(plan.components, state.component_names);
  run.view.phase = `iteration ${it}: merge of ${a} and ${b} on a val subsample`;
  const sub = await evaluateVal(run, state, plan.subsample, prompt);
  const v = judgeMerge(state, plan, sub.scores, { from: reservation, paid: sub.paid });
  const row = { component: 'merge', parent_ids: plan.parent_ids, ancestor: plan.ancestor, sources: plan.sources, subsample: plan.subsample, parent_sums: v.parent_sums, child_sum: v.child_sum };
  if (!v.accept) {
    await logProposals(run, it, a, [{ ...row, ok: false, reason: 'merge not better' }], 'rejected_merge');
    await logEvent(run, state, 'rejected_merge', { 'gepa/merge_child_subsample': v.child_sum }, it);
    return;
  }
  run.view.phase = `iteration ${it}: merged child on val`;
  const val = await evaluateVal(run, state, run.val_idx, prompt);
  const cand = recordMergeAccepted(state, { components: plan.components, parents: [a, b], val_scores: val.scores, iteration: it }, run.opts, { from: reservation, paid: val.paid });
  log.info('GEPA accepted a merge', { id: cand.id, parents: plan.parent_ids, ancestor: plan.ancestor, val: cand.val_mean });
  await logCandidate(run, state, cand.id);
  await logProposals(run, it, a, [{ ...row, ok: true, reason: null }], `accepted as candidate ${cand.id}`);
  await logEvent(run, state, 'accepted_merge', { 'gepa/merge_child_subsample': v.child_sum, 'gepa/child_val': cand.val_mean }, it);
}

/**
 * A reflective mutation: the parent on the minibatch (skipped when perfect), a proposal per chosen
 * component, the child on the same minibatch, and on the full val set only if it is better there.
 */
async function reflectiveIteration(run: GepaRun, state: GepaState, plan: Extract<Plan, { kind: 'reflect' }>, reservation: Reservation): Promise<void> {
  const parent = state.candidates[plan.parent_id];
  const it = state.counters.iterations;
  const pay: Payment = { from: reservation };
  const evalSeed = gepaEvalSeed(run.input.run.seed, it);
  run.view.phase = `iteration ${it}: parent minibatch`;
  const parentEv = await evaluate(run, 'train', plan.minibatch, candidatePrompt(state, parent), evalSeed);
  if (recordParentMinibatch(state, parentEv.scores, run.opts, pay)) return void (await logEvent(run, state, 'skip_perfect', {}, it));
  const components = componentsToReflect(state, parent.id, run.opts);
  const child = await proposeChild(run, state, it, parent.components, components, parentEv);
  if (!child.proposed) {
    await logProposals(run, it, parent.id, child.proposals, 'rejected_reflection');
    return void (await logEvent(run, state, 'rejected_reflection', {}, it));
  }
  const childPrompt = renderSystemPrompt(child.components, state.component_names);
  run.view.phase = `iteration ${it}: child minibatch`;
  const childEv = await evaluate(run, 'train', plan.minibatch, childPrompt, evalSeed);
  const verdict = judgeChild(state, parentEv, childEv, run.opts, pay);
  const k = run.input.gepa.rollouts_per_problem;
  const proposals = child.proposals.map((r) => ({ ...r, ...minibatchProposalColumns(parentEv, childEv, k) }));
  const columns = minibatchMetricColumns(parentEv, childEv, k);
  if (!verdict.accept) {
    const [parentSum, childSum] = [columns['gepa/parent_minibatch'], columns['gepa/child_minibatch']];
    recordRejectedChild(state, { parent: parent.components, child: child.components, components, reason: verdict.reason!, parent_score: parentSum, child_score: childSum, unfenced_first: child.unfenced_first }, run.opts.rejected_memory);
    await logProposals(run, it, parent.id, proposals, verdict.reason!);
    return void (await logEvent(run, state, 'rejected', columns, it));
  }
  run.view.phase = `iteration ${it}: child on val`;
  const val = await evaluateVal(run, state, run.val_idx, childPrompt);
  const cand = recordAccepted(state, { components: child.components, parents: [parent.id], val_scores: val.scores, iteration: it }, run.opts, { from: reservation, paid: val.paid });
  log.info('GEPA accepted a candidate', { id: cand.id, val: cand.val_mean, old: candidatePrompt(state, parent).slice(0, 80), new: childPrompt.slice(0, 80) });
  await logCandidate(run, state, cand.id);
  await logProposals(run, it, parent.id, proposals, `accepted as candidate ${cand.id}`);
  await logEvent(run, state, 'accepted', minibatchMetricColumns(parentEv, childEv, k, cand.val_mean), it);
}

/** One reflection per component (round-robin: one; 'all': each in turn); a usable text replaces that component in the child. */
async function proposeChild(run: GepaRun, state: GepaState, it: number, parentComponents: Record<string, string>, components: string[], parentEv: Evaluation) {
  const child = { components: { ...parentComponents }, proposals: [] as ProposalRow[], unfenced_first: new Set<string>(), proposed: false };
  for (const comp of components) {
    run.view.phase = `iteration ${it}: reflecting on ${comp}`;
    const p = await reflect(run.input.reflection, {
      reflection: run.input.reflection,
      component: comp,
      current_text: parentComponents[comp],
      traces_refs: parentEv.traces_refs,
      rejected: state.rejected[comp] ?? [],
      template: reflectionTemplateFor(comp, run.input.gepa),
      seed: gepaReflectionSeed(run.input.run.seed, it),
      task: run.input.task,
      fence_repair: run.input.gepa.fence_repair,
      debug: run.input.gepa.debug,
    });
    recordReflectionUsage(state, p);
    if (p.first_reply_unfenced) child.unfenced_first.add(comp);
    child.proposals.push(reflectionProposal(comp, p));
    if (!p.ok) {
      recordRejectedReflection(state, comp, p, run.opts.rejected_memory);
      continue;
    }
    child.components[comp] = p.text;
    child.proposed = true;
  }
  return child;
}

/** gepa.eval_test: the seed and the best candidate on the test split (not counted in the budget, as the reference). */
async function evaluateOnTest(run: GepaRun, state: GepaState, bestId: number): Promise<FinalTest> {
  run.view.phase = 'test evaluation';
  const testIdx = testProblems(run.input.n_eval, run.sizes.test);
  const best = await evaluate(run, 'test', testIdx, candidatePrompt(state, state.candidates[bestId]), run.input.run.seed);
  const seed = bestId === 0 ? best : await evaluate(run, 'test', testIdx, candidatePrompt(state, state.candidates[0]), run.input.run.seed);
  return { test_score: mean(best.scores), seed_test_score: mean(seed.scores), n_test: testIdx.length };
}

async function finishRun(run: GepaRun, state: GepaState): Promise<GepaResult> {
  const sum = summarizeState(state);
  const best = state.candidates[sum.best_candidate_id ?? 0];
  const test = run.input.gepa.eval_test ? await evaluateOnTest(run, state, best.id) : null;
  run.view.final_test = test;
  await logMetrics(run.paths, run.input.run, [finalMetricsRow(state, test)], run.control);
  run.view.phase = 'done';
  const result: GepaResult = {
    ...sum,
    run_id: run.run_id,
    run_dir: run.paths.run_dir,
    best_prompt: candidatePrompt(state, best),
    best_components: { ...best.components },
    seed_val_score: state.candidates[0].val_mean,
    candidates: state.candidates.map((c) => ({ id: c.id, parents: c.parents, val_mean: c.val_mean })),
    test_score: test?.test_score ?? null,
    seed_test_score: test?.seed_test_score ?? null,
    n_test: test?.n_test ?? null,
  };
  await tsActivities.writeJson({ run_dir: run.paths.run_dir, file: 'gepa/candidates.json', value: { candidates: state.candidates, frontier: frontier(state), component_names: state.component_names } });
  const summary = { best_val_score: sum.best_val_score, seed_val_score: result.seed_val_score, test_score: result.test_score, seed_test_score: result.seed_test_score, n_test: result.n_test, val_size: sum.val_size, stop_reason: sum.stop_reason, metric_calls: sum.metric_calls, max_metric_calls: sum.max_metric_calls, reflection_usage: sum.reflection_usage, cache_hits: state.eval_cache ? sum.counters.cache_hits : null, parallel_proposals: run.opts.parallel_proposals ?? 1 };
  await tsActivities.finishRun({ run_dir: run.paths.run_dir, status: sum.stop_reason === STOP_SIGNAL ? 'stopped' : 'completed', summary, files: { 'best_prompt.txt': bestPromptText(state, best.id) } });
  await condition(allHandlersFinished);
  return result;
}
