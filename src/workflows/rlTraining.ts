/**
 * rlTraining (DESIGN §5 "RL"): per batch, groups_per_batch problems x group_size samples from the
 * current checkpoint under the current system prompt; rewards from the task; group advantages;
 * one train step; eval every eval_every; continue-as-new when Temporal suggests it. Every step writes
 * a checkpoint (resume needs the latest); the trainer keeps every save_every-th and the last, and
 * prunes the others once the next step is done. A run that fails (a NaN loss, a missing checkpoint)
 * is marked failed in run.json, with the reason, by the error boundary (boundary.ts).
 * Every rule (batch plan, advantages, metric names, eval/save schedule) lives in src/core/rl/.
 */
import { allHandlersFinished, condition, continueAsNew, log, setHandler, workflowInfo } from '@temporalio/workflow';
import { optimParams, samplingParams, type RlInput } from '../config';
import { computeBatchAdvantages, offPolicySamplingWarning, planBatch, rlMetricsRow, shouldEval, shouldSave } from '../core/rl';
import type { BlobRef } from '../types';
import { logMetrics, mean, modelRef, parseInput, runIdOf, scoreRollouts, trainerActivities, ts } from './common';
import { installControl, type ControlState } from './control';
import { progress, statusQueries } from './messages';
import type { RunPaths } from '../activities/run';
import { evaluateTest, type RunOn } from './policy';
import { testEvalSeed, trainBatchSeed } from '../core/seeds';
import { initialEvalRow } from '../core/evalRows';

export interface RlCarry {
  batch: number;
  checkpoint: string | null;
  system_prompt: string;
  paths: RunPaths;
  last_test_accuracy: number | null;
  started_ms: number;
  /** pause/stop and the metrics summary at the moment of continue-as-new (absent in older carries) */
  control?: ControlState;
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

export interface RlStatus {
  phase: string;
  batch: number;
  n_batches: number;
  reward: number | null;
  accuracy: number | null;
  test_accuracy: number | null;
  checkpoint: string | null;
  paused: boolean;
  system_prompt: string;
  /** what makes this run's numbers mean less than their names (e.g. off-policy sampling) */
  warnings: string[];
}

/** Test-split evaluation; the split size is read each time (a replayed history has that activity here). */
async function evaluateSplit(input: RlInput, paths: RunPaths, checkpoint: string | null, systemPrompt: string, seed: number) {
  const sizes = await ts.taskSplitSizes({ task: input.task });
  const n = Math.min(input.n_eval ?? sizes.test, sizes.test);
  const on: RunOn = { task: input.task, policy: input.policy, checkpoint, blob_dir: paths.blob_dir, parallelism: 1, trainer_heartbeat_timeout_s: input.run.trainer_heartbeat_timeout_s };
  return evaluateTest(on, Array.from({ length: n }, (_, i) => i), systemPrompt, seed);
}

export async function rlTraining(raw: unknown, carry?: RlCarry): Promise<RlResult> {
  const input = parseInput<RlInput>('rlTraining', raw);
  const trainer = trainerActivities(input.run.trainer_heartbeat_timeout_s);
  const runId = runIdOf(input.run);
  const nBatches = input.rl.n_batches;
  let systemPrompt = carry?.system_prompt ?? input.system_prompt;
  const status: RlStatus = {
    phase: 'starting',
    batch: carry?.batch ?? 0,
    n_batches: nBatches,
    reward: null,
    accuracy: null,
    test_accuracy: carry?.last_test_accuracy ?? null,
    checkpoint: carry?.checkpoint ?? input.policy.checkpoint,
    paused: false,
    system_prompt: systemPrompt,
    warnings: [],
  };
  const offPolicy = offPolicySamplingWarning(input.policy.backend, input.policy.temperature, input.policy.top_p);
  if (offPolicy) {
    status.warnings.push(offPolicy);
    if (!carry) log.warn(offPolicy); // once per run, not again after continue-as-new
  }
  const control = installControl({
    onSetPrompt: (p) => {
      const prev = systemPrompt;
      systemPrompt = p;
      status.system_prompt = p;
      log.info('system prompt replaced by set_prompt', { old: prev.slice(0, 80), new: p.slice(0, 80) });
      return prev;
    },
    initial: carry?.control,
  });
  setHandler(statusQueries.rlTraining, () => ({ ...status, paused: control.paused, progress: progress(status.batch, status.n_batches, 'batches') }));

  const paths =
    carry?.paths ??
    (await ts.prepareRun({
      run_id: runId,
      output_dir: input.run.output_dir,
      workflow_type: 'rlTraining',
      workflow_id: workflowInfo().workflowId,
      config: input,
      phase: input.phase,
    }));
  const sizes = await ts.taskSplitSizes({ task: input.task });
  let checkpoint = status.checkpoint;
  let initialTestAccuracy: number | null = null;
  const t0 = carry?.started_ms ?? Date.now();

  if (!carry && shouldEval(0, input.rl.eval_every, nBatches, 'start')) {
    status.phase = 'eval';
    const ev = await evaluateSplit(input, paths, checkpoint, systemPrompt, testEvalSeed(input.run.seed));
    initialTestAccuracy = ev.accuracy;
    status.test_accuracy = ev.accuracy;
    await logMetrics(paths, input.run, [initialEvalRow(ev)], control);
  }

  let batch = status.batch;
  for (; batch < nBatches; batch++) {
    if (await control.checkpoint()) break;
    status.batch = batch;
    status.phase = 'sampling';
    const tBatch = Date.now();
    // the position in the train order continues an earlier phase's (start_batch); so does the sampling seed
    const position = input.start_batch + batch;
    const indices_P = planBatch(sizes.train, position, input.rl.groups_per_batch, input.run.seed);
    const { prompts_ref, golds_ref } = await ts.buildPrompts({ task: input.task, split: 'train', indices: indices_P, system_prompt: systemPrompt, blob_dir: paths.blob_dir });
    const sample = await trainer.policy_sample({
      model: modelRef(input.policy),
      checkpoint,
      prompts_ref,
      num_samples: input.rl.group_size,
      sampling: samplingParams(input.policy, trainBatchSeed(input.run.seed, position)),
      blob_dir: paths.blob_dir,
      return_texts: false,
    });
    status.phase = 'scoring';
    const scored = await scoreRollouts({ task: input.task, split: 'train', indices: indices_P, prompts_ref, golds_ref, rollouts_ref: sample.rollouts_ref, blob_dir: paths.blob_dir });
    const adv = computeBatchAdvantages(scored.rewards_PG, {
      advantage: input.rl.advantage,
      drop_constant_reward_groups: input.rl.drop_constant_reward_groups,
    });
    status.reward = mean(scored.rewards_PG.flat());
    status.accuracy = mean(scored.correct_PG.flat().map((c) => (c ? 1 : 0)));

    status.phase = 'training';
    const advantages_D = adv.advantages_PG.flat();
    let optim: Record<string, number> | null = null;
    if (advantages_D.some((a) => a !== 0)) {
      const step = await trainer.train_step({
        run_id: runId + (input.phase ? `/${input.phase}` : ''),
        step: batch,
        model: modelRef(input.policy),
        checkpoint_in: checkpoint,
        checkpoint_root: paths.checkpoint_root,
        loss: input.rl.loss,
        rollouts_ref: sample.rollouts_ref,
        advantages: advantages_D,
        keep: shouldSave(batch + 1, input.rl.save_every, nBatches),
        optim: optimParams(input.rl.learning_rate, input.optim),
      });
      checkpoint = step.checkpoint_out;
      optim = step.metrics as unknown as Record<string, number>;
    } else {
      log.info('every group has constant reward: no train step this batch', { batch });
    }
    status.checkpoint = checkpoint;

    let test: { accuracy: number; reward: number } | null = null;
    if (shouldEval(batch + 1, input.rl.eval_every, nBatches, 'after')) {
      status.phase = 'eval';
      test = await evaluateSplit(input, paths, checkpoint, systemPrompt, testEvalSeed(input.run.seed));
      status.test_accuracy = test.accuracy;
    }
    const row = rlMetricsRow({
      batch,
      n_batches: nBatches,
      rewards_PG: scored.rewards_PG,
      correct_PG: scored.correct_PG,
      format_ok_PG: scored.format_ok_PG,
      num_tokens_PG: scored.num_tokens_PG,
      n_constant_groups: adv.n_constant_groups,
      optim,
      test,
      seconds_batch: (Date.now() - tBatch) / 1000,
      seconds_total: (Date.now() - t0) / 1000,
    });
    await logMetrics(paths, input.run, [{ key: `batch-${batch}`, step: batch + 1, checkpoint, ...row }], control);
    await ts.appendRows({
      run_dir: paths.run_dir,
      file: 'samples.jsonl',
      rows: await ts.sampleRows({ traces_ref: scored.traces_ref, phase: input.phase ?? 'rl', step: batch, max_rows: 2 }),
    });

    if (workflowInfo().continueAsNewSuggested && batch + 1 < nBatches) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof rlTraining>(raw, {
        batch: batch + 1,
        checkpoint,
        system_prompt: systemPrompt,
        paths,
        last_test_accuracy: status.test_accuracy,
        started_ms: t0,
        control: control.snapshot(),
      });
    }
  }
  status.phase = 'done';
  const result: RlResult = {
    run_id: runId,
    run_dir: paths.run_dir,
    batches_done: batch,
    final_checkpoint: checkpoint,
    final_test_accuracy: status.test_accuracy,
    initial_test_accuracy: initialTestAccuracy,
    stopped: control.stopRequested,
  };
  await ts.finishRun({ run_dir: paths.run_dir, status: control.stopRequested ? 'stopped' : 'completed', summary: { ...result } });
  await condition(allHandlersFinished);
  return result;
}
