/**
 * rlTraining (DESIGN §5 "RL"): per batch, groups_per_batch problems x group_size samples from the
 * current checkpoint under the current system prompt; rewards from the task; group advantages;
 * one train step; eval every eval_every; continue-as-new when Temporal suggests it. Every step writes
 * a checkpoint (resume needs the latest); the trainer keeps every save_every-th and the last, and
 * prunes the others once the next step is done. A run that fails (a NaN loss, a missing checkpoint)
 * is marked failed in run.json, with the reason, by the error boundary (boundary.ts).
 * Every rule (batch plan, advantages, when to train, metric names, eval/save schedule) lives in src/core/rl/.
 */
import { allHandlersFinished, condition, continueAsNew, log, workflowInfo } from '@temporalio/workflow';
import { samplingParams, type RlInput } from '../config';
import { computeBatchAdvantages, offPolicySamplingWarning, planBatch, rlBatchRow, shouldEval, testProblems } from '../core/rl';
import { fractionTrue, initialEvalRow, mean, type TestScore } from '../core/metrics';
import type { BlobRef } from '../types';
import { finishTraining, logMetrics, modelRef, parseInput, runIdOf, scoreRollouts, trainBatch, trainerActivities, trainerRunId, tsActivities } from './common';
import { installControl, setStatusHandler, type Control, type ControlState } from './control';
import { progress, type RlStatus } from './messages';
import type { RunPaths } from '../activities/run';
import { evaluateTestWithKl, runOnOf } from './policy';
import { klToBaseSkipReason } from '../core/klToBase';
import { testEvalSeed, trainBatchSeed } from '../core/seeds';

export interface RlCarry {
  batch: number;
  checkpoint: string | null;
  system_prompt: string;
  paths: RunPaths;
  last_test_accuracy: number | null;
  started_ms: number;
  /** pause/stop and the metrics summary at the moment of continue-as-new */
  control: ControlState;
}

export interface RlResult {
  run_id: string;
  run_dir: string;
  batches_done: number;
  final_checkpoint: string | null;
  final_test_accuracy: number | null;
  initial_test_accuracy: number | null;
  stopped: boolean;
}

/** One run of this workflow (one execution between continue-as-new): the status holds the live checkpoint and prompt. */
interface RlRun {
  input: RlInput;
  trainer: ReturnType<typeof trainerActivities>;
  run_id: string;
  paths: RunPaths;
  train_size: number;
  status: RlStatus;
  control: Control;
  started_ms: number;
}

export async function rlTraining(raw: unknown, carry?: RlCarry): Promise<RlResult> {
  const input = parseInput<RlInput>('rlTraining', raw);
  const status = startStatus(input, carry);
  const control = installControl({ onSetPrompt: (p) => replacePrompt(status, p), initial: carry?.control });
  setStatusHandler('rlTraining', () => ({ ...status, paused: control.paused, progress: progress(status.batch, status.n_batches, 'batches') }));
  const runId = runIdOf(input.run);
  const paths =
    carry?.paths ??
    (await tsActivities.prepareRun({ run_id: runId, output_dir: input.run.output_dir, workflow_type: 'rlTraining', workflow_id: workflowInfo().workflowId, config: input, phase: input.phase }));
  const sizes = await tsActivities.taskSplitSizes({ task: input.task });
  const r: RlRun = { input, trainer: trainerActivities(input.run.trainer_heartbeat_timeout_s), run_id: runId, paths, train_size: sizes.train, status, control, started_ms: carry?.started_ms ?? Date.now() };

  let initialTestAccuracy: number | null = null;
  if (!carry) {
    const ev = await evaluate(r);
    initialTestAccuracy = ev.accuracy;
    await logMetrics(paths, input.run, [initialEvalRow(ev)], control);
  }
  let batch = status.batch;
  let records: Writing = null;
  let prompts: Prebuilt = null;
  for (; batch < input.rl.n_batches; batch++) {
    if (await control.checkpoint()) break;
    ({ records, prompts } = await runBatch(r, batch, records, prompts));
    if (workflowInfo().continueAsNewSuggested && batch + 1 < input.rl.n_batches) {
      await written(records);
      await condition(allHandlersFinished);
      return continueAsNew<typeof rlTraining>(raw, carryOf(r, batch + 1));
    }
  }
  await written(records);
  status.phase = 'done';
  return finishTraining(paths, control, {
    run_id: runId,
    run_dir: paths.run_dir,
    batches_done: batch,
    final_checkpoint: status.checkpoint,
    final_test_accuracy: status.test_accuracy,
    initial_test_accuracy: initialTestAccuracy,
    stopped: control.stopRequested,
  } satisfies RlResult);
}

function startStatus(input: RlInput, carry: RlCarry | undefined): RlStatus {
  const status: RlStatus = {
    phase: 'starting',
    batch: carry?.batch ?? 0,
    n_batches: input.rl.n_batches,
    reward: null,
    accuracy: null,
    test_accuracy: carry?.last_test_accuracy ?? null,
    checkpoint: carry?.checkpoint ?? input.policy.checkpoint,
    paused: false,
    system_prompt: carry?.system_prompt ?? input.system_prompt,
    warnings: [],
  };
  const offPolicy = offPolicySamplingWarning(input.policy.backend, input.policy.temperature, input.policy.top_p);
  if (offPolicy) {
    status.warnings.push(offPolicy);
    if (!carry) log.warn(offPolicy); // once per run, not again after continue-as-new
  }
  const noKl = klToBaseSkipReason(input.policy.backend);
  if (noKl) {
    status.warnings.push(noKl);
    if (!carry) log.warn(noKl);
  }
  return status;
}

/** set_prompt: the next batch samples under the new prompt; returns the previous one. */
function replacePrompt(status: RlStatus, prompt: string): string {
  const prev = status.system_prompt;
  status.system_prompt = prompt;
  log.info('system prompt replaced by set_prompt', { old: prev.slice(0, 80), new: prompt.slice(0, 80) });
  return prev;
}

function carryOf(r: RlRun, nextBatch: number): RlCarry {
  return {
    batch: nextBatch,
    checkpoint: r.status.checkpoint,
    system_prompt: r.status.system_prompt,
    paths: r.paths,
    last_test_accuracy: r.status.test_accuracy,
    started_ms: r.started_ms,
    control: r.control.snapshot(),
  };
}

/**
 * A batch's rows being written to the run directory while the next batch samples (their activities
 * off the step's critical path): it resolves to the write's error, or null, and never rejects, so a
 * failed write is not an unhandled rejection; `written` rethrows it. Awaited before the next batch's
 * rows (the files keep their order), before continue-as-new and before the run ends.
 */
type Writing = { done: Promise<unknown> } | null; // wrapped: an async function returning a bare promise would wait for it
async function written(w: Writing): Promise<void> {
  const err = await w?.done;
  if (err) throw err;
}

/** A batch's planned problems and their prompts, built while the batch before it trains; used if the prompt is still the one they were built under. */
interface BatchPrompts {
  indices: number[];
  system_prompt: string;
  prompts_ref: BlobRef;
  golds_ref?: BlobRef;
}
type Prebuilt = { ready: Promise<BatchPrompts | null> } | null; // null: the build failed; the batch builds them again itself

function buildBatchPrompts(r: RlRun, position: number): Promise<BatchPrompts> {
  const { input, status, paths } = r;
  const system_prompt = status.system_prompt;
  const indices = planBatch(r.train_size, position, input.rl.groups_per_batch, input.run.seed);
  return tsActivities.buildPrompts({ task: input.task, split: 'train', indices, system_prompt, blob_dir: paths.blob_dir }).then((b) => ({ indices, system_prompt, ...b }));
}

/**
 * One batch: sample and score the planned problems, train on their advantages (while the next
 * batch's prompts are built), maybe evaluate; its rows start being written. Returns the writing and
 * the next batch's prompts.
 */
async function runBatch(r: RlRun, batch: number, previous: Writing, prebuilt: Prebuilt): Promise<{ records: Writing; prompts: Prebuilt }> {
  const { input, status } = r;
  const tBatch = Date.now();
  status.batch = batch;
  // the position in the train order continues an earlier phase's (start_batch); so does the sampling seed
  const position = input.start_batch + batch;
  const { rollouts_ref, scored } = await sampleBatch(r, position, prebuilt);
  const adv = computeBatchAdvantages(scored.rewards_PG, { advantage: input.rl.advantage, drop_constant_reward_groups: input.rl.drop_constant_reward_groups });
  status.reward = mean(scored.rewards_PG.flat());
  status.accuracy = fractionTrue(scored.correct_PG.flat());

  status.phase = 'training';
  const prompts: Prebuilt = batch + 1 < input.rl.n_batches ? { ready: buildBatchPrompts(r, position + 1).catch(() => null) } : null;
  const optim = await trainBatch(r, trainerRunId(r.run_id, r.input.phase), batch, rollouts_ref, adv.advantages_PG.flat());
  const test = shouldEval(batch + 1, input.rl.eval_every, input.rl.n_batches) ? await evaluate(r) : null;
  const row = rlBatchRow({
    batch,
    n_batches: input.rl.n_batches,
    rewards_PG: scored.rewards_PG,
    correct_PG: scored.correct_PG,
    format_ok_PG: scored.format_ok_PG,
    num_tokens_PG: scored.num_tokens_PG,
    n_constant_groups: adv.n_constant_groups,
    optim,
    test,
    seconds_batch: (Date.now() - tBatch) / 1000,
    seconds_total: (Date.now() - r.started_ms) / 1000,
    checkpoint: status.checkpoint,
  });
  await written(previous);
  const samples = async () =>
    tsActivities.appendRows({
      run_dir: r.paths.run_dir,
      file: 'samples.jsonl',
      rows: await tsActivities.sampleRows({ traces_ref: scored.traces_ref, phase: input.phase ?? 'rl', step: batch, max_rows: 2 }),
    });
  const done = Promise.all([logMetrics(r.paths, input.run, [row], r.control), samples()]).then(
    () => null,
    (err: unknown) => err,
  );
  return { records: { done }, prompts };
}

/** group_size samples of each planned problem from the current checkpoint under the current prompt, scored by the task. */
async function sampleBatch(r: RlRun, position: number, prebuilt: Prebuilt) {
  const { input, status, paths } = r;
  status.phase = 'sampling';
  // prompts built while the previous batch trained (for this position), unless set_prompt has replaced the prompt since
  const ready = await prebuilt?.ready;
  const { indices: indices_P, prompts_ref, golds_ref } = ready && ready.system_prompt === status.system_prompt ? ready : await buildBatchPrompts(r, position);
  const sample = await r.trainer.policy_sample({
    model: modelRef(input.policy),
    checkpoint: status.checkpoint,
    prompts_ref,
    num_samples: input.rl.group_size,
    sampling: samplingParams(input.policy, trainBatchSeed(input.run.seed, position)),
    blob_dir: paths.blob_dir,
    return_texts: false,
  });
  status.phase = 'scoring';
  const scored = await scoreRollouts({ task: input.task, split: 'train', indices: indices_P, prompts_ref, golds_ref, rollouts_ref: sample.rollouts_ref, blob_dir: paths.blob_dir });
  return { rollouts_ref: sample.rollouts_ref, scored };
}

/**
 * Test-split evaluation of the current checkpoint under the current prompt, with KL(π_θ‖π_base) on
 * its rollouts (test/kl_to_base, core/klToBase.ts; π_base = policy.checkpoint, the run's start: for a
 * gepa-rl phase, that phase's start); the split size is read each time (a replayed history has that
 * activity here).
 */
async function evaluate(r: RlRun): Promise<TestScore> {
  const { input, status } = r;
  status.phase = 'eval';
  const sizes = await tsActivities.taskSplitSizes({ task: input.task });
  const on = runOnOf(input, r.paths.blob_dir, status.checkpoint);
  const ev = await evaluateTestWithKl(on, testProblems(input.n_eval, sizes.test), status.system_prompt, testEvalSeed(input.run.seed), { base_checkpoint: input.policy.checkpoint });
  status.test_accuracy = ev.accuracy;
  return ev;
}
