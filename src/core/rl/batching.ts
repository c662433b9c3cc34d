/**
 * Which train problems go into batch b: an epoch-shuffled order of the train set (seeded), cut
 * into consecutive slices of groups_per_batch. Pure function of (trainSize, batch, size, seed), so
 * a resumed run plans exactly the batches an uninterrupted one would.
 */
import { seededShuffle } from '../rng';
import { epochShuffleSeed } from '../seeds';

export function epochOrder(trainSize: number, epoch: number, seed: number): number[] {
  return seededShuffle(Array.from({ length: trainSize }, (_, i) => i), epochShuffleSeed(seed, epoch));
}

export function planBatch(trainSize: number, batch: number, groupsPerBatch: number, seed: number): number[] {
  if (trainSize <= 0) throw new Error(`the train split is empty: cannot plan batch ${batch}`);
  const out: number[] = [];
  let pos = batch * groupsPerBatch;
  while (out.length < groupsPerBatch) {
    const epoch = Math.floor(pos / trainSize);
    const order = epochOrder(trainSize, epoch, seed);
    const start = pos % trainSize;
    const take = Math.min(groupsPerBatch - out.length, trainSize - start);
    out.push(...order.slice(start, start + take));
    pos += take;
  }
  return out;
}

/** Evaluate after batch k when k % every == 0 or at the end (a training run also evaluates once before its first batch). */
export function shouldEval(batchesDone: number, evalEvery: number, nBatches: number): boolean {
  if (batchesDone === nBatches) return true;
  return evalEvery > 0 && batchesDone % evalEvery === 0;
}

export function shouldSave(batchesDone: number, saveEvery: number, nBatches: number): boolean {
  return batchesDone === nBatches || (saveEvery > 0 && batchesDone % saveEvery === 0);
}

/** The test problems a training workflow evaluates on: the first `nEval` of the split (the whole split without it). */
export function testProblems(nEval: number | undefined, testSize: number): number[] {
  return Array.from({ length: Math.min(nEval ?? testSize, testSize) }, (_, i) => i);
}
