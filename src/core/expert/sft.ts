/** How the distillation (and SFT) examples are cut into optimiser steps. Pure. */
import { createRng, shuffle } from '../rng';

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
