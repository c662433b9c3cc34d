/**
 * sftTraining (the seeds' SFT pipeline): supervised fine-tuning with the cross_entropy loss on
 * (x -> y*) under the clean system prompt, from the dataset's reference solutions (GSM8K
 * rationales, MATH solutions) or from a traceGeneration run's sft_examples.json. One optimiser step
 * per batch of examples (the loop in sftLoop.ts, shared with expert iteration); test accuracy before and after.
 */
import { allHandlersFinished, ApplicationFailure, condition, log, setHandler, workflowInfo } from '@temporalio/workflow';
import { FAILURE } from '../failures';
import type { SftInput } from '../config';
import { logMetrics, modelRef, parseInput, runIdOf, trainerActivities, ts } from './common';
import { installControl } from './control';
import { progress, statusQueries } from './messages';
import { evaluateTest, type RunOn } from './policy';
import { trainSft } from './sftLoop';
import { testEvalSeed } from '../core/seeds';
import { initialEvalRow } from '../core/evalRows';

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

export async function sftTraining(raw: unknown): Promise<SftResult> {
  const input = parseInput<SftInput>('sftTraining', raw);
  const s = input.sft;
  const trainer = trainerActivities(input.run.trainer_heartbeat_timeout_s);
  const runId = runIdOf(input.run);
  const status = { phase: 'starting', step: 0, total: 0, loss: null as number | null, test_accuracy: null as number | null, checkpoint: input.policy.checkpoint };
  const control = installControl();
  setHandler(statusQueries.sftTraining, () => ({ ...status, paused: control.paused, progress: progress(status.step, status.total, 'steps') }));
  const paths = await ts.prepareRun({ run_id: runId, output_dir: input.run.output_dir, workflow_type: 'sftTraining', workflow_id: workflowInfo().workflowId, config: input, phase: input.phase });
  const on: RunOn = { task: input.task, policy: input.policy, blob_dir: paths.blob_dir, parallelism: 1, trainer_heartbeat_timeout_s: input.run.trainer_heartbeat_timeout_s };
  const sizes = await ts.taskSplitSizes({ task: input.task });
  const testIdx = Array.from({ length: Math.min(input.n_eval ?? sizes.test, sizes.test) }, (_, i) => i);
  const evalTest = async (ckpt: string | null) => {
    if (testIdx.length === 0) return null;
    status.phase = 'eval';
    const t = await evaluateTest({ ...on, checkpoint: ckpt }, testIdx, input.system_prompt, testEvalSeed(input.run.seed));
    status.test_accuracy = t.accuracy;
    return t;
  };

  status.phase = 'preparing';
  const data = await ts.sftFromReference({ task: input.task, system_prompt: input.system_prompt, n: s.train_samples, batch_size: s.batch_size, blob_dir: paths.blob_dir, file: s.source === 'traces' ? s.traces_file : undefined });
  if (data.n === 0) {
    throw ApplicationFailure.create({
      type: FAILURE.NoTrainingData,
      nonRetryable: true,
      message: `no SFT examples: ${s.source === 'traces' ? `${s.traces_file} holds none` : `the first ${s.train_samples} train rows of ${input.task.env} have no reference solution (${data.skipped} skipped)`}`,
    });
  }
  if (data.answer_fallbacks > 0) log.warn('rows without a worked solution: trained on their bare gold answer', { rows: data.answer_fallbacks, examples: data.n });
  status.total = data.batches.length * s.n_epochs;
  const t0 = await evalTest(input.policy.checkpoint);
  const initial = t0?.accuracy ?? null;
  if (t0) await logMetrics(paths, input.run, [initialEvalRow(t0)], control);

  const loop = await trainSft({
    trainer,
    run_id: runId + (input.phase ? `/${input.phase}` : ''),
    model: modelRef(input.policy),
    checkpoint_in: input.policy.checkpoint,
    checkpoint_root: paths.checkpoint_root,
    batches: data.batches,
    epochs: s.n_epochs,
    first_step: 0,
    learning_rate: s.learning_rate,
    optim: input.optim,
    before: async () => {
      const stop = await control.checkpoint();
      status.phase = 'training';
      return stop;
    },
    after: async ({ index, epoch, metrics, checkpoint }) => {
      const step = index + 1;
      status.step = step;
      status.checkpoint = checkpoint;
      status.loss = metrics.loss;
      const test = step === status.total ? await evalTest(checkpoint) : null;
      await logMetrics(paths, input.run, [
        {
          key: `step-${index}`,
          step,
          'progress/batch': index,
          'progress/epoch': epoch,
          'progress/done_frac': step / status.total,
          // what the data held, once: examples, rows skipped, rows trained on the bare answer
          ...(step === 1 ? { 'sft/examples': data.n, 'sft/skipped_examples': data.skipped, 'sft/answer_fallbacks': data.answer_fallbacks } : {}),
          'optim/loss': metrics.loss,
          'optim/entropy': metrics.entropy,
          'optim/grad_norm': metrics.grad_norm,
          'optim/tokens': metrics.tokens,
          ...(test ? { 'test/env/all/correct': test.accuracy, 'test/env/all/reward/total': test.reward } : {}),
          checkpoint,
        },
      ], control);
    },
  });
  const checkpoint = loop.checkpoint;
  const step = loop.steps;
  // stopped early: still report where the weights ended up
  if (step > 0 && step < status.total) await evalTest(checkpoint);
  status.phase = 'done';
  const result: SftResult = {
    run_id: runId,
    run_dir: paths.run_dir,
    steps_done: step,
    examples: data.n,
    skipped_examples: data.skipped,
    answer_fallbacks: data.answer_fallbacks,
    final_checkpoint: checkpoint,
    initial_test_accuracy: initial,
    final_test_accuracy: status.test_accuracy,
    stopped: control.stopRequested,
  };
  await ts.finishRun({ run_dir: paths.run_dir, status: control.stopRequested ? 'stopped' : 'completed', summary: { ...result } });
  await condition(allHandlersFinished);
  return result;
}
