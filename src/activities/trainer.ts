/**
 * Types of the Python trainer worker's activities (task queue gepa-rl-trainer, DESIGN §4.3).
 * Implemented in trainer/gepa_rl_trainer/activities.py (and wandb_sink.py); workflows proxy them by name.
 */
import type { MathVerifyRolloutsRequest, MathVerifyRolloutsResult, PolicySampleRequest, PolicySampleResult, TrainStepRequest, TrainStepResult } from '../types';

/** Metrics rows to a Weights & Biases run (trainer/gepa_rl_trainer/wandb_sink.py). */
export interface WandbLogRequest {
  run_dir: string;
  /** `<run_id>` or `<run_id>/<phase>`: the W&B run id is derived from it, the group is `<run_id>` */
  run_id: string;
  project: string;
  /** auto: online when the trainer worker has WANDB_API_KEY and reaches the W&B host, else offline */
  mode: 'auto' | 'online' | 'offline';
  name?: string;
  /** default: the run directory's config.json */
  config?: unknown;
  /** metrics.jsonl rows; a row whose key was logged before is skipped; only numbers are sent */
  rows: Array<{ key: string; step?: number } & Record<string, unknown>>;
}

export interface WandbLogResult {
  wandb_id: string;
  mode: 'online' | 'offline' | 'disabled' | null;
  logged: number;
  already_logged: number;
  skipped_values: number;
}

export interface TrainerActivities {
  policy_sample(req: PolicySampleRequest): Promise<PolicySampleResult>;
  train_step(req: TrainStepRequest): Promise<TrainStepResult>;
  wandb_log(req: WandbLogRequest): Promise<WandbLogResult>;
}

/** The math grader (trainer/gepa_rl_trainer/grader.py), task queue gepa-rl-grader. */
export interface GraderActivities {
  math_verify_rollouts(req: MathVerifyRolloutsRequest): Promise<MathVerifyRolloutsResult>;
}
