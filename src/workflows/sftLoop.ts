/**
 * The supervised training loop (cross_entropy on SFT example batches), shared by sftTraining and by
 * expert iteration's distillation (its M-step): `epochs` passes over `batches`, one train_step per
 * batch, each step trained from the checkpoint the previous one wrote. Step ids come from
 * `first_step` on, so a caller that trains several times in one run (one M-step per round) keeps
 * every (run, step) distinct, as the trainer's idempotence needs. Deterministic.
 */
import type { OptimConfig } from '../config';
import type { BlobRef, ModelRef, TrainStepMetrics } from '../types';
import { optimParams, type trainerActivities } from './common';

export interface SftStep {
  /** the trainer's step id */
  step: number;
  /** 0-based position in this loop (steps done before it) */
  index: number;
  total: number;
  epoch: number;
  metrics: TrainStepMetrics;
  checkpoint: string;
}

export interface SftLoop {
  trainer: ReturnType<typeof trainerActivities>;
  run_id: string;
  model: ModelRef;
  checkpoint_in: string | null;
  checkpoint_root: string;
  batches: BlobRef[];
  epochs: number;
  first_step: number;
  learning_rate: number;
  optim: OptimConfig;
  /** before every step; true ends the loop there (a stop request) */
  before?: () => Promise<boolean>;
  /** after every step */
  after?: (s: SftStep) => Promise<void>;
}

export interface SftLoopResult {
  checkpoint: string | null;
  steps: number;
  /** the loss of every step, per epoch: the loss of a batch before its update */
  losses_E: number[][];
  last: TrainStepMetrics | null;
  stopped: boolean;
}

export async function trainSft(a: SftLoop): Promise<SftLoopResult> {
  const total = a.batches.length * a.epochs;
  let checkpoint = a.checkpoint_in;
  const losses_E: number[][] = [];
  let last: TrainStepMetrics | null = null;
  let index = 0;
  for (let epoch = 0; epoch < a.epochs; epoch++) {
    losses_E.push([]);
    for (const batch of a.batches) {
      if (a.before && (await a.before())) return { checkpoint, steps: index, losses_E, last, stopped: true };
      const r = await a.trainer.train_step({
        run_id: a.run_id,
        step: a.first_step + index,
        model: a.model,
        checkpoint_in: checkpoint,
        checkpoint_root: a.checkpoint_root,
        loss: 'cross_entropy',
        sft_examples_ref: batch,
        optim: optimParams(a.learning_rate, a.optim),
      });
      checkpoint = r.checkpoint_out;
      last = r.metrics;
      losses_E[epoch].push(r.metrics.loss);
      if (a.after) await a.after({ step: a.first_step + index, index, total, epoch, metrics: r.metrics, checkpoint });
      index++;
    }
  }
  return { checkpoint, steps: index, losses_E, last, stopped: false };
}
