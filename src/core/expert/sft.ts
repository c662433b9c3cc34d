/** How the distillation (and SFT) examples are cut into optimiser steps, and sftTraining's row per step. Pure. */
import { createRng, shuffle } from '../rng';
import { sftEpochShuffleSeed } from '../seeds';
import { optimMetrics, testMetrics, type MetricsRow, type TestScore } from '../metrics';

/**
 * SFT examples cut into optimiser-step batches of `size` (the last may be shorter); with a seed,
 * in a seeded shuffled order first, so a distillation buffer built problem by problem does not
 * train one problem per step.
 */
export function sftBatches<T>(examples: readonly T[], size: number, shuffleSeed: number | null = null): T[][] {
  if (!(size > 0)) throw new Error(`an SFT batch holds at least one example (got batch size ${size})`);
  const order = shuffleSeed === null ? examples.slice() : shuffle(createRng(shuffleSeed), examples);
  const out: T[][] = [];
  for (let i = 0; i < order.length; i += size) out.push(order.slice(i, i + size));
  return out;
}

/**
 * The optimiser-step batches of SFT epoch `epoch` (sftTraining, expert iteration's M-step): the
 * examples reshuffled every epoch by a seed of (seed, epoch), then cut into batches of `size`, so
 * no two epochs replay one order (tinker-cookbook `set_epoch`, the HF Trainer's RandomSampler).
 */
export function sftEpochBatches<T>(examples: readonly T[], size: number, seed: number, epoch: number): T[][] {
  return sftBatches(examples, size, sftEpochShuffleSeed(seed, epoch));
}

/** How many optimiser steps one SFT epoch of `n` examples takes in batches of `size`. */
export function sftBatchesPerEpoch(n: number, size: number): number {
  return Math.ceil(n / size);
}

/** What an SFT run's data held: reported once, in the first step's row. */
export interface SftDataFacts {
  examples: number;
  skipped_examples: number;
  answer_fallbacks: number;
}

/** sftTraining's row of the step at loop position `index` (0-based) of `total`. */
export function sftStepRow(f: {
  index: number;
  total: number;
  epoch: number;
  data: SftDataFacts;
  metrics: { loss: number; loss_per_token?: number; entropy: number; grad_norm: number; tokens: number };
  test: TestScore | null;
  checkpoint: string | null;
}): MetricsRow {
  const step = f.index + 1;
  return {
    key: `step-${f.index}`,
    step,
    'progress/batch': f.index,
    'progress/epoch': f.epoch,
    'progress/done_frac': step / f.total,
    // what the data held, once: examples, rows skipped, rows trained on the bare answer
    ...(step === 1 ? { 'sft/examples': f.data.examples, 'sft/skipped_examples': f.data.skipped_examples, 'sft/answer_fallbacks': f.data.answer_fallbacks } : {}),
    ...optimMetrics(f.metrics),
    ...(f.test ? testMetrics(f.test) : {}),
    checkpoint: f.checkpoint,
  };
}
