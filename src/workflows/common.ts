/**
 * Shared workflow plumbing: activity proxies with their timeouts/retries, config parsing into a
 * non-retryable failure, the model reference built from the policy config, and the metrics sinks.
 * Deterministic only.
 */
import { ActivityFailure, allHandlersFinished, ApplicationFailure, condition, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type * as TsActivities from '../activities';
import type { RunPaths } from '../activities/run';
import type { ScoreRolloutsRequest, ScoreRolloutsResult } from '../activities/tasks';
import type { GraderActivities, TrainerActivities } from '../activities/trainer';
import { GRADER_TASK_QUEUE, TRAINER_TASK_QUEUE } from '../constants';
import { ConfigError, modelRefOf, parseWorkflowInput, type PolicyConfig, type RunConfig, type TrainablePolicyConfig } from '../config';
import { gradedByMathVerify } from '../config/task';
import type { WorkflowType } from '../constants';
import { FAILURE, NON_RETRYABLE } from '../failures';
import { foldMetrics, type Control } from './control';
import type { ModelRef } from '../types';
import { mean, type MetricsRow } from '../core/metrics';
import { reflectionErrorOutcome, type ProposalOutcome } from '../core/gepa';
import { hasLearningSignal, shouldSave } from '../core/rl';
import { optimParams, type OptimConfig, type RlConfig } from '../config';
import type { BlobRef } from '../types';

/**
 * Every TS activity heartbeats while it runs (src/activities/pulse.ts), so the heartbeat timeout is
 * seconds: an attempt on a dead TS worker is retried within it, not after the start-to-close timeout.
 */
export const TS_HEARTBEAT_TIMEOUT = '20 seconds';
/** The TS worker's activities (task queue gepa-rl), beside `trainerActivities` (the Python worker's). */
export const tsActivities = proxyActivities<typeof TsActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: TS_HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE.ts_activities },
});

/**
 * Trainer calls can be long (a batch of samples, a train step on CPU); they heartbeat, so a killed
 * trainer worker is noticed after the heartbeat timeout and the call is retried on another one.
 */
export function trainerActivities(heartbeatTimeoutS = 20) {
  return proxyActivities<TrainerActivities>({
    taskQueue: TRAINER_TASK_QUEUE,
    startToCloseTimeout: '60 minutes',
    heartbeatTimeout: `${heartbeatTimeoutS} seconds`,
    retry: { initialInterval: '2s', maximumInterval: '60s', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE.trainer_activities },
  });
}

/**
 * Math-Verify grading (one call per sampled chunk) on its own queue; it heartbeats, so a killed
 * grader is noticed and the chunk's grading retried, on this or another grader worker.
 */
const grader = proxyActivities<GraderActivities>({
  taskQueue: GRADER_TASK_QUEUE,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2s', maximumInterval: '60s', maximumAttempts: 10, nonRetryableErrorTypes: ['InvalidRequest'] },
});

/** Score a sampled chunk: math tasks first get Math-Verify's verdicts from the grader (gradedByMathVerify). */
export async function scoreRollouts(req: ScoreRolloutsRequest): Promise<ScoreRolloutsResult> {
  if (!gradedByMathVerify(req.task)) return tsActivities.scoreRollouts(req);
  if (!req.golds_ref) {
    throw ApplicationFailure.create({ type: FAILURE.InvalidRequest, nonRetryable: true, message: `task ${req.task.env} is graded by Math-Verify: pass the golds_ref buildPrompts returned` });
  }
  const { verdicts_ref } = await grader.math_verify_rollouts({ rollouts_ref: req.rollouts_ref, golds_ref: req.golds_ref, blob_dir: req.blob_dir });
  return tsActivities.scoreRollouts({ ...req, verdicts_ref });
}

/** W&B logging runs on the trainer worker (where WANDB_API_KEY lives); short, so no heartbeat. */
const wandbSink = proxyActivities<Pick<TrainerActivities, 'wandb_log'>>({
  taskQueue: TRAINER_TASK_QUEUE,
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2s', maximumInterval: '60s', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE.wandb },
});

export type { MetricsRow };

/**
 * The metrics sinks (DESIGN §4.6): metrics.jsonl always; the W&B run of this run directory too when
 * run.wandb_project is set (logged by the trainer worker, where the key lives).
 */
export async function logMetrics(paths: RunPaths, run: RunConfig, rows: MetricsRow[], control?: Pick<Control, 'metrics'>): Promise<void> {
  await tsActivities.appendRows({ run_dir: paths.run_dir, file: 'metrics.jsonl', rows });
  if (control) foldMetrics(control.metrics, rows);
  if (!run.wandb_project) return;
  const phase = paths.run_dir.length > paths.root_run_dir.length ? paths.run_dir.slice(paths.root_run_dir.length + 1) : '';
  await wandbSink.wandb_log({
    run_dir: paths.run_dir,
    run_id: runIdOf(run) + (phase ? `/${phase}` : ''),
    project: run.wandb_project,
    mode: run.wandb_mode,
    rows,
  });
}

/**
 * The end of a training workflow: run.json says completed or stopped (a stop request ends a run
 * early but cleanly) with the result as its summary; then wait for running handlers, and return.
 */
export async function finishTraining<R extends object>(paths: RunPaths, control: Pick<Control, 'stopRequested'>, result: R): Promise<R> {
  await tsActivities.finishRun({ run_dir: paths.run_dir, status: control.stopRequested ? 'stopped' : 'completed', summary: { ...(result as Record<string, unknown>) } });
  await condition(allHandlersFinished);
  return result;
}

/** Validate a workflow input; a bad config fails the workflow at once, naming every bad field. */
export function parseInput<T>(type: WorkflowType, raw: unknown): T {
  try {
    return parseWorkflowInput(type, raw) as T;
  } catch (e) {
    if (e instanceof ConfigError) {
      throw ApplicationFailure.create({ type: FAILURE.InvalidConfig, message: e.message, nonRetryable: true, details: [e.issues] });
    }
    throw e;
  }
}

export function runIdOf(run: { run_id?: string }): string {
  return run.run_id ?? workflowInfo().workflowId.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function modelRef(p: PolicyConfig | TrainablePolicyConfig): ModelRef {
  const ref = modelRefOf(p);
  if (!ref) {
    throw ApplicationFailure.create({
      type: FAILURE.InvalidConfig,
      nonRetryable: true,
      message: `policy.backend=${p.backend} cannot be sampled/trained by the trainer worker (expected local or tinker)`,
    });
  }
  return ref;
}

export { mean };

/** The run id the trainer keys checkpoints and step idempotence by: a composed run's phase gets its own. */
export function trainerRunId(runId: string, phase: string | undefined): string {
  return runId + (phase ? `/${phase}` : '');
}


/**
 * One reflection activity (gepaOptimization, fastSlowTraining). A reflection LM that errors does not
 * crash the run: a failure after Temporal's retries (429/5xx/network) is returned as a rejected
 * proposal 'reflection error: ...' and the loop goes on. The one exception, decided here: a provider
 * that cannot be used at all (missing API key or base URL, a rejected key, an unknown model: type
 * ProviderConfig) fails the run at once with that message, since every later iteration would fail
 * the same way and only burn the metric-call budget.
 */
export async function reflect(reflection: { provider: string; model: string }, args: Parameters<typeof tsActivities.proposeComponent>[0]): Promise<ProposalOutcome> {
  try {
    return await tsActivities.proposeComponent(args);
  } catch (e) {
    const cause = e instanceof ActivityFailure ? e.cause : e;
    const msg = cause instanceof Error ? cause.message : String(cause);
    if (cause instanceof ApplicationFailure && cause.type === FAILURE.ProviderConfig) {
      const { provider, model } = reflection;
      throw ApplicationFailure.create({ type: FAILURE.InvalidConfig, nonRetryable: true, message: `the reflection LM (provider=${provider}, model=${model}) cannot be used: ${msg}` });
    }
    if (!(e instanceof ActivityFailure)) throw e;
    log.warn('reflection failed after retries; recorded as a rejected proposal', { error: msg });
    return reflectionErrorOutcome(`reflection error: ${msg}`);
  }
}

/** What one RL optimiser step reads of a run (rlTraining, fastSlowTraining). */
export interface TrainStepRun {
  input: { policy: TrainablePolicyConfig; rl: Pick<RlConfig, 'loss' | 'save_every' | 'n_batches' | 'learning_rate'>; optim: OptimConfig };
  trainer: ReturnType<typeof trainerActivities>;
  paths: Pick<RunPaths, 'checkpoint_root'>;
  status: { checkpoint: string | null };
}

/**
 * One optimiser step on the batch's advantages (none when they teach nothing) under the trainer run
 * id `trainerRunId` (optimizer state is kept only within one trainer run); the new checkpoint goes
 * into the status.
 */
export async function trainBatch(r: TrainStepRun, trainerRunId: string, batch: number, rolloutsRef: BlobRef, advantages_D: number[]): Promise<Record<string, number> | null> {
  const { input, status } = r;
  if (!hasLearningSignal(advantages_D)) {
    log.info('every group has constant reward: no train step this batch', { batch });
    return null;
  }
  const step = await r.trainer.train_step({
    run_id: trainerRunId,
    step: batch,
    model: modelRef(input.policy),
    checkpoint_in: status.checkpoint,
    checkpoint_root: r.paths.checkpoint_root,
    loss: input.rl.loss,
    rollouts_ref: rolloutsRef,
    advantages: advantages_D,
    keep: shouldSave(batch + 1, input.rl.save_every, input.rl.n_batches),
    optim: optimParams(input.rl.learning_rate, input.optim),
  });
  status.checkpoint = step.checkpoint_out;
  return step.metrics as unknown as Record<string, number>;
}
