/**
 * Types of the Python trainer worker's activities (task queue gepa-rl-trainer, DESIGN §4.3).
 * Implemented in trainer/gepa_rl_trainer/activities.py; workflows proxy them by name.
 */
import type { PolicySampleRequest, PolicySampleResult, TrainStepRequest, TrainStepResult } from '../types';

export interface TrainerActivities {
  policy_sample(req: PolicySampleRequest): Promise<PolicySampleResult>;
  train_step(req: TrainStepRequest): Promise<TrainStepResult>;
}
