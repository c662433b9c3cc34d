/**
 * Epoch-shuffled minibatches over the train set: each epoch is a fresh seeded permutation handed
 * out in consecutive slices; a short tail is completed from the next epoch's order (without
 * repeating an id inside one minibatch), so every id appears once per epoch.
 */
import { shuffle, type RngState } from '../rng';
import type { SamplerState } from './types';

export function initSampler(): SamplerState {
  return { epoch: -1, order: [], pos: 0 };
}

export function nextMinibatch(sampler: SamplerState, trainSize: number, size: number, rng: RngState): number[] {
  if (trainSize <= 0) throw new Error('cannot draw a minibatch from an empty train set');
  const want = Math.min(size, trainSize);
  const out: number[] = [];
  while (out.length < want) {
    if (sampler.pos >= sampler.order.length) {
      sampler.epoch += 1;
      sampler.order = shuffle(rng, Array.from({ length: trainSize }, (_, i) => i));
      sampler.pos = 0;
    }
    const id = sampler.order[sampler.pos];
    if (out.includes(id)) {
      // move the duplicate to the end of this epoch so it is still served once
      sampler.order.splice(sampler.pos, 1);
      sampler.order.push(id);
      if (sampler.order.slice(sampler.pos).every((x) => out.includes(x))) break;
      continue;
    }
    out.push(id);
    sampler.pos += 1;
  }
  return out;
}
