/**
 * sftTraining (the seeds' SFT pipeline): supervised fine-tuning with the cross_entropy loss on
 * (x -> y*) under the clean system prompt, from the dataset's reference solutions (GSM8K
 * rationales, MATH solutions) or from a traceGeneration run's sft_examples.json. One optimiser step
 * per batch of examples, the examples reshuffled every epoch (seeded by the run seed) (the loop in sftLoop.ts, shared with expert iteration); test accuracy before and after.
 */
import { ApplicationFailure, log, workflowInfo } from '@temporalio/workflow';
import { FAILURE } from '../failures';
import type { SftInput } from '../config';
import { sftBatchesPerEpoch, sftStepRow } from '../core/expert/sft';
import { initialEvalRow, type TestScore } from '../core/metrics';
import { testProblems } from '../core/rl';
import { testEvalSeed } from '../core/seeds';
import type { RunPaths } from '../activities/run';
import { finishTraining, logMetrics, modelRef, parseInput, runIdOf, trainerActivities, trainerRunId, tsActivities } from './common';
import { installControl, setStatusHandler, type Control } from './control';
import { progress } from './messages';
import { evaluateTest, runOnOf } from './policy';
import { trainSft, type SftStep } from './sftLoop';

export interface SftResult {
  run_id: string;
  run_dir: string;
  steps_done: number;
  examples: number;
  skipped_examples: number;
  /** source=reference: rows with no worked solution, trained on their bare gold answer instead */
  answer_fallbacks: number;
  final_checkpoint: string | null;
  initial_test_accuracy: number | null;
  final_test_accuracy: number | null;
  stopped: boolean;
}

type SftData = Awaited<ReturnType<typeof tsActivities.sftFromReference>>;

interface SftRun {
  input: SftInput;
  paths: RunPaths;
  test_indices: number[];
  status: { phase: string; step: number; total: number; loss: number | null; test_accuracy: number | null; checkpoint: string | null };
  control: Control;
}

export async function sftTraining(raw: unknown): Promise<SftResult> {
  const input = parseInput<SftInput>('sftTraining', raw);
  const runId = runIdOf(input.run);
  const status: SftRun['status'] = { phase: 'starting', step: 0, total: 0, loss: null, test_accuracy: null, checkpoint: input.policy.checkpoint };
  const control = installControl();
  setStatusHandler('sftTraining', () => ({ ...status, paused: control.paused, progress: progress(status.step, status.total, 'steps') }));
  const paths = await tsActivities.prepareRun({ run_id: runId, output_dir: input.run.output_dir, workflow_type: 'sftTraining', workflow_id: workflowInfo().workflowId, config: input, phase: input.phase });
  const sizes = await tsActivities.taskSplitSizes({ task: input.task });
  const r: SftRun = { input, paths, test_indices: testProblems(input.n_eval, sizes.test), status, control };

  status.phase = 'preparing';
  const data = await loadExamples(r);
  const batchesPerEpoch = sftBatchesPerEpoch(data.n, input.sft.batch_size);
  status.total = batchesPerEpoch * input.sft.n_epochs;
  const t0 = await evaluate(r, input.policy.checkpoint);
  if (t0) await logMetrics(paths, input.run, [initialEvalRow(t0)], control);

  const loop = await trainSft({
    trainer: trainerActivities(input.run.trainer_heartbeat_timeout_s),
    run_id: trainerRunId(runId, input.phase),
    model: modelRef(input.policy),
    checkpoint_in: input.policy.checkpoint,
    checkpoint_root: paths.checkpoint_root,
    // every epoch (the first too) in its own order, as tinker-cookbook's set_epoch and the HF Trainer
    epochBatches: async (epoch) => (await tsActivities.sftBatchesOf({ refs: data.batches, batch_size: input.sft.batch_size, seed: input.run.seed, epoch, blob_dir: paths.blob_dir })).batches,
    batches_per_epoch: batchesPerEpoch,
    epochs: input.sft.n_epochs,
    first_step: 0,
    learning_rate: input.sft.learning_rate,
    optim: input.optim,
    before: async () => {
      const stop = await control.checkpoint();
      status.phase = 'training';
      return stop;
    },
    after: (s) => recordStep(r, data, s),
  });
  // stopped early: still report where the weights ended up
  if (loop.steps > 0 && loop.steps < status.total) await evaluate(r, loop.checkpoint);
  status.phase = 'done';
  return finishTraining(paths, control, {
    run_id: runId,
    run_dir: paths.run_dir,
    steps_done: loop.steps,
    examples: data.n,
    skipped_examples: data.skipped,
    answer_fallbacks: data.answer_fallbacks,
    final_checkpoint: loop.checkpoint,
    initial_test_accuracy: t0?.accuracy ?? null,
    final_test_accuracy: status.test_accuracy,
    stopped: control.stopRequested,
  } satisfies SftResult);
}

/** The examples in optimiser-step batches; none at all fails the run, saying where they were looked for. */
async function loadExamples(r: SftRun): Promise<SftData> {
  const { input, paths } = r;
  const s = input.sft;
  const data = await tsActivities.sftFromReference({ task: input.task, system_prompt: input.system_prompt, n: s.train_samples, batch_size: s.batch_size, blob_dir: paths.blob_dir, file: s.source === 'traces' ? s.traces_file : undefined });
  if (data.n === 0) {
    throw ApplicationFailure.create({
      type: FAILURE.NoTrainingData,
      nonRetryable: true,
      message: `no SFT examples: ${s.source === 'traces' ? `${s.traces_file} holds none` : `the first ${s.train_samples} train rows of ${input.task.env} have no reference solution (${data.skipped} skipped)`}`,
    });
  }
  if (data.answer_fallbacks > 0) log.warn('rows without a worked solution: trained on their bare gold answer', { rows: data.answer_fallbacks, examples: data.n });
  return data;
}

/** After every step: the status, the final evaluation after the last step, and the step's metrics row. */
async function recordStep(r: SftRun, data: SftData, s: SftStep): Promise<void> {
  const { status } = r;
  status.step = s.index + 1;
  status.checkpoint = s.checkpoint;
  status.loss = s.metrics.loss;
  const test = status.step === status.total ? await evaluate(r, s.checkpoint) : null;
  const row = sftStepRow({
    index: s.index,
    total: status.total,
    epoch: s.epoch,
    data: { examples: data.n, skipped_examples: data.skipped, answer_fallbacks: data.answer_fallbacks },
    metrics: s.metrics,
    test,
    checkpoint: s.checkpoint,
  });
  await logMetrics(r.paths, r.input.run, [row], r.control);
}

/** The fixed-seed test evaluation of a checkpoint (none when the run evaluates no test problem). */
async function evaluate(r: SftRun, checkpoint: string | null): Promise<TestScore | null> {
  if (r.test_indices.length === 0) return null;
  r.status.phase = 'eval';
  const t = await evaluateTest(runOnOf(r.input, r.paths.blob_dir, checkpoint), r.test_indices, r.input.system_prompt, testEvalSeed(r.input.run.seed));
  r.status.test_accuracy = t.accuracy;
  return t;
}
