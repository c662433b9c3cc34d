/**
 * Contracts that cross process boundaries (TS worker <-> Python trainer worker, workflow <-> activities).
 * Field names are snake_case where Python reads them (DESIGN §4.3). The requests the Python workers
 * receive are zod schemas in src/config/trainer.ts (their JSON Schema is what Python validates
 * against); their types are re-exported here.
 */
export type {
  BlobRef,
  ChatMessage,
  KlToBaseRequest,
  LossName,
  MathVerifyRolloutsRequest,
  ModelRef,
  OptimParams,
  PolicySampleRequest,
  SamplingParams,
  TrainStepRequest,
  WandbLogRequest,
} from './config';
import type { BlobRef, ChatMessage, ModelRef } from './config';

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

/**
 * KL(pi_theta || pi_base) per token along rollouts the policy sampled (policy_kl_to_base): `kl` the
 * whole-vocabulary KL at each sampled position, `k1` the mean of log pi_theta - log pi_base over the
 * sampled tokens (tinker-cookbook's kl_policy_base), `k3` TRL's estimator; means over `tokens`.
 */
export interface KlToBaseResult {
  kl: number;
  k1: number;
  k3: number;
  tokens: number;
  sequences: number;
  seconds: number;
}

/** One supervised example: train on completion given messages (the clean prompt). */
export interface SftExample {
  messages: ChatMessage[];
  completion: string;
}

export interface TrainStepMetrics {
  /** the loss summed over the step's trained tokens (Tinker's loss:sum): what is backpropagated */
  loss: number;
  /** loss / tokens: the mean per trained token (what TRL logs as its loss); absent in checkpoints written before it existed */
  loss_per_token?: number;
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
