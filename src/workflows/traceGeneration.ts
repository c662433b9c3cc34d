/**
 * traceGeneration (the seeds' trace pipeline): up to max_attempts samples per train problem; the
 * first correct one is kept, else the dataset's reference solution (a fallback). Writes
 * traces.jsonl, the stats sidecar traces.stats.json (total, successes, fallbacks, success_rate,
 * mean_attempts) and sft_examples.json, which `sftTraining` trains on with source=traces.
 */
import { allHandlersFinished, condition, setHandler, workflowInfo } from '@temporalio/workflow';
import type { TraceGenerationInput } from '../config';
import { logMetrics, parseInput, runIdOf, ts } from './common';
import { statusQuery } from './control';
import { runPolicy } from './policy';

export interface TraceGenerationResult {
  run_id: string;
  run_dir: string;
  sft_examples_file: string;
  total: number;
  successes: number;
  fallbacks: number;
  success_rate: number;
  mean_attempts: number;
  skipped: number;
}

export async function traceGeneration(raw: unknown): Promise<TraceGenerationResult> {
  const input = parseInput<TraceGenerationInput>('traceGeneration', raw);
  const t = input.traces;
  const runId = runIdOf(input.run);
  const status = { phase: 'starting', step: 0, total: 0 };
  setHandler(statusQuery, () => status);
  const paths = await ts.prepareRun({ run_id: runId, output_dir: input.run.output_dir, workflow_type: 'traceGeneration', workflow_id: workflowInfo().workflowId, config: input, phase: input.phase });
  const sizes = await ts.taskSplitSizes({ task: input.task });
  const indices = Array.from({ length: Math.min(t.n_problems, sizes.train) }, (_, i) => i);
  status.total = indices.length;
  status.phase = 'sampling';
  const ev = await runPolicy(
    { task: input.task, policy: input.policy, blob_dir: paths.blob_dir, parallelism: t.parallelism, trainer_heartbeat_timeout_s: input.run.trainer_heartbeat_timeout_s },
    'train',
    indices,
    input.system_prompt,
    { numSamples: t.max_attempts, seed: input.run.seed },
  );
  status.phase = 'writing';
  const stats = await ts.writeTraceFiles({ run_dir: paths.run_dir, task: input.task, system_prompt: input.system_prompt, traces_refs: ev.traces_refs, indices, max_attempts: t.max_attempts });
  status.step = indices.length;
  await logMetrics(paths, input.run, [{ key: 'traces', step: 0, ...Object.fromEntries(Object.entries(stats).map(([k, v]) => [`traces/${k}`, v])) }]);
  status.phase = 'done';
  const result: TraceGenerationResult = { run_id: runId, run_dir: paths.run_dir, sft_examples_file: `${paths.run_dir}/sft_examples.json`, ...stats };
  await ts.finishRun({ run_dir: paths.run_dir, status: 'completed', summary: { ...result } });
  await condition(allHandlersFinished);
  return result;
}
