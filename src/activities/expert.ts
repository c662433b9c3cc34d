/**
 * Activities of expert iteration, SFT, trace generation and evaluation: teacher hints (one LLM
 * call each), SFT example blobs built from traces or reference solutions, the trace-generation
 * files and the per-example evaluation CSV. They read and write; every rule (the hint prompt, the
 * leak check, which traces are picked, trace and evaluation stats) lives in src/core/expert.
 */
import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import * as path from 'node:path';
import type { TaskConfig } from '../config/task';
import {
  buildHintPrompt,
  chooseTraces,
  evaluationSummary,
  firstAttempts as firstAttemptsOf,
  hasGroundTruth,
  NO_GROUND_TRUTH_REPLY,
  numericForms,
  partitionByGroundTruth,
  pickedTraces,
  problemText,
  referenceCompletion,
  referenceExamples,
  showsThinking,
  verifiedPicks,
  type SuccessPick,
  type TraceStats,
} from '../core/expert';
import { classifyProviderError, providerForActivity, toActivityFailure, type ProviderName } from '../llm';
import { getTask, loadSplitsCached } from '../tasks';
import { sftBatches, sftEpochBatches } from '../core/expert/sft';
import { finalNumber, parseTracesFile } from '../core/expert/traceFile';
import { FileBlobStore, readBlob } from '../storage/blobs';
import { writeJsonAtomic, writeTextAtomic } from '../storage/runDir';
import type { BlobRef, SftExample } from '../types';
import { withSystemPrompt, type ScoredSample, type Split } from './tasks';

export interface TeacherHintRequest {
  teacher: { provider: ProviderName; model: string; base_url?: string; temperature: number; max_tokens: number };
  task: TaskConfig;
  index: number;
  attempt: string;
  previous_leaks: number;
  seed: number;
}

export async function teacherHint(req: TeacherHintRequest): Promise<{ hint: string | null; answer_forms: string[]; error: string | null }> {
  const x = (await loadSplitsCached(req.task)).train[req.index];
  const answer = getTask(req.task).answerForHint(x);
  if (answer === null || !hasGroundTruth(answer)) return { hint: null, answer_forms: [], error: NO_GROUND_TRUTH_REPLY };
  const provider = providerForActivity({ provider: req.teacher.provider, model: req.teacher.model, base_url: req.teacher.base_url });
  try {
    const r = await provider.complete({
      messages: [{ role: 'user', content: buildHintPrompt({ problem: problemText(getTask(req.task).render(x)), answer, attempt: req.attempt, previous_leaks: req.previous_leaks }) }],
      max_tokens: req.teacher.max_tokens,
      temperature: req.teacher.temperature,
      seed: req.seed,
    });
    return { hint: (r.texts[0] ?? '').trim() || null, answer_forms: numericForms(answer), error: null };
  } catch (e) {
    const c = classifyProviderError(e);
    if (c.retryable || c.config) throw toActivityFailure(e);
    return { hint: null, answer_forms: numericForms(answer), error: c.message.slice(0, 300) };
  }
}

/** Which of these problems have a ground truth (src/core/expert hasGroundTruth); the others are never sampled. */
export async function groundTruthPartition(req: { task: TaskConfig; split: Split; indices: number[] }): Promise<{ with_truth: number[]; without_truth: number[] }> {
  const task = getTask(req.task);
  const rows = (await loadSplitsCached(req.task))[req.split];
  return partitionByGroundTruth(req.indices, req.indices.map((i) => (rows[i] ? task.answerForHint(rows[i]) : null)));
}

/** Every scored sample of a pass, in chunk order. */
async function readTraces(refs: BlobRef[]): Promise<ScoredSample[]> {
  return (await Promise.all(refs.map((r) => readBlob<ScoredSample[]>(r)))).flat();
}

/** The first answer of a problem's student attempts, for the teacher to look at. */
export async function firstAttempts(req: { traces_refs: BlobRef[]; indices: number[] }): Promise<string[]> {
  return firstAttemptsOf(await readTraces(req.traces_refs), req.indices);
}

/** Verified successes per problem index, in sample order (the workflow applies the cap). */
export async function verifiedSuccesses(req: { traces_refs: BlobRef[] }): Promise<SuccessPick[]> {
  return verifiedPicks(await readTraces(req.traces_refs));
}

/**
 * SFT examples (x -> y*) under the clean prompt: the completions of the picked traces (core/expert
 * pickedTraces: per source, verified-correct only), with the messages rebuilt from the task and
 * the clean system prompt, so a hint never reaches training.
 */
export async function sftFromTraces(req: {
  task: TaskConfig;
  split: Split;
  system_prompt: string;
  sources: Array<{ traces_refs: BlobRef[]; picks: SuccessPick[] }>;
  blob_dir: string;
}): Promise<{ ref: BlobRef; n: number }> {
  const task = getTask(req.task);
  const rows = (await loadSplitsCached(req.task))[req.split];
  const examples: SftExample[] = [];
  for (const src of req.sources) {
    for (const t of pickedTraces(await readTraces(src.traces_refs), src.picks)) {
      examples.push({ messages: withSystemPrompt(req.system_prompt, task.render(rows[t.index])), completion: t.output });
    }
  }
  return { ref: await new FileBlobStore(req.blob_dir).put(examples), n: examples.length };
}

/**
 * SFT blobs (a round's successes, the whole distillation buffer, or sftTraining's examples) as the
 * batches of SFT epoch `epoch`, one optimiser step each: reshuffled every epoch (core/expert
 * sftEpochBatches, seeded by (seed, epoch)).
 */
export async function sftBatchesOf(req: { refs: BlobRef[]; batch_size: number; seed: number; epoch: number; blob_dir: string }): Promise<{ batches: BlobRef[]; n: number }> {
  const all = (await Promise.all(req.refs.map((r) => readBlob<SftExample[]>(r)))).flat();
  const store = new FileBlobStore(req.blob_dir);
  const batches: BlobRef[] = [];
  for (const b of sftEpochBatches(all, req.batch_size, req.seed, req.epoch)) batches.push(await store.put(b));
  return { batches, n: all.length };
}

/**
 * A traces file's SFT examples (core/expert/traceFile): traceGeneration's sft_examples.json as
 * written, or the seeds' {"question", "answer"} JSONL, each question rendered by the task under the
 * run's system prompt with its answer (the worked solution) as the completion. A missing or
 * malformed file is a non-retryable error.
 */
async function readSftExamplesFile(file: string, taskConfig: TaskConfig, systemPrompt: string): Promise<SftExample[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw ApplicationFailure.nonRetryable(`cannot read SFT examples from ${file}: ${(e as Error).message}`, 'InvalidSftExamples');
  }
  let parsed;
  try {
    parsed = parseTracesFile(text, file);
  } catch (e) {
    throw ApplicationFailure.nonRetryable((e as Error).message, 'InvalidSftExamples');
  }
  if (parsed.layout === 'sft_examples') return parsed.examples;
  const task = getTask(taskConfig);
  return parsed.rows.map((r, i) => ({ messages: withSystemPrompt(systemPrompt, task.render({ id: `traces-${i}`, question: r.question, answer: finalNumber(r.answer) })), completion: r.answer }));
}

/**
 * SFT examples from the dataset's reference solutions (e.g. GSM8K rationales), in batches. A row
 * without a worked solution falls back to its bare gold answer (counted in `answer_fallbacks`);
 * a row with neither is skipped (counted in `skipped`).
 */
export async function sftFromReference(req: {
  task: TaskConfig;
  system_prompt: string;
  n: number;
  batch_size: number;
  blob_dir: string;
  file?: string;
}): Promise<{ batches: BlobRef[]; n: number; skipped: number; answer_fallbacks: number }> {
  if (req.file) return { ...(await storeBatches((await readSftExamplesFile(req.file, req.task, req.system_prompt)).slice(0, req.n), req.batch_size, req.blob_dir)), skipped: 0, answer_fallbacks: 0 };
  const task = getTask(req.task);
  const { picked, skipped, answer_fallbacks } = referenceExamples((await loadSplitsCached(req.task)).train.slice(0, req.n));
  const examples = picked.map(({ row, completion }) => ({ messages: withSystemPrompt(req.system_prompt, task.render(row)), completion }));
  return { ...(await storeBatches(examples, req.batch_size, req.blob_dir)), skipped, answer_fallbacks };
}

/** Examples cut into optimiser-step batches (core/expert sftBatches: in order, or shuffled with a seed), one blob each. */
async function storeBatches(examples: SftExample[], batchSize: number, blobDir: string, shuffleSeed: number | null = null): Promise<{ batches: BlobRef[]; n: number }> {
  const store = new FileBlobStore(blobDir);
  const batches: BlobRef[] = [];
  for (const b of sftBatches(examples, batchSize, shuffleSeed)) batches.push(await store.put(b));
  return { batches, n: examples.length };
}

/** traceGeneration's outputs: traces.jsonl, the stats sidecar, and sft_examples.json (the choice and the stats: core/expert chooseTraces). */
export async function writeTraceFiles(req: {
  run_dir: string;
  task: TaskConfig;
  system_prompt: string;
  traces_refs: BlobRef[];
  indices: number[];
  max_attempts: number;
  /** problems left out before sampling for want of a gold answer (recorded in the stats) */
  skipped_no_ground_truth?: number;
}): Promise<TraceStats> {
  const task = getTask(req.task);
  const rows = (await loadSplitsCached(req.task)).train;
  const traces = await readTraces(req.traces_refs);
  const { chosen, stats } = chooseTraces(req.indices, traces, (i) => referenceCompletion(rows[i])?.completion, req.max_attempts, req.skipped_no_ground_truth);
  const lines = chosen.map((c) => {
    const x = rows[c.index];
    return JSON.stringify({ index: c.index, id: x.id, question: x.question, answer: x.answer, completion: c.completion, source: c.source, attempts: c.attempts });
  });
  const sft: SftExample[] = chosen.map((c) => ({ messages: withSystemPrompt(req.system_prompt, task.render(rows[c.index])), completion: c.completion }));
  // each file whole or not at all (a crash or a full disk mid-write leaves the previous one)
  await writeTextAtomic(path.join(req.run_dir, 'traces.jsonl'), lines.join('\n') + '\n');
  await writeTextAtomic(path.join(req.run_dir, 'traces.stats.json'), JSON.stringify(stats, null, 2) + '\n');
  await writeTextAtomic(path.join(req.run_dir, 'sft_examples.json'), JSON.stringify(sft) + '\n');
  return stats;
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** evaluation: per-example CSV and the summary (accuracy, answer proportion, thinking proportion). */
export async function writeEvaluation(req: { run_dir: string; traces_refs: BlobRef[] }): Promise<{ n: number; accuracy: number; answer_proportion: number; thinking_proportion: number; mean_reward: number }> {
  const traces = await readTraces(req.traces_refs);
  const header = ['index', 'id', 'sample', 'correct', 'reward', 'answered', 'thinking', 'extracted', 'tokens', 'feedback', 'completion'];
  const rows = traces.map((t) => [t.index, t.id, t.sample_index, t.correct, t.reward, t.extracted !== null, showsThinking(t.output), t.extracted, t.num_tokens, t.feedback, t.output].map(csvCell).join(','));
  await writeTextAtomic(path.join(req.run_dir, 'evaluation.csv'), [header.join(','), ...rows].join('\n') + '\n');
  const summary = evaluationSummary(traces);
  await writeJsonAtomic(path.join(req.run_dir, 'evaluation.json'), summary);
  return summary;
}
