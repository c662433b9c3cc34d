/**
 * evaluation (the seeds' eval pipeline): the policy (any checkpoint, or an API model) on a split
 * under a system prompt; writes evaluation.csv (one row per example) and evaluation.json
 * (accuracy, answer proportion, thinking proportion, mean reward) under runs/<id>/. Samples in
 * waves: `pause` waits between waves, `stop` finishes the current wave and writes what is done.
 */
import { allHandlersFinished, condition, workflowInfo } from '@temporalio/workflow';
import type { EvaluationInput } from '../config';
import { isEpisodicTask } from '../config/task';
import { evaluationRow } from '../core/metrics';
import type { Tau2EvaluationSummary } from '../core/tau2';
import { logMetrics, parseInput, runIdOf, tsActivities } from './common';
import { betweenWaves, installControl, setStatusHandler } from './control';
import { progress } from './messages';
import { runPolicyInWaves } from './policy';

export interface EvaluationResult {
  run_id: string;
  run_dir: string;
  split: string;
  n: number;
  accuracy: number;
  answer_proportion: number;
  thinking_proportion: number;
  mean_reward: number;
  /** stopped early: the summary covers the first `n` examples only */
  stopped: boolean;
  /** episodic tasks (tau2-airline): pass^1..k, per-task table, refusal floor, cost */
  tau2?: Tau2EvaluationSummary;
}

export async function evaluation(raw: unknown): Promise<EvaluationResult> {
  const input = parseInput<EvaluationInput>('evaluation', raw);
  const runId = runIdOf(input.run);
  const status = { phase: 'starting', step: 0, total: 0, accuracy: null as number | null };
  const control = installControl();
  setStatusHandler('evaluation', () => ({ ...status, paused: control.paused, progress: progress(status.step, status.total, 'problems') }));
  const paths = await tsActivities.prepareRun({ run_id: runId, output_dir: input.run.output_dir, workflow_type: 'evaluation', workflow_id: workflowInfo().workflowId, config: input, phase: input.phase });
  const sizes = await tsActivities.taskSplitSizes({ task: input.task });
  const split = input.eval.split;
  const n = Math.min(input.eval.n_examples ?? sizes[split], sizes[split]);
  status.total = n;
  status.phase = 'sampling';
  const ev = await runPolicyInWaves(
    { task: input.task, policy: input.policy, blob_dir: paths.blob_dir, parallelism: input.eval.parallelism, trainer_heartbeat_timeout_s: input.run.trainer_heartbeat_timeout_s },
    split,
    Array.from({ length: n }, (_, i) => i),
    input.system_prompt,
    { seed: input.run.seed, numSamples: input.eval.trials },
    betweenWaves(control, status),
  );
  status.phase = 'writing';
  const summary = await tsActivities.writeEvaluation({ run_dir: paths.run_dir, traces_refs: ev.traces_refs });
  const tau2 = isEpisodicTask(input.task) ? await tsActivities.writeTau2Evaluation({ run_dir: paths.run_dir, split, traces_refs: ev.traces_refs }) : undefined;
  status.step = ev.done.length;
  status.accuracy = summary.accuracy;
  await logMetrics(paths, input.run, [evaluationRow(split, { ...summary, tau2 })], control);
  status.phase = 'done';
  const result: EvaluationResult = { run_id: runId, run_dir: paths.run_dir, split, ...summary, stopped: ev.stopped, ...(tau2 ? { tau2 } : {}) };
  await tsActivities.finishRun({ run_dir: paths.run_dir, status: ev.stopped ? 'stopped' : 'completed', summary: { ...result } });
  await condition(allHandlersFinished);
  return result;
}
