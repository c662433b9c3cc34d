/**
 * Activities of expert iteration, SFT, trace generation and evaluation: teacher hints (one LLM
 * call each), SFT example blobs built from traces or reference solutions, the trace-generation
 * files and the per-example evaluation CSV. The rules (leak check, caps) live in src/core/expert.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import * as path from 'node:path';
import type { TaskConfig } from '../config/task';
import { buildHintPrompt, hasGroundTruth, numericForms, partitionByGroundTruth, referenceCompletion, type SuccessPick } from '../core/expert';
import { classifyProviderError, providerForActivity, toActivityFailure, type ProviderName } from '../llm';
import { getTask, loadSplitsCached, type Example, type Task } from '../tasks';
import { sftBatches } from '../core/expert/sft';
import { FileBlobStore, readBlob } from '../storage/blobs';
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

/**
 * The problem as the student is asked it: the task's rendered user messages (HotpotQA's include the
 * paragraphs the answer must come from), not the bare question field.
 */
function renderedProblem(task: Task, x: Example): string {
  return task.render(x).map((m) => m.content).join('\n\n');
}

export async function teacherHint(req: TeacherHintRequest): Promise<{ hint: string | null; answer_forms: string[]; error: string | null }> {
  const x = (await loadSplitsCached(req.task)).train[req.index];
  const answer = getTask(req.task).answerForHint(x);
  if (answer === null || !hasGroundTruth(answer)) return { hint: null, answer_forms: [], error: 'no ground truth' };
  const provider = providerForActivity({ provider: req.teacher.provider, model: req.teacher.model, base_url: req.teacher.base_url });
  try {
    const r = await provider.complete({
      messages: [{ role: 'user', content: buildHintPrompt({ problem: renderedProblem(getTask(req.task), x), answer, attempt: req.attempt, previous_leaks: req.previous_leaks }) }],
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

/** The first answer of a problem's student attempts, for the teacher to look at. */
export async function firstAttempts(req: { traces_refs: BlobRef[]; indices: number[] }): Promise<string[]> {
  const traces = (await Promise.all(req.traces_refs.map((r) => readBlob<ScoredSample[]>(r)))).flat();
  return req.indices.map((i) => traces.find((t) => t.index === i)?.output ?? '');
}


/** Verified successes per problem index, in sample order (the workflow applies the cap). */
export async function verifiedSuccesses(req: { traces_refs: BlobRef[] }): Promise<SuccessPick[]> {
  const traces = (await Promise.all(req.traces_refs.map((r) => readBlob<ScoredSample[]>(r)))).flat();
  return traces.filter((t) => t.correct).map((t) => ({ index: t.index, sample_index: t.sample_index }));
}

/**
 * SFT examples (x -> y*) under the clean prompt: the completions of the picked traces, with the
 * messages rebuilt from the task and the clean system prompt, so a hint never reaches training.
 * Picks name (index, sample_index) within their own source (student or expert traces): the same
 * pair in another source is a different, possibly failed, sample. Only verified-correct traces
 * are ever taken.
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
    const traces = (await Promise.all(src.traces_refs.map((r) => readBlob<ScoredSample[]>(r)))).flat();
    const want = new Set(src.picks.map((p) => `${p.index}:${p.sample_index}`));
    for (const t of traces) {
      if (t.correct && want.has(`${t.index}:${t.sample_index}`)) examples.push({ messages: withSystemPrompt(req.system_prompt, task.render(rows[t.index])), completion: t.output });
    }
  }
  return { ref: await new FileBlobStore(req.blob_dir).put(examples), n: examples.length };
}

/** SFT blobs (a round's successes, or the whole distillation buffer) as batches of one optimiser step each. */
export async function sftBatchesOf(req: { refs: BlobRef[]; batch_size: number; shuffle_seed: number | null; blob_dir: string }): Promise<{ batches: BlobRef[]; n: number }> {
  const all = (await Promise.all(req.refs.map((r) => readBlob<SftExample[]>(r)))).flat();
  const store = new FileBlobStore(req.blob_dir);
  const batches: BlobRef[] = [];
  for (const b of sftBatches(all, req.batch_size, req.shuffle_seed)) batches.push(await store.put(b));
  return { batches, n: all.length };
}

/** A traceGeneration run's sft_examples.json; a missing or malformed file is a non-retryable error. */
async function readSftExamplesFile(file: string): Promise<SftExample[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw ApplicationFailure.nonRetryable(`cannot read SFT examples from ${file}: ${(e as Error).message}`, 'InvalidSftExamples');
  }
  const bad = Array.isArray(parsed)
    ? parsed.findIndex((x) => !x || typeof x.completion !== 'string' || !Array.isArray(x.messages))
    : -2;
  if (bad !== -1) {
    const got = bad === -2 ? typeof parsed : JSON.stringify(parsed && (parsed as unknown[])[bad])?.slice(0, 120);
    throw ApplicationFailure.nonRetryable(`${file}: expected a JSON array of {messages, completion}${bad >= 0 ? ` (element ${bad} is ${got})` : ` (got ${got})`}`, 'InvalidSftExamples');
  }
  return parsed as SftExample[];
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
  let examples: SftExample[];
  let skipped = 0;
  let answer_fallbacks = 0;
  if (req.file) {
    examples = (await readSftExamplesFile(req.file)).slice(0, req.n);
  } else {
    const task = getTask(req.task);
    const rows = (await loadSplitsCached(req.task)).train.slice(0, req.n);
    examples = [];
    for (const x of rows) {
      const ref = referenceCompletion(x);
      if (!ref) {
        skipped++;
        continue;
      }
      if (ref.source === 'answer') answer_fallbacks++;
      examples.push({ messages: withSystemPrompt(req.system_prompt, task.render(x)), completion: ref.completion });
    }
  }
  const store = new FileBlobStore(req.blob_dir);
  const batches: BlobRef[] = [];
  for (const b of sftBatches(examples, req.batch_size)) batches.push(await store.put(b));
  return { batches, n: examples.length, skipped, answer_fallbacks };
}

/** traceGeneration's outputs: traces.jsonl, the stats sidecar, and sft_examples.json. */
export async function writeTraceFiles(req: {
  run_dir: string;
  task: TaskConfig;
  system_prompt: string;
  traces_refs: BlobRef[];
  indices: number[];
  max_attempts: number;
  /** problems left out before sampling for want of a gold answer (recorded in the stats) */
  skipped_no_ground_truth?: number;
}): Promise<{ total: number; successes: number; fallbacks: number; success_rate: number; mean_attempts: number; skipped: number; skipped_no_ground_truth: number }> {
  const task = getTask(req.task);
  const rows = (await loadSplitsCached(req.task)).train;
  const traces = (await Promise.all(req.traces_refs.map((r) => readBlob<ScoredSample[]>(r)))).flat();
  const lines: string[] = [];
  const sft: SftExample[] = [];
  let successes = 0;
  let fallbacks = 0;
  let skipped = 0;
  let attempts = 0;
  for (const i of req.indices) {
    const x = rows[i];
    const mine = traces.filter((t) => t.index === i).sort((a, b) => a.sample_index - b.sample_index);
    const first = mine.find((t) => t.correct);
    const reference = referenceCompletion(x)?.completion;
    let completion: string | null;
    let source: 'sample' | 'reference';
    if (first) {
      successes++;
      attempts += first.sample_index + 1;
      completion = first.output;
      source = 'sample';
    } else if (reference) {
      fallbacks++;
      attempts += req.max_attempts;
      completion = reference;
      source = 'reference';
    } else {
      skipped++;
      continue;
    }
    lines.push(JSON.stringify({ index: i, id: x.id, question: x.question, answer: x.answer, completion, source, attempts: first ? first.sample_index + 1 : req.max_attempts }));
    sft.push({ messages: withSystemPrompt(req.system_prompt, task.render(x)), completion });
  }
  const total = successes + fallbacks;
  const stats = {
    total,
    successes,
    fallbacks,
    success_rate: total ? successes / total : 0,
    mean_attempts: total ? attempts / total : 0,
    skipped,
    skipped_no_ground_truth: req.skipped_no_ground_truth ?? 0,
  };
  await mkdir(req.run_dir, { recursive: true });
  await writeFile(path.join(req.run_dir, 'traces.jsonl'), lines.join('\n') + '\n');
  await writeFile(path.join(req.run_dir, 'traces.stats.json'), JSON.stringify(stats, null, 2) + '\n');
  await writeFile(path.join(req.run_dir, 'sft_examples.json'), JSON.stringify(sft) + '\n');
  return stats;
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** evaluation: per-example CSV and the summary (accuracy, answer proportion, thinking proportion). */
export async function writeEvaluation(req: { run_dir: string; traces_refs: BlobRef[] }): Promise<{ n: number; accuracy: number; answer_proportion: number; thinking_proportion: number; mean_reward: number }> {
  const traces = (await Promise.all(req.traces_refs.map((r) => readBlob<ScoredSample[]>(r)))).flat();
  const thinks = (t: ScoredSample) => /<think>|<\/think>/i.test(t.output);
  const header = ['index', 'id', 'sample', 'correct', 'reward', 'answered', 'thinking', 'extracted', 'tokens', 'feedback', 'completion'];
  const rows = traces.map((t) => [t.index, t.id, t.sample_index, t.correct, t.reward, t.extracted !== null, thinks(t), t.extracted, t.num_tokens, t.feedback, t.output].map(csvCell).join(','));
  await mkdir(req.run_dir, { recursive: true });
  await writeFile(path.join(req.run_dir, 'evaluation.csv'), [header.join(','), ...rows].join('\n') + '\n');
  const n = traces.length;
  const frac = (f: (t: ScoredSample) => boolean) => (n ? traces.filter(f).length / n : 0);
  const summary = {
    n,
    accuracy: frac((t) => t.correct),
    answer_proportion: frac((t) => t.extracted !== null),
    thinking_proportion: frac(thinks),
    mean_reward: n ? traces.reduce((a, t) => a + t.reward, 0) / n : 0,
  };
  await writeFile(path.join(req.run_dir, 'evaluation.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}
