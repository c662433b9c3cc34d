/**
 * fastSlowTraining (DESIGN §5 "Fast–slow training"; FST arXiv 2605.12484, E-SPL arXiv 2602.14697):
 * RL on the weights while a pool of prompts evolves by GEPA rounds, in one workflow.
 * Per RL step: plan the problems (core/rl planBatch) and which pool prompt each rollout is sampled
 * under (core/fastslow planPromptAssignment), sample and score them in one policy call, group the
 * advantages by problem (FST) or by (problem, prompt) (E-SPL), train, record the rewards in the
 * score window. Every gepa_every steps a GEPA round reflects on rollouts RL already sampled under a
 * parent from the window's Pareto front (no policy call for the parent) and puts the child on trial
 * in the next batches (child_eval=rollouts) or judges it on a fresh minibatch (child_eval=minibatch).
 * Every rule is in src/core/fastslow; the state (pool, window, RNG, trial) continues-as-new with the
 * batch, checkpoint and the RL steps' trace refs the next round may reflect on.
 */
import { allHandlersFinished, condition, continueAsNew, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { samplingParams, type FastSlowInput } from '../config';
import { createRng } from '../core/rng';
import { acceptIfImproved } from '../core/gepa';
import { fractionTrue, initialEvalRow, mean, type TestScore } from '../core/metrics';
import { offPolicySamplingWarning, planBatch, shouldEval, testProblems } from '../core/rl';
import {
  addPrompt,
  addSetPrompt,
  advanceTrial,
  assignmentWeights,
  batchEntries,
  bestPrompt,
  fastSlowAdvantages,
  fastSlowBatchRow,
  freshMinibatch,
  initFastSlowState,
  isGepaStep,
  minibatchIsPerfect,
  planPromptAssignment,
  poolView,
  promptById,
  pruneEntries,
  recordUsage,
  reflectionMinibatch,
  rememberRejectedReflection,
  selectParent,
  settleChild,
  startTrial,
  traceRows,
  twoByTwoRow,
  type FastSlowState,
  type StepRows,
  type TwoByTwo,
} from '../core/fastslow';
import { gepaEvalSeed, gepaReflectionSeed, testEvalSeed, trainBatchSeed } from '../core/seeds';
import type { BlobRef } from '../types';
import type * as fastSlowActivities from '../activities/fastSlow';
import type { RunPaths } from '../activities/run';
import { finishTraining, logMetrics, modelRef, parseInput, reflect, runIdOf, scoreRollouts, trainBatch, trainerActivities, tsActivities, TS_HEARTBEAT_TIMEOUT } from './common';
import { installControl, setStatusHandler, type Control, type ControlState } from './control';
import { progress, type FastSlowStatus } from './messages';
import { evaluateTestWithKl, runOnOf, runPolicy } from './policy';
import { klToBaseSkipReason, type KlToBase } from '../core/klToBase';
import { NON_RETRYABLE } from '../failures';

const fs = proxyActivities<typeof fastSlowActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: TS_HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE.ts_activities },
});

/** An RL step's rows and its traces: what a later GEPA round reflects on. */
type StepRecord = StepRows & { traces_ref: BlobRef };

export interface FastSlowCarry {
  batch: number;
  checkpoint: string | null;
  state: FastSlowState;
  steps: StepRecord[];
  paths: RunPaths;
  started_ms: number;
  base_seed_test: TestScore | null;
  last_test: TestScore | null;
  last_seed_test: TestScore | null;
  control: ControlState;
}

export interface FastSlowResult {
  run_id: string;
  run_dir: string;
  batches_done: number;
  final_checkpoint: string | null;
  best_prompt: string;
  best_prompt_id: number;
  pool: Array<{ id: number; parent: number | null; origin: string; status: string; text: string }>;
  counters: FastSlowState['counters'];
  reflection_usage: FastSlowState['reflection_usage'];
  /** test accuracy {base, trained} weights x {seed, best} prompt (null when stopped before the first batch) */
  table: TwoByTwo | null;
  /** KL(π_θ‖π_base) per token on the test rollouts of the trained weights under the seed prompt, at the end (core/klToBase.ts) */
  kl_to_base: KlToBase | null;
  /** why KL to the base was not measured (a backend without it), else null */
  kl_to_base_skipped: string | null;
  stopped: boolean;
}

interface FastSlowRun {
  input: FastSlowInput;
  trainer: ReturnType<typeof trainerActivities>;
  run_id: string;
  paths: RunPaths;
  train_size: number;
  test_size: number;
  state: FastSlowState;
  steps: StepRecord[];
  status: FastSlowStatus;
  control: Control;
  started_ms: number;
  base_seed_test: TestScore | null;
  last_test: TestScore | null;
  last_seed_test: TestScore | null;
  /** GEPA-round columns of the current batch's metrics row */
  columns: Record<string, number | string | null>;
}

export async function fastSlowTraining(raw: unknown, carry?: FastSlowCarry): Promise<FastSlowResult> {
  const input = parseInput<FastSlowInput>('fastSlowTraining', raw);
  const f = input.fast_slow;
  const state = carry?.state ?? initFastSlowState(input.system_prompt, createRng(input.run.seed));
  const status = startStatus(input, carry, state);
  const control = installControl({
    initial: carry?.control,
    // set_prompt adds a prompt to the pool (a member from the next batch on); it answers with the best prompt before it
    onSetPrompt: (p) => {
      const prev = bestPrompt(state, status.batch - 1, f.score_window).text;
      const { added, pruned } = addSetPrompt(state, p, status.batch, f.pool_size, f.score_window);
      log.info('set_prompt added a prompt to the pool', { id: added.id, pruned, excerpt: p.slice(0, 80) });
      return prev;
    },
  });
  setStatusHandler('fastSlowTraining', () => ({
    ...status,
    pool: poolView(state, status.batch - 1, f.score_window),
    best_prompt_id: bestPrompt(state, status.batch - 1, f.score_window).id,
    trial: state.trial,
    counters: state.counters,
    paused: control.paused,
    progress: progress(status.batch, status.n_batches, 'batches'),
  }));
  const runId = runIdOf(input.run);
  const paths =
    carry?.paths ?? (await tsActivities.prepareRun({ run_id: runId, output_dir: input.run.output_dir, workflow_type: 'fastSlowTraining', workflow_id: workflowInfo().workflowId, config: input }));
  const sizes = await tsActivities.taskSplitSizes({ task: input.task });
  const r: FastSlowRun = {
    input,
    trainer: trainerActivities(input.run.trainer_heartbeat_timeout_s),
    run_id: runId,
    paths,
    train_size: sizes.train,
    test_size: sizes.test,
    state,
    steps: carry?.steps ?? [],
    status,
    control,
    started_ms: carry?.started_ms ?? Date.now(),
    base_seed_test: carry?.base_seed_test ?? null,
    last_test: carry?.last_test ?? null,
    last_seed_test: carry?.last_seed_test ?? null,
    columns: {},
  };
  if (!carry) {
    await logPrompt(r, 0, 'seed');
    // the base weights under the seed prompt: the start of the RL curve and one cell of the 2x2 table
    r.base_seed_test = await evaluate(r, input.system_prompt, input.policy.checkpoint, true);
    await logMetrics(paths, input.run, [initialEvalRow(r.base_seed_test)], control);
  }
  let batch = status.batch;
  for (; batch < input.rl.n_batches; batch++) {
    if (await control.checkpoint()) break;
    await runBatch(r, batch);
    if (workflowInfo().continueAsNewSuggested && batch + 1 < input.rl.n_batches) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof fastSlowTraining>(raw, carryOf(r, batch + 1));
    }
  }
  status.batch = batch;
  const table = batch > 0 ? await finalTable(r, batch) : null;
  status.phase = 'done';
  const best = bestPrompt(state, batch - 1, f.score_window);
  await tsActivities.writeJson({ run_dir: paths.run_dir, file: 'fast_slow/pool.json', value: { pool: state.pool, counters: state.counters, reflection_usage: state.reflection_usage, table } });
  return finishTraining(paths, control, {
    run_id: runId,
    run_dir: paths.run_dir,
    batches_done: batch,
    final_checkpoint: status.checkpoint,
    best_prompt: best.text,
    best_prompt_id: best.id,
    pool: state.pool.map((p) => ({ id: p.id, parent: p.parent, origin: p.origin, status: p.status, text: p.text })),
    counters: state.counters,
    reflection_usage: state.reflection_usage,
    table,
    kl_to_base: table?.trained_seed.kl_to_base ?? null,
    kl_to_base_skipped: klToBaseSkipReason(input.policy.backend),
    stopped: control.stopRequested,
  } satisfies FastSlowResult);
}

function startStatus(input: FastSlowInput, carry: FastSlowCarry | undefined, state: FastSlowState): FastSlowStatus {
  const status: FastSlowStatus = {
    phase: 'starting',
    batch: carry?.batch ?? 0,
    n_batches: input.rl.n_batches,
    reward: null,
    accuracy: null,
    test_accuracy: carry?.last_test?.accuracy ?? null,
    seed_test_accuracy: carry?.last_seed_test?.accuracy ?? null,
    checkpoint: carry?.checkpoint ?? input.policy.checkpoint,
    best_prompt_id: 0,
    pool: [],
    trial: state.trial,
    counters: state.counters,
    warnings: [],
  };
  const offPolicy = offPolicySamplingWarning(input.policy.backend, input.policy.temperature, input.policy.top_p);
  if (offPolicy) {
    status.warnings.push(offPolicy);
    if (!carry) log.warn(offPolicy);
  }
  const noKl = klToBaseSkipReason(input.policy.backend);
  if (noKl) {
    status.warnings.push(noKl);
    if (!carry) log.warn(noKl);
  }
  return status;
}

function carryOf(r: FastSlowRun, nextBatch: number): FastSlowCarry {
  return {
    batch: nextBatch,
    checkpoint: r.status.checkpoint,
    state: r.state,
    steps: r.steps,
    paths: r.paths,
    started_ms: r.started_ms,
    base_seed_test: r.base_seed_test,
    last_test: r.last_test,
    last_seed_test: r.last_seed_test,
    control: r.control.snapshot(),
  };
}

/**
 * One RL step: every planned problem's group sampled under its planned prompts in one policy call,
 * scored, its advantages grouped, one train step; the window and the trial take the rewards; maybe a
 * GEPA round; maybe a test evaluation; the step's rows.
 */
async function runBatch(r: FastSlowRun, batch: number): Promise<void> {
  const { input, status, state } = r;
  const f = input.fast_slow;
  const G = input.rl.group_size;
  const tBatch = Date.now();
  status.batch = batch;
  r.columns = {};
  const indices_P = planBatch(r.train_size, batch, input.rl.groups_per_batch, input.run.seed);
  const prompts_PG = planPromptAssignment({
    n_problems: indices_P.length,
    group_size: G,
    prompts_per_group: f.prompts_per_group,
    weighted: assignmentWeights(state, batch - 1, f.score_window),
    trial: state.trial,
    rng: state.rng,
  });
  const rows: StepRows = { step: batch, row_problem: indices_P.flatMap((q, p) => prompts_PG[p].map(() => q)), row_prompt: prompts_PG.flat() };
  const { rollouts_ref, scored } = await sampleRows(r, batch, rows);
  // one sample per row, rows problem-major: problem p's group is rows [p*G, (p+1)*G)
  const perProblem = <T>(xs_R: T[][]): T[][] => indices_P.map((_, p) => xs_R.slice(p * G, (p + 1) * G).map((x) => x[0]));
  const rewards_PG = perProblem(scored.rewards_PG);
  const correct_PG = perProblem(scored.correct_PG);
  const adv = fastSlowAdvantages(rewards_PG, prompts_PG, {
    advantage_group: f.advantage_group,
    advantage: input.rl.advantage,
    drop_constant_reward_groups: input.rl.drop_constant_reward_groups,
  });
  status.reward = mean(rewards_PG.flat());
  status.accuracy = fractionTrue(correct_PG.flat());
  status.phase = 'training';
  const optim = await trainBatch(r, r.run_id, batch, rollouts_ref, adv.advantages_PG.flat());

  state.entries.push(...batchEntries(batch, indices_P, prompts_PG, rewards_PG));
  r.steps = [...r.steps.filter((s) => s.step > batch - f.score_window), { ...rows, traces_ref: scored.traces_ref }];
  const trialChild = state.trial?.child ?? null;
  const verdict = advanceTrial(state, { min_improvement_threshold: f.min_improvement_threshold, pool_size: f.pool_size, rejected_memory: f.rejected_memory, step: batch, window: f.score_window });
  if (verdict) await recordVerdict(r, batch, verdict.child, verdict.parent, verdict.round, verdict, 'rollouts', verdict.pruned);
  if (isGepaStep(batch, f.gepa_every, input.rl.n_batches, state.trial !== null)) await gepaRound(r, batch);
  pruneEntries(state, batch, Math.max(f.score_window, f.trial_batches + 1));

  const test = shouldEval(batch + 1, input.rl.eval_every, input.rl.n_batches) ? await evaluateBestAndSeed(r, batch) : null;
  const row = fastSlowBatchRow({
    batch,
    n_batches: input.rl.n_batches,
    rewards_PG,
    correct_PG,
    format_ok_PG: perProblem(scored.format_ok_PG),
    num_tokens_PG: perProblem(scored.num_tokens_PG),
    n_constant_groups: adv.n_constant_groups,
    optim,
    test: test?.best ?? null,
    seed_test: test?.seed ?? null,
    seconds_batch: (Date.now() - tBatch) / 1000,
    seconds_total: (Date.now() - r.started_ms) / 1000,
    checkpoint: status.checkpoint,
    prompts_PG,
    pool_size: state.pool.filter((p) => p.status === 'member').length,
    best_prompt_id: bestPrompt(state, batch, f.score_window).id,
    n_advantage_groups: adv.n_groups,
    trial_child: trialChild,
  });
  Object.assign(row, r.columns);
  await logMetrics(r.paths, input.run, [row], r.control);
  await fs.writeRolloutRows({ run_dir: r.paths.run_dir, traces_ref: scored.traces_ref, step: batch, row_prompt: rows.row_prompt });
}

/** One policy call for the whole batch: row k is problem row_problem[k] under prompt row_prompt[k], one sample each. */
async function sampleRows(r: FastSlowRun, batch: number, rows: StepRows) {
  const { input, status, state, paths } = r;
  status.phase = 'sampling';
  const used = [...new Set(rows.row_prompt)];
  const pool_prompts = { texts: used.map((id) => promptById(state, id).text), of_index: rows.row_prompt.map((id) => used.indexOf(id)) };
  const { prompts_ref, golds_ref } = await tsActivities.buildPrompts({ task: input.task, split: 'train', indices: rows.row_problem, system_prompt: input.system_prompt, pool_prompts, blob_dir: paths.blob_dir });
  const sample = await r.trainer.policy_sample({
    model: modelRef(input.policy),
    checkpoint: status.checkpoint,
    prompts_ref,
    num_samples: 1,
    sampling: samplingParams(input.policy, trainBatchSeed(input.run.seed, batch)),
    blob_dir: paths.blob_dir,
    return_texts: false,
  });
  status.phase = 'scoring';
  const scored = await scoreRollouts({ task: input.task, split: 'train', indices: rows.row_problem, prompts_ref, golds_ref, rollouts_ref: sample.rollouts_ref, blob_dir: paths.blob_dir });
  return { rollouts_ref: sample.rollouts_ref, scored };
}

/**
 * A GEPA round after step `batch`: a parent from the window's front, a minibatch of its own RL
 * rollouts from the window (their traces, rewards and feedback: no policy call), one reflection,
 * and the child on trial in the next batches, or judged now on a fresh minibatch.
 */
async function gepaRound(r: FastSlowRun, batch: number): Promise<void> {
  const { input, state } = r;
  const f = input.fast_slow;
  const round = state.counters.rounds;
  state.counters.rounds += 1;
  const parentId = selectParent(state, batch, f.score_window);
  const parent = promptById(state, parentId);
  const mb = reflectionMinibatch(state, parentId, batch, f.score_window, f.minibatch_size);
  r.columns['gepa/round'] = round;
  r.columns['gepa/parent'] = parentId;
  if (!mb.length || minibatchIsPerfect(mb, f.perfect_score)) {
    state.counters.skipped_perfect += mb.length ? 1 : 0;
    r.columns['gepa/event'] = mb.length ? 'skip_perfect' : 'no_rollouts';
    return;
  }
  r.status.phase = `GEPA round ${round}: reflecting on prompt ${parentId}'s rollouts`;
  const parts = [...new Set(mb.map((m) => m.step))].map((step) => {
    const rec = r.steps.find((s) => s.step === step);
    if (!rec) throw new Error(`the traces of step ${step} are not held (window ${f.score_window} at step ${batch})`);
    return { traces_ref: rec.traces_ref, rows: mb.filter((m) => m.step === step).flatMap((m) => traceRows(rec, m.problem, parentId)) };
  });
  const { traces_ref } = await fs.selectTraces({ parts, blob_dir: r.paths.blob_dir });
  const p = await reflect(r.input.reflection, {
    reflection: input.reflection,
    component: 'system_prompt',
    current_text: parent.text,
    traces_refs: [traces_ref],
    rejected: state.rejected,
    template: f.reflection_template,
    seed: gepaReflectionSeed(input.run.seed, round),
    task: input.task,
    debug: f.debug,
  });
  recordUsage(state, p);
  const proposal = { round, step: batch, parent: parentId, reflected_on: mb, ok: p.ok, reason: p.reason, text: p.text.slice(0, 4000), reflection_calls: p.calls, tokens_in: p.usage.prompt_tokens, tokens_out: p.usage.completion_tokens };
  if (!p.ok) {
    rememberRejectedReflection(state, p, f.rejected_memory);
    r.columns['gepa/event'] = 'rejected_reflection';
    await tsActivities.appendRows({ run_dir: r.paths.run_dir, file: 'proposals.jsonl', rows: [{ key: `round-${round}`, ...proposal, outcome: 'rejected_reflection' }] });
    return;
  }
  if (f.child_eval === 'rollouts') {
    const child = startTrial(state, p.text, parentId, batch + 1, f.trial_batches, round);
    log.info('GEPA round proposed a child: on trial in the next batches', { round, parent: parentId, child: child.id, old: parent.text.slice(0, 80), new: p.text.slice(0, 80) });
    r.columns['gepa/event'] = 'trial';
    r.columns['gepa/child'] = child.id;
    await tsActivities.appendRows({ run_dir: r.paths.run_dir, file: 'proposals.jsonl', rows: [{ key: `round-${round}`, ...proposal, child: child.id, outcome: `on trial from step ${batch + 1}` }] });
    return;
  }
  // child_eval=minibatch: parent and child sampled on a fresh train minibatch (GEPA's rule, metric calls of their own)
  const child = addPrompt(state, { text: p.text, parent: parentId, origin: 'gepa', born: batch + 1, status: 'trial' });
  state.counters.proposed += 1;
  await tsActivities.appendRows({ run_dir: r.paths.run_dir, file: 'proposals.jsonl', rows: [{ key: `round-${round}`, ...proposal, child: child.id, outcome: 'judged on a fresh minibatch' }] });
  r.status.phase = `GEPA round ${round}: parent and child on a fresh minibatch`;
  const idx = freshMinibatch(state, r.train_size, f.minibatch_size);
  const on = runOnOf(input, r.paths.blob_dir, r.status.checkpoint);
  const seed = gepaEvalSeed(input.run.seed, round);
  const parentEv = await runPolicy(on, 'train', idx, parent.text, { seed });
  const childEv = await runPolicy(on, 'train', idx, p.text, { seed });
  const accept = acceptIfImproved(parentEv.scores, childEv.scores, f.min_improvement_threshold);
  const v = { accept, reason: accept ? null : 'not better', parent_mean: mean(parentEv.scores), child_mean: mean(childEv.scores), n_pairs: idx.length };
  const { pruned } = settleChild(state, child.id, parentId, v, { pool_size: f.pool_size, rejected_memory: f.rejected_memory, step: batch, window: f.score_window });
  await recordVerdict(r, batch, child.id, parentId, round, v, 'minibatch', pruned);
}

/** A judged child: its verdict in proposals.jsonl and the batch row; a kept one in prompts.jsonl. */
async function recordVerdict(
  r: FastSlowRun,
  batch: number,
  child: number,
  parent: number,
  round: number,
  v: { accept: boolean; reason: string | null; parent_mean: number; child_mean: number; n_pairs: number },
  how: 'rollouts' | 'minibatch',
  pruned: number[],
): Promise<void> {
  r.columns['gepa/verdict_child'] = child;
  r.columns['gepa/accepted'] = v.accept ? 1 : 0;
  r.columns['gepa/parent_mean'] = v.parent_mean;
  r.columns['gepa/child_mean'] = v.child_mean;
  r.columns['gepa/n_pairs'] = v.n_pairs;
  log.info(v.accept ? 'GEPA child kept in the pool' : 'GEPA child dropped', { child, parent, how, parent_mean: v.parent_mean, child_mean: v.child_mean, pruned });
  await tsActivities.appendRows({
    run_dir: r.paths.run_dir,
    file: 'proposals.jsonl',
    rows: [{ key: `verdict-${round}`, round, step: batch, parent, child, judged_on: how, outcome: v.accept ? `kept as prompt ${child}` : (v.reason ?? 'dropped'), ...v, pruned }],
  });
  if (v.accept) await logPrompt(r, child, how);
}

async function logPrompt(r: FastSlowRun, id: number, how: string): Promise<void> {
  const p = promptById(r.state, id);
  await tsActivities.appendRows({ run_dir: r.paths.run_dir, file: 'prompts.jsonl', rows: [{ key: `prompt-${id}`, candidate_id: id, parent_ids: p.parent === null ? [] : [p.parent], origin: p.origin, born: p.born, accepted_by: how, text: p.text }] });
}

/**
 * The test split under a prompt and a checkpoint (one fixed seed for every cell, so the cells are
 * paired); with `kl`, KL(π_θ‖π_base) on its rollouts, π_base the run's start (policy.checkpoint).
 */
async function evaluate(r: FastSlowRun, prompt: string, checkpoint: string | null, kl = false): Promise<TestScore> {
  r.status.phase = 'eval';
  const on = runOnOf(r.input, r.paths.blob_dir, checkpoint);
  return evaluateTestWithKl(on, testProblems(r.input.n_eval, r.test_size), prompt, testEvalSeed(r.input.run.seed), kl ? { base_checkpoint: r.input.policy.checkpoint } : null);
}

/**
 * The current weights on test under the best pool prompt and under the seed prompt (once when they
 * are the same), KL to the base on the seed prompt's rollouts (the prompt every arm of a comparison
 * shares, so the KL reflects the weights).
 */
async function evaluateBestAndSeed(r: FastSlowRun, batch: number): Promise<{ best: TestScore; seed: TestScore }> {
  const best = bestPrompt(r.state, batch, r.input.fast_slow.score_window);
  const bestScore = await evaluate(r, best.text, r.status.checkpoint, best.id === 0);
  const seedScore = best.id === 0 ? bestScore : await evaluate(r, r.input.system_prompt, r.status.checkpoint, true);
  r.last_test = bestScore;
  r.last_seed_test = seedScore;
  r.status.test_accuracy = bestScore.accuracy;
  r.status.seed_test_accuracy = seedScore.accuracy;
  return { best: bestScore, seed: seedScore };
}

/**
 * FST's 2x2 table at the end: the trained weights under the best and the seed prompt (the last
 * evaluation when it was after the last batch, else now), the base weights under the seed prompt (the
 * start) and under the best prompt.
 */
async function finalTable(r: FastSlowRun, batchesDone: number): Promise<TwoByTwo> {
  const f = r.input.fast_slow;
  const best = bestPrompt(r.state, batchesDone - 1, f.score_window);
  const evaluatedAtEnd = batchesDone === r.input.rl.n_batches && r.last_test !== null;
  const trained = evaluatedAtEnd ? { best: r.last_test!, seed: r.last_seed_test! } : await evaluateBestAndSeed(r, batchesDone - 1);
  const base_seed = r.base_seed_test ?? (await evaluate(r, r.input.system_prompt, r.input.policy.checkpoint));
  const base_best = best.id === 0 ? base_seed : await evaluate(r, best.text, r.input.policy.checkpoint);
  const table: TwoByTwo = { base_seed, base_best, trained_seed: trained.seed, trained_best: trained.best, best_prompt_id: best.id };
  await logMetrics(r.paths, r.input.run, [twoByTwoRow(table, batchesDone + 1)], r.control);
  return table;
}

