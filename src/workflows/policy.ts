/**
 * Running the policy under evaluation on some problems: build prompts, sample (trainer worker for
 * local/tinker models, the TS worker for API models), score. Chunks run in parallel up to a limit.
 * Deterministic: chunking and seeds depend only on the inputs.
 */
import type { TaskConfig } from '../config/task';
import type { ChatMessage } from '../types';
import type { BlobRef } from '../types';
import { mean, modelRef, trainerActivities, ts } from './common';

export interface PolicyConfig {
  backend: 'local' | 'tinker' | 'api';
  base_model: string;
  checkpoint: string | null;
  lora_rank: number;
  lora_alpha: number;
  lora_target_modules: string[];
  max_tokens: number;
  temperature: number;
  top_p: number;
  api_provider: 'openai' | 'anthropic' | 'openai-compatible' | 'local' | 'scripted';
  api_model: string;
  api_base_url?: string;
}

export interface RunOn {
  task: TaskConfig;
  policy: PolicyConfig;
  /** overrides policy.checkpoint (the current RL checkpoint) */
  checkpoint?: string | null;
  blob_dir: string;
  parallelism: number;
  trainer_heartbeat_timeout_s?: number;
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
  rollouts_refs: BlobRef[];
  tokens: number;
}

async function sampleChunk(
  on: RunOn,
  split: 'train' | 'val' | 'test',
  indices: number[],
  systemPrompt: string,
  numSamples: number,
  seed: number,
  hints?: Array<string | null>,
) {
  const { prompts_ref } = await ts.buildPrompts({ task: on.task, split, indices, system_prompt: systemPrompt, blob_dir: on.blob_dir, hints });
  const p = on.policy;
  const sample =
    p.backend === 'api'
      ? await ts.apiSample({
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
          parallelism: on.parallelism,
        })
      : await trainerActivities(on.trainer_heartbeat_timeout_s).policy_sample({
          model: modelRef(p),
          checkpoint: on.checkpoint === undefined ? p.checkpoint : on.checkpoint,
          prompts_ref,
          num_samples: numSamples,
          sampling: { max_tokens: p.max_tokens, temperature: p.temperature, top_p: p.top_p, seed },
          blob_dir: on.blob_dir,
          return_texts: false,
        });
  const scored = await ts.scoreRollouts({ task: on.task, split, indices, prompts_ref, rollouts_ref: sample.rollouts_ref, blob_dir: on.blob_dir });
  return { scored, rollouts_ref: sample.rollouts_ref, prompts_ref };
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
      seed: opts.seed + c * 7919,
    });
  }
  const parts = await Promise.all(chunks.map((ch) => sampleChunk(on, split, ch.idx, systemPrompt, numSamples, ch.seed, ch.hints)));
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
  };
}

/** The fixed-seed test-split evaluation every training workflow runs: accuracy and mean reward of one sample per problem. */
export async function evaluateTest(
  on: RunOn,
  indices: number[],
  systemPrompt: string,
  seed: number,
): Promise<{ accuracy: number; reward: number; traces_ref: BlobRef }> {
  const ev = await runPolicy(on, 'test', indices, systemPrompt, { seed });
  return { accuracy: mean(ev.correct.map((c) => (c ? 1 : 0))), reward: mean(ev.scores), traces_ref: ev.traces_refs[0] };
}

export type { ChatMessage };
