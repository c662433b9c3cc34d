/**
 * evaluatePrompt: accuracy of one system prompt on K problems of a task with the policy model.
 * Samples on the trainer queue (policy_sample), scores with the task's checker on the TS queue.
 */
import { workflowInfo } from '@temporalio/workflow';
import { samplingParams, type EvaluatePromptInput } from '../config';
import type { RunPaths } from '../activities/run';
import { evaluationRow } from '../core/metrics';
import { logMetrics, mean, modelRef, parseInput, runIdOf, scoreRollouts, trainerActivities, tsActivities } from './common';
import { progress, type EvaluatePromptStatus } from './messages';
import { setStatusHandler } from './control';

export interface EvaluatePromptResult {
  run_id: string;
  run_dir: string;
  accuracy: number;
  mean_reward: number;
  format_ok_rate: number;
  n: number;
  results: Array<{ index: number; id: string; reward: number; correct: boolean; extracted: string | null; output: string }>;
  traces_ref: { uri: string; sha256: string; bytes: number };
}

export async function evaluatePrompt(raw: unknown): Promise<EvaluatePromptResult> {
  const status: EvaluatePromptStatus = { phase: 'starting', done: 0, total: 0, accuracy: null };
  setStatusHandler('evaluatePrompt', () => ({ ...status, paused: false, progress: progress(status.done, status.total, 'problems') }));

  const input = parseInput<EvaluatePromptInput>('evaluatePrompt', raw);
  const runId = runIdOf(input.run);
  const paths = await tsActivities.prepareRun({
    run_id: runId,
    output_dir: input.run.output_dir,
    workflow_type: 'evaluatePrompt',
    workflow_id: workflowInfo().workflowId,
    config: input,
  });
  const sizes = await tsActivities.taskSplitSizes({ task: input.task });
  const n = Math.min(input.k, sizes[input.split]);
  status.total = n;
  const scored = await sampleAndScore(input, paths, Array.from({ length: n }, (_, i) => i), status);
  const result = await summarize(runId, paths, scored, n);
  status.phase = 'done';
  status.done = n;
  status.accuracy = result.accuracy;
  await logMetrics(paths, input.run, [evaluationRow(input.split, result)]);
  await tsActivities.finishRun({ run_dir: paths.run_dir, status: 'completed', summary: { accuracy: result.accuracy, mean_reward: result.mean_reward, n } });
  return result;
}

/** One sample per problem under the prompt, on the trainer queue; scored by the task's checker. */
async function sampleAndScore(input: EvaluatePromptInput, paths: RunPaths, indices: number[], status: EvaluatePromptStatus) {
  const { prompts_ref, golds_ref } = await tsActivities.buildPrompts({
    task: input.task,
    split: input.split,
    indices,
    system_prompt: input.prompt,
    blob_dir: paths.blob_dir,
  });
  status.phase = 'sampling';
  const sample = await trainerActivities(input.run.trainer_heartbeat_timeout_s).policy_sample({
    model: modelRef(input.policy),
    checkpoint: input.policy.checkpoint,
    prompts_ref,
    num_samples: 1,
    sampling: samplingParams(input.policy, input.run.seed),
    blob_dir: paths.blob_dir,
    return_texts: false,
  });
  status.phase = 'scoring';
  return scoreRollouts({ task: input.task, split: input.split, indices, prompts_ref, golds_ref, rollouts_ref: sample.rollouts_ref, blob_dir: paths.blob_dir });
}

async function summarize(runId: string, paths: RunPaths, scored: Awaited<ReturnType<typeof scoreRollouts>>, n: number): Promise<EvaluatePromptResult> {
  const rewards = scored.rewards_PG.map((r) => r[0] ?? 0);
  const correct = scored.correct_PG.map((c) => (c[0] ? 1 : 0));
  const formatOk = scored.format_ok_PG.map((c) => (c[0] ? 1 : 0));
  const results = await tsActivities.summarizeTraces({ traces_ref: scored.traces_ref, max_chars: 300 });
  return {
    run_id: runId,
    run_dir: paths.run_dir,
    accuracy: mean(correct),
    mean_reward: mean(rewards),
    format_ok_rate: mean(formatOk),
    n,
    results: results.map(({ index, id, reward, correct, extracted, output }) => ({ index, id, reward, correct, extracted, output })),
    traces_ref: scored.traces_ref,
  };
}
