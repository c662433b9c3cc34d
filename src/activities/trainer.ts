/**
 * Types of the Python trainer worker's activities (task queue gepa-rl-trainer, DESIGN §4.3).
 * Implemented in trainer/gepa_rl_trainer/activities.py (and wandb_sink.py); workflows proxy them by name.
 */
import type { KlToBaseRequest, KlToBaseResult, MathVerifyRolloutsRequest, MathVerifyRolloutsResult, PolicySampleRequest, PolicySampleResult, TrainStepRequest, TrainStepResult, WandbLogRequest } from '../types';

/** The requests are zod schemas in src/config/trainer.ts; the Python workers validate each against its JSON Schema. */
export type { WandbLogRequest };

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
  policy_kl_to_base(req: KlToBaseRequest): Promise<KlToBaseResult>;
  wandb_log(req: WandbLogRequest): Promise<WandbLogResult>;
}

/** The math grader (trainer/gepa_rl_trainer/grader.py), task queue gepa-rl-grader. */
export interface GraderActivities {
  math_verify_rollouts(req: MathVerifyRolloutsRequest): Promise<MathVerifyRolloutsResult>;
}
