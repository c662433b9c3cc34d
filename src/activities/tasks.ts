/**
 * Task activities: split sizes, prompt building, and scoring of sampled rollouts with the task's
 * deterministic checker (DESIGN §4.2), or with Math-Verify's verdicts for math tasks (computed by the
 * Python grader from the golds buildPrompts wrote). Prompts, rollouts and traces travel by blob reference.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE } from '../failures';
import { gradedByMathVerify, type TaskConfig } from '../config/task';
import { hintedSystemPrompt } from '../core/expert/hints';
import { getTask, loadSplitsCached, type Example, type Task } from '../tasks';
import { FileBlobStore, readBlob } from '../storage/blobs';
import type { BlobRef, ChatMessage, MathVerdict, RolloutsBlob, ScoreResult } from '../types';
import { traceInput, type ScoredSample } from '../core/traces';

export type Split = 'train' | 'val' | 'test';

export async function taskSplitSizes(req: { task: TaskConfig }): Promise<Record<Split, number>> {
  const s = await loadSplitsCached(req.task);
  return { train: s.train.length, val: s.val.length, test: s.test.length };
}

/** The task's own starting system prompt (Task.seedPrompt), or null when it has none. */
export async function taskSeedPrompt(req: { task: TaskConfig }): Promise<string | null> {
  return getTask(req.task).seedPrompt?.() ?? null;
}

async function examplesAt(task: TaskConfig, split: Split, indices: number[]): Promise<Example[]> {
  const rows = (await loadSplitsCached(task))[split];
  return indices.map((i) => {
    const x = rows[i];
    if (!x) throw new Error(`${split} split of task ${task.env} has ${rows.length} rows; index ${i} is out of range`);
    return x;
  });
}

export function withSystemPrompt(systemPrompt: string, user: ChatMessage[]): ChatMessage[] {
  return systemPrompt ? [{ role: 'system', content: systemPrompt }, ...user] : user;
}

export interface BuildPromptsRequest {
  task: TaskConfig;
  split: Split;
  indices: number[];
  system_prompt: string;
  blob_dir: string;
  /** per-index hints appended to the system prompt (expert search; the format is core/expert hintedSystemPrompt) */
  hints?: Array<string | null>;
  /** per-index system prompts in place of system_prompt: index i is rendered under texts[of_index[i]] (fast-slow training: each rollout row under its pool prompt) */
  pool_prompts?: { texts: string[]; of_index: number[] };
}

/** golds_ref (tasks graded by Math-Verify only): one gold per prompt, for the Python grader. */
export async function buildPrompts(req: BuildPromptsRequest): Promise<{ prompts_ref: BlobRef; n: number; golds_ref?: BlobRef }> {
  const task = getTask(req.task);
  const xs = await examplesAt(req.task, req.split, req.indices);
  const prompts = xs.map((x, i) => {
    return withSystemPrompt(hintedSystemPrompt(req.pool_prompts ? req.pool_prompts.texts[req.pool_prompts.of_index[i]] : req.system_prompt, req.hints?.[i]), task.render(x));
  });
  const store = new FileBlobStore(req.blob_dir);
  const prompts_ref = await store.put(prompts);
  if (!gradedByMathVerify(req.task)) return { prompts_ref, n: prompts.length };
  return { prompts_ref, n: prompts.length, golds_ref: await store.put(xs.map((x) => (task.verifierGold ? task.verifierGold(x) : x.answer))) };
}

export type { ScoredSample } from '../core/traces';

export interface ScoreRolloutsRequest {
  task: TaskConfig;
  split: Split;
  indices: number[];
  prompts_ref: BlobRef;
  rollouts_ref: BlobRef;
  blob_dir: string;
  /** the golds buildPrompts wrote (tasks graded by Math-Verify) */
  golds_ref?: BlobRef;
  /** Math-Verify's verdicts on these rollouts (MathVerdict[], rollout order): required by tasks graded by it */
  verdicts_ref?: BlobRef;
}

export interface ScoreRolloutsResult {
  /** [problem][sample] */
  rewards_PG: number[][];
  correct_PG: boolean[][];
  format_ok_PG: boolean[][];
  num_tokens_PG: number[][];
  traces_ref: BlobRef;
}

/** A task whose score throws (a bug in a code task) scores 0 with the error as feedback, not a failed batch. */
function scoreSafely(task: Task, x: Example, completion: string, verdict?: MathVerdict, stop?: 'stop' | 'length'): ScoreResult {
  try {
    return task.score(x, completion, verdict, stop);
  } catch (e) {
    const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { reward: 0, correct: false, format_ok: false, extracted: null, feedback: `Scoring failed in task ${task.name}: ${why}. Scored 0.` };
  }
}

export async function scoreRollouts(req: ScoreRolloutsRequest): Promise<ScoreRolloutsResult> {
  const task = getTask(req.task);
  const xs = await examplesAt(req.task, req.split, req.indices);
  const prompts = await readBlob<ChatMessage[][]>(req.prompts_ref);
  const blob = await readBlob<RolloutsBlob>(req.rollouts_ref);
  let verdicts: MathVerdict[] | undefined;
  if (gradedByMathVerify(req.task)) {
    if (!req.verdicts_ref) {
      throw ApplicationFailure.create({
        type: FAILURE.InvalidRequest,
        nonRetryable: true,
        message: `task ${req.task.env} is graded by Math-Verify: scoreRollouts needs verdicts_ref from the grader's math_verify_rollouts (see scoreRollouts in src/workflows/common.ts)`,
      });
    }
    verdicts = await readBlob<MathVerdict[]>(req.verdicts_ref);
    if (verdicts.length !== blob.rollouts.length) throw new Error(`${verdicts.length} Math-Verify verdicts for ${blob.rollouts.length} rollouts`);
  }
  const rewards_PG: number[][] = xs.map(() => []);
  const correct_PG: boolean[][] = xs.map(() => []);
  const format_ok_PG: boolean[][] = xs.map(() => []);
  const num_tokens_PG: number[][] = xs.map(() => []);
  const traces: ScoredSample[] = [];
  for (const [k, r] of blob.rollouts.entries()) {
    const x = xs[r.prompt_index];
    if (!x) throw new Error(`rollout for prompt ${r.prompt_index} but only ${xs.length} problems were sampled`);
    const s = scoreSafely(task, x, r.text, verdicts?.[k], r.stop_reason);
    // an API rollout has no token ids; its count is the provider's
    const numTokens = r.num_tokens ?? r.token_ids.length;
    rewards_PG[r.prompt_index].push(s.reward);
    correct_PG[r.prompt_index].push(s.correct);
    format_ok_PG[r.prompt_index].push(s.format_ok);
    num_tokens_PG[r.prompt_index].push(numTokens);
    const messages = prompts[r.prompt_index] ?? [];
    traces.push({
      index: req.indices[r.prompt_index],
      id: x.id,
      sample_index: r.sample_index,
      input: traceInput(messages),
      messages,
      output: r.text,
      reward: s.reward,
      correct: s.correct,
      format_ok: s.format_ok,
      extracted: s.extracted,
      feedback: s.feedback,
      num_tokens: numTokens,
    });
  }
  const traces_ref = await new FileBlobStore(req.blob_dir).put(traces);
  return { rewards_PG, correct_PG, format_ok_PG, num_tokens_PG, traces_ref };
}

/** Small per-example view of a traces blob, for workflow results and the run directory. */
export async function summarizeTraces(req: { traces_ref: BlobRef; max_chars: number }): Promise<
  Array<Pick<ScoredSample, 'index' | 'id' | 'sample_index' | 'reward' | 'correct' | 'extracted'> & { output: string }>
> {
  const traces = await readBlob<ScoredSample[]>(req.traces_ref);
  return traces.map((t) => ({
    index: t.index,
    id: t.id,
    sample_index: t.sample_index,
    reward: t.reward,
    correct: t.correct,
    extracted: t.extracted,
    output: t.output.length > req.max_chars ? t.output.slice(0, req.max_chars) + '…' : t.output,
  }));
}

/** Sample trajectories for samples.jsonl (the report's trajectory view): the first rows of a traces blob. */
export async function sampleRows(req: { traces_ref: BlobRef; phase: string; step: number; max_rows: number }): Promise<
  Array<{ key: string } & Record<string, unknown>>
> {
  const traces = await readBlob<ScoredSample[]>(req.traces_ref);
  return traces.slice(0, req.max_rows).map((t) => ({
    key: `${req.phase}-${req.step}-${t.index}-${t.sample_index}`,
    phase: req.phase,
    step: req.step,
    prompt: t.messages,
    completion: t.output,
    reward: t.reward,
    correct: t.correct,
    feedback: t.feedback,
  }));
}
