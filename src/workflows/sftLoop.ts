/**
 * The supervised training loop (cross_entropy on SFT example batches), shared by sftTraining and by
 * expert iteration's distillation (its M-step): `epochs` passes over the examples, each epoch in
 * its own shuffled order (`epochBatches`, core/expert sftEpochBatches), one train_step per batch,
 * each step trained from the checkpoint the previous one wrote. Step ids come from
 * `first_step` on, so a caller that trains several times in one run (one M-step per round) keeps
 * every (run, step) distinct, as the trainer's idempotence needs. Deterministic.
 */
import { optimParams, type OptimConfig } from '../config';
import type { BlobRef, ModelRef, TrainStepMetrics } from '../types';
import type { trainerActivities } from './common';

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
  /** the batches of epoch `epoch` (a fresh shuffle each epoch), `batches_per_epoch` of them */
  epochBatches: (epoch: number) => Promise<BlobRef[]>;
  batches_per_epoch: number;
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
  /** the loss of every step (summed over its tokens), per epoch: the loss of a batch before its update */
  losses_E: number[][];
  /** the trained tokens of every step, per epoch */
  tokens_E: number[][];
  last: TrainStepMetrics | null;
  stopped: boolean;
}

export async function trainSft(a: SftLoop): Promise<SftLoopResult> {
  const total = a.batches_per_epoch * a.epochs;
  let checkpoint = a.checkpoint_in;
  const losses_E: number[][] = [];
  const tokens_E: number[][] = [];
  let last: TrainStepMetrics | null = null;
  let index = 0;
  for (let epoch = 0; epoch < a.epochs; epoch++) {
    losses_E.push([]);
    tokens_E.push([]);
    const batches = await a.epochBatches(epoch);
    if (batches.length !== a.batches_per_epoch) throw new Error(`SFT epoch ${epoch} has ${batches.length} batches, expected ${a.batches_per_epoch}`);
    for (const batch of batches) {
      if (a.before && (await a.before())) return { checkpoint, steps: index, losses_E, tokens_E, last, stopped: true };
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
      tokens_E[epoch].push(r.metrics.tokens);
      if (a.after) await a.after({ step: a.first_step + index, index, total, epoch, metrics: r.metrics, checkpoint });
      index++;
    }
  }
  return { checkpoint, steps: index, losses_E, tokens_E, last, stopped: false };
}
