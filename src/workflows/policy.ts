/**
 * Running the policy under evaluation on some problems: build prompts, sample (trainer worker for
 * local/tinker models, the TS worker for API models), score. Chunks run in parallel up to a limit.
 * Deterministic: chunking and seeds depend only on the inputs.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import { samplingParams, type PolicyConfig as SamplingPolicyConfig, type TrainablePolicyConfig } from '../config';
import { isEpisodicTask, type TaskConfig } from '../config/task';
import type * as tau2Activities from '../activities/tau2';
import { FAILURE, NON_RETRYABLE } from '../failures';
import type { ChatMessage } from '../types';
import type { BlobRef } from '../types';
import { fractionTrue, mean } from '../core/metrics';
import { modelRef, scoreRollouts, trainerActivities, tsActivities, TS_HEARTBEAT_TIMEOUT } from './common';
import { chunkSeed, episodeSeed, waveSeed } from '../core/seeds';
import { klToBaseSkipReason, type KlToBase } from '../core/klToBase';

/**
 * One tau2 episode per activity: up to 200 steps of model calls, heartbeating after every step and
 * pulsing while a call waits (src/activities/pulse.ts): a dead worker is noticed within the TS
 * heartbeat timeout (seconds) and the episode resumes elsewhere from its last step.
 */
const tau2 = proxyActivities<typeof tau2Activities>({
  startToCloseTimeout: '45 minutes',
  heartbeatTimeout: TS_HEARTBEAT_TIMEOUT,
  // the one non-retryable list of TS activities (src/failure-types.json): a bad dataset or config fails at once
  retry: { initialInterval: '2s', maximumInterval: '60s', maximumAttempts: 6, nonRetryableErrorTypes: NON_RETRYABLE.ts_activities },
});

/** An API model (sampled by the TS worker) or a trainable one (sampled by the trainer worker). */
export type PolicyConfig = SamplingPolicyConfig | TrainablePolicyConfig;

export interface RunOn {
  task: TaskConfig;
  policy: PolicyConfig;
  /** overrides policy.checkpoint (the current RL checkpoint) */
  checkpoint?: string | null;
  blob_dir: string;
  parallelism: number;
  trainer_heartbeat_timeout_s?: number;
}

/** Where a single-workflow run samples its policy: its task, its policy, its blob store, one chunk at a time. */
export function runOnOf(input: { task: TaskConfig; policy: PolicyConfig; run: { trainer_heartbeat_timeout_s?: number } }, blobDir: string, checkpoint?: string | null): RunOn {
  return { task: input.task, policy: input.policy, checkpoint, blob_dir: blobDir, parallelism: 1, trainer_heartbeat_timeout_s: input.run.trainer_heartbeat_timeout_s };
}

export interface Evaluated {
  indices: number[];
  /** one per problem (first sample) */
  scores: number[];
  correct: boolean[];
  format_ok: boolean[];
  /** [problem][sample] */
  rewards_PG: number[][];
  correct_PG: boolean[][];
  traces_refs: BlobRef[];
  /** each chunk's rollouts blob (an episodic task's: its traces) */
  rollouts_refs: BlobRef[];
  tokens: number;
  /** USD the sampling cost where it is measured (episodic tasks: agent + user calls); else 0 */
  cost_usd: number;
}

async function sampleChunk(
  on: RunOn,
  split: 'train' | 'val' | 'test',
  indices: number[],
  systemPrompt: string,
  numSamples: number,
  seed: number,
  hints?: Array<string | null>,
  /** concurrent API calls inside this chunk (the run's limit shared among its chunks) */
  apiParallelism = 1,
) {
  if (isEpisodicTask(on.task)) return sampleEpisodes(on, split, indices, systemPrompt, numSamples, apiParallelism);
  const { prompts_ref, golds_ref } = await tsActivities.buildPrompts({ task: on.task, split, indices, system_prompt: systemPrompt, blob_dir: on.blob_dir, hints });
  const p = on.policy;
  const sample =
    p.backend === 'api'
      ? await tsActivities.apiSample({
          provider: p.api_provider,
          model: p.api_model,
          base_url: p.api_base_url,
          prompts_ref,
          num_samples: numSamples,
          max_tokens: p.max_tokens,
          temperature: p.temperature,
          top_p: p.top_p,
          seed,
          blob_dir: on.blob_dir,
          parallelism: apiParallelism,
        })
      : await trainerActivities(on.trainer_heartbeat_timeout_s).policy_sample({
          model: modelRef(p),
          checkpoint: on.checkpoint === undefined ? p.checkpoint : on.checkpoint,
          prompts_ref,
          num_samples: numSamples,
          sampling: samplingParams(p, seed),
          blob_dir: on.blob_dir,
          return_texts: false,
        });
  const scored = await scoreRollouts({ task: on.task, split, indices, prompts_ref, golds_ref, rollouts_ref: sample.rollouts_ref, blob_dir: on.blob_dir });
  return { scored, rollouts_ref: sample.rollouts_ref, prompts_ref };
}


/** An episodic task's chunk: one tau2Episode activity per (problem, trial), `parallel` at a time. */
async function sampleEpisodes(on: RunOn, split: 'train' | 'val' | 'test', indices: number[], systemPrompt: string, trials: number, parallel: number) {
  const p = on.policy;
  if (p.backend !== 'api') {
    throw ApplicationFailure.create({
      type: FAILURE.ProviderConfig,
      nonRetryable: true,
      message: `${on.task.env} runs a tool-calling agent: set policy.backend=api with policy.api_provider=openai | anthropic | openai-compatible (got backend=${p.backend})`,
    });
  }
  const jobs = indices.flatMap((index, i) => Array.from({ length: trials }, (_, trial) => ({ i, index, trial })));
  const results: Awaited<ReturnType<typeof tau2.tau2Episode>>[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    for (let j = next++; j < jobs.length; j = next++) {
      const { index, trial } = jobs[j];
      results[j] = await tau2.tau2Episode({
        task: on.task,
        split,
        index,
        trial,
        policy: systemPrompt,
        agent: { provider: p.api_provider, model: p.api_model, base_url: p.api_base_url, temperature: p.temperature },
        seed: episodeSeed(on.task.data_seed, split, index, trial),
        blob_dir: on.blob_dir,
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, jobs.length)) }, worker));
  const { traces_ref } = await tau2.tau2CollectTraces({ samples: results.map((r) => r.sample), blob_dir: on.blob_dir });
  const per = <T>(f: (r: (typeof results)[number]) => T): T[][] => indices.map((_, i) => jobs.flatMap((jb, j) => (jb.i === i ? [f(results[j])] : [])));
  return {
    scored: { rewards_PG: per((r) => r.reward), correct_PG: per((r) => r.success), format_ok_PG: per(() => true), num_tokens_PG: per((r) => r.sample.num_tokens), traces_ref },
    rollouts_ref: traces_ref,
    prompts_ref: traces_ref,
    episodes: results,
  };
}

/** Sample and score `numSamples` completions for each problem, in up to `parallelism` chunks. */
export async function runPolicy(
  on: RunOn,
  split: 'train' | 'val' | 'test',
  indices: number[],
  systemPrompt: string,
  opts: { numSamples?: number; seed: number; hints?: Array<string | null> },
): Promise<Evaluated> {
  const numSamples = opts.numSamples ?? 1;
  const nChunks = Math.max(1, Math.min(on.parallelism, indices.length));
  const size = Math.ceil(indices.length / nChunks);
  const chunks: Array<{ idx: number[]; hints?: Array<string | null>; seed: number }> = [];
  for (let c = 0; c * size < indices.length; c++) {
    chunks.push({
      idx: indices.slice(c * size, (c + 1) * size),
      hints: opts.hints?.slice(c * size, (c + 1) * size),
      seed: chunkSeed(opts.seed, c),
    });
  }
  // chunks run concurrently, so API calls inside each get an equal share of the limit: the total
  // number of calls in flight never exceeds on.parallelism
  const perChunk = Math.max(1, Math.floor(on.parallelism / chunks.length));
  const parts = await Promise.all(chunks.map((ch) => sampleChunk(on, split, ch.idx, systemPrompt, numSamples, ch.seed, ch.hints, perChunk)));
  const rewards_PG = parts.flatMap((p) => p.scored.rewards_PG);
  return {
    indices,
    rewards_PG,
    correct_PG: parts.flatMap((p) => p.scored.correct_PG),
    scores: rewards_PG.map((r) => r[0] ?? 0),
    correct: parts.flatMap((p) => p.scored.correct_PG.map((c) => c[0] ?? false)),
    format_ok: parts.flatMap((p) => p.scored.format_ok_PG.map((c) => c[0] ?? false)),
    traces_refs: parts.map((p) => p.scored.traces_ref),
    rollouts_refs: parts.map((p) => p.rollouts_ref),
    tokens: parts.flatMap((p) => p.scored.num_tokens_PG.flat()).reduce((a, b) => a + b, 0),
    cost_usd: parts.reduce((a, p) => a + ('episodes' in p ? p.episodes.reduce((b, e) => b + e.usage.agent.cost_usd + e.usage.user.cost_usd, 0) : 0), 0),
  };
}

/** Problems per parallel chunk in one wave of a long pass (evaluation, traceGeneration). */
export const WAVE_PROBLEMS_PER_CHUNK = 32;

/**
 * runPolicy over many problems in waves of `parallelism * WAVE_PROBLEMS_PER_CHUNK`, so a long pass
 * can pause or stop between waves: before every wave but the first, `between(done)` runs and a
 * true result ends the pass with the waves done so far. Wave w samples with waveSeed(seed, w)
 * (a single-wave pass is exactly runPolicy).
 */
export async function runPolicyInWaves(
  on: RunOn,
  split: 'train' | 'val' | 'test',
  indices: number[],
  systemPrompt: string,
  opts: { numSamples?: number; seed: number },
  between: (done: number) => Promise<boolean>,
): Promise<{ done: number[]; traces_refs: BlobRef[]; stopped: boolean }> {
  const wave = Math.max(1, on.parallelism) * WAVE_PROBLEMS_PER_CHUNK;
  const done: number[] = [];
  const traces_refs: BlobRef[] = [];
  for (let w = 0; w * wave < indices.length; w++) {
    if (w > 0 && (await between(done.length))) return { done, traces_refs, stopped: true };
    const idx = indices.slice(w * wave, (w + 1) * wave);
    const ev = await runPolicy(on, split, idx, systemPrompt, { numSamples: opts.numSamples, seed: waveSeed(opts.seed, w) });
    done.push(...idx);
    traces_refs.push(...ev.traces_refs);
  }
  return { done, traces_refs, stopped: false };
}

/** The fixed-seed test-split evaluation every training workflow runs: accuracy and mean reward of one sample per problem. */
export async function evaluateTest(
  on: RunOn,
  indices: number[],
  systemPrompt: string,
  seed: number,
): Promise<{ accuracy: number; reward: number; traces_ref: BlobRef; rollouts_refs: BlobRef[] }> {
  const ev = await runPolicy(on, 'test', indices, systemPrompt, { seed });
  return { accuracy: fractionTrue(ev.correct), reward: mean(ev.scores), traces_ref: ev.traces_refs[0], rollouts_refs: ev.rollouts_refs };
}

/**
 * A test evaluation with, when `kl` is given, KL(π_θ‖π_base) on its rollouts (core/klToBase.ts): π_θ
 * the checkpoint they were sampled under, π_base `kl.base_checkpoint` (the run's start). Only where
 * the local trainer holds the weights (klToBaseSkipReason: the caller records why not elsewhere).
 */
export async function evaluateTestWithKl(
  on: RunOn,
  indices: number[],
  systemPrompt: string,
  seed: number,
  kl: { base_checkpoint: string | null } | null,
): Promise<{ accuracy: number; reward: number; kl_to_base?: KlToBase }> {
  const ev = await evaluateTest(on, indices, systemPrompt, seed);
  const p = on.policy;
  // no test problems (an empty split): no rollouts to score, and the run fails where core code meets the empty split
  if (!kl || indices.length === 0 || p.backend === 'api' || klToBaseSkipReason(p.backend) !== null || isEpisodicTask(on.task)) return { accuracy: ev.accuracy, reward: ev.reward };
  const k = await trainerActivities(on.trainer_heartbeat_timeout_s).policy_kl_to_base({
    model: modelRef(p),
    checkpoint: on.checkpoint === undefined ? p.checkpoint : on.checkpoint,
    base_checkpoint: kl.base_checkpoint,
    rollouts_refs: ev.rollouts_refs,
  });
  return { accuracy: ev.accuracy, reward: ev.reward, kl_to_base: { kl: k.kl, k1: k.k1, k3: k.k3, tokens: k.tokens } };
}

export type { ChatMessage };
