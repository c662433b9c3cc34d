/**
 * Contracts that cross process boundaries (TS worker <-> Python trainer worker, workflow <-> activities).
 * Field names are snake_case where Python reads them (DESIGN §4.3).
 */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Claim-check reference to a JSON blob in the blob store (DESIGN §4.5). */
export interface BlobRef {
  uri: string; // file:///abs/path/runs/<id>/blobs/<sha256>.json
  sha256: string;
  bytes: number;
}

/** Which policy model to sample from / train (DESIGN §4.3). */
export interface ModelRef {
  backend: 'local' | 'tinker';
  /** 'smollm2-135m-instruct' | 'tiny-random' | a Hugging Face id or local path | a Tinker base model */
  base_model: string;
  lora_rank: number; // 0 means full fine-tuning (tiny models only)
  lora_alpha: number;
  lora_target_modules: string[];
}

export interface SamplingParams {
  max_tokens: number;
  temperature: number;
  top_p: number;
  seed: number;
}

export interface PolicySampleRequest {
  model: ModelRef;
  /** checkpoint directory written by train_step, or null for the base model */
  checkpoint: string | null;
  /** inline prompts (chat messages per prompt) or a blob holding ChatMessage[][] */
  prompts?: ChatMessage[][];
  prompts_ref?: BlobRef;
  num_samples: number;
  sampling: SamplingParams;
  /** directory of the blob store to write rollouts into (runs/<id>/blobs) */
  blob_dir: string;
  /** include texts inline in the result (small requests only) */
  return_texts: boolean;
}

/** One sampled completion as stored in the rollouts blob. */
export interface Rollout {
  prompt_index: number;
  sample_index: number;
  prompt_token_ids: number[];
  token_ids: number[];
  logprobs: number[];
  text: string;
  stop_reason: 'stop' | 'length';
  /** completion tokens as the provider counted them, for rollouts without token ids (API models) */
  num_tokens?: number;
}

/** An API policy model (sampled on the TS worker; it has no token ids and cannot be trained). */
export interface ApiModelRef {
  backend: 'api';
  provider: string;
  model: string;
  base_url?: string;
}

export interface RolloutsBlob {
  model: ModelRef | ApiModelRef;
  checkpoint: string | null;
  rollouts: Rollout[]; // ordered by prompt_index, then sample_index
}

export interface PolicySampleResult {
  rollouts_ref: BlobRef;
  /** [prompt][sample] */
  num_tokens: number[][];
  texts: string[][] | null;
  seconds: number;
}

export type LossName = 'importance_sampling' | 'ppo' | 'cross_entropy';

export interface OptimParams {
  learning_rate: number;
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
  grad_clip: number;
}

/** One supervised example: train on completion given messages (the clean prompt). */
export interface SftExample {
  messages: ChatMessage[];
  completion: string;
}

export interface TrainStepRequest {
  run_id: string;
  step: number;
  model: ModelRef;
  checkpoint_in: string | null;
  /** runs/<id>/checkpoints ; step k is written to <checkpoint_root>/<k> */
  checkpoint_root: string;
  loss: LossName;
  /** RL: rollouts + one advantage per rollout (same order as RolloutsBlob.rollouts) */
  rollouts_ref?: BlobRef;
  advantages?: number[];
  /** SFT: a blob holding SftExample[] */
  sft_examples_ref?: BlobRef;
  optim: OptimParams;
  /** keep this step's checkpoint (default true); false: the trainer prunes it once the next step, trained from it, is done */
  keep?: boolean;
}

export interface TrainStepMetrics {
  loss: number;
  entropy: number;
  kl_sample_train_v1: number;
  kl_sample_train_v2: number;
  grad_norm: number;
  tokens: number;
  learning_rate: number;
}

export interface TrainStepResult {
  checkpoint_out: string;
  metrics: TrainStepMetrics;
  /** true when this (run, step) was already done and the stored checkpoint was returned */
  reused: boolean;
  seconds: number;
}

/**
 * Math-Verify's verdict on one completion (trainer/gepa_rl_trainer/math_grading.py): `extracted` is
 * the answer text it took from the completion, `gold_parsed`/`pred_parsed` what it read them as.
 */
export interface MathVerdict {
  correct: boolean;
  status: 'correct' | 'wrong' | 'no_answer' | 'gold_unparsable' | 'timed_out' | 'crashed';
  extracted: string | null;
  gold_parsed: string | null;
  pred_parsed: string | null;
  feedback: string;
}

/** The grader's batched call: every rollout of one sampled chunk against its problem's gold. */
export interface MathVerifyRolloutsRequest {
  rollouts_ref: BlobRef;
  /** a blob holding one gold answer per prompt of the chunk (string | null) */
  golds_ref: BlobRef;
  blob_dir: string;
}

export interface MathVerifyRolloutsResult {
  /** a blob holding MathVerdict[], one per rollout, in the rollouts blob's order */
  verdicts_ref: BlobRef;
  n: number;
  counts: Partial<Record<MathVerdict['status'], number>>;
  seconds: number;
}

/** Result of scoring one completion (DESIGN §4.2). */
export interface ScoreResult {
  reward: number;
  correct: boolean;
  format_ok: boolean;
  extracted: string | null;
  feedback: string;
}
