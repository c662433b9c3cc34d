/**
 * traceGeneration (the seeds' trace pipeline): up to max_attempts samples per train problem; the
 * first correct one is kept, else the dataset's reference solution (a fallback). Writes
 * traces.jsonl, the stats sidecar traces.stats.json (total, successes, fallbacks, success_rate,
 * mean_attempts) and sft_examples.json, which `sftTraining` trains on with source=traces.
 * Problems without a ground truth are never sampled (counted). Samples in waves: `pause` waits
 * between waves, `stop` finishes the current wave and writes the files for the problems done.
 */
import { allHandlersFinished, condition, workflowInfo } from '@temporalio/workflow';
import type { TraceGenerationInput } from '../config';
import { logMetrics, parseInput, runIdOf, tsActivities } from './common';
import { betweenWaves, installControl, setStatusHandler } from './control';
import { progress } from './messages';
import { runPolicyInWaves } from './policy';
import type { TraceStats } from '../core/expert';

/** The trace statistics (core/expert/traces.ts) of the run, where its files are, and whether it stopped early. */
export interface TraceGenerationResult extends TraceStats {
  run_id: string;
  run_dir: string;
  sft_examples_file: string;
  /** stopped early: the files cover the problems of the waves done */
  stopped: boolean;
}

export async function traceGeneration(raw: unknown): Promise<TraceGenerationResult> {
  const input = parseInput<TraceGenerationInput>('traceGeneration', raw);
  const t = input.traces;
  const runId = runIdOf(input.run);
  const status = { phase: 'starting', step: 0, total: 0 };
  const control = installControl();
  setStatusHandler('traceGeneration', () => ({ ...status, paused: control.paused, progress: progress(status.step, status.total, 'problems') }));
  const paths = await tsActivities.prepareRun({ run_id: runId, output_dir: input.run.output_dir, workflow_type: 'traceGeneration', workflow_id: workflowInfo().workflowId, config: input, phase: input.phase });
  const sizes = await tsActivities.taskSplitSizes({ task: input.task });
  const planned = Array.from({ length: Math.min(t.n_problems, sizes.train) }, (_, i) => i);
  // a problem with no gold answer cannot verify a sample (`contains` would accept any): not sampled
  const truth = await tsActivities.groundTruthPartition({ task: input.task, split: 'train', indices: planned });
  status.total = truth.with_truth.length;
  status.phase = 'sampling';
  const ev = await runPolicyInWaves(
    { task: input.task, policy: input.policy, blob_dir: paths.blob_dir, parallelism: t.parallelism, trainer_heartbeat_timeout_s: input.run.trainer_heartbeat_timeout_s },
    'train',
    truth.with_truth,
    input.system_prompt,
    { numSamples: t.max_attempts, seed: input.run.seed },
    betweenWaves(control, status),
  );
  status.phase = 'writing';
  const stats = await tsActivities.writeTraceFiles({
    run_dir: paths.run_dir,
    task: input.task,
    system_prompt: input.system_prompt,
    traces_refs: ev.traces_refs,
    indices: ev.done,
    max_attempts: t.max_attempts,
    skipped_no_ground_truth: truth.without_truth.length,
  });
  status.step = ev.done.length;
  await logMetrics(paths, input.run, [{ key: 'traces', step: 0, ...Object.fromEntries(Object.entries(stats).map(([k, v]) => [`traces/${k}`, v])) }], control);
  status.phase = 'done';
  const result: TraceGenerationResult = { run_id: runId, run_dir: paths.run_dir, sft_examples_file: `${paths.run_dir}/sft_examples.json`, ...stats, stopped: ev.stopped };
  await tsActivities.finishRun({ run_dir: paths.run_dir, status: ev.stopped ? 'stopped' : 'completed', summary: { ...result } });
  await condition(allHandlersFinished);
  return result;
}
