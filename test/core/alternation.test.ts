import { gepaPhaseSeed } from '../../src/core/alternation';
import { initSampler, nextMinibatch } from '../../src/core/gepa/sampler';
import { createRng } from '../../src/core/rng';

test('each GEPA phase of an alternation draws its own minibatch sequence', () => {
  const seeds = [0, 1, 2, 3].map((round) => gepaPhaseSeed(5, round));
  expect(new Set(seeds).size).toBe(4);
  for (const s of seeds) expect(Number.isSafeInteger(s) && s >= 0 && s < 2 ** 31).toBe(true);
  expect(gepaPhaseSeed(5, 1)).toBe(gepaPhaseSeed(5, 1)); // deterministic (replay)
  expect(gepaPhaseSeed(6, 1)).not.toBe(gepaPhaseSeed(5, 1));
  // the first minibatches the GEPA engine would draw (its sampler over its seeded rng) differ per round
  const firstMinibatches = seeds.map((s) => {
    const rng = createRng(s);
    const sampler = initSampler();
    return JSON.stringify([0, 1, 2].map(() => nextMinibatch(sampler, 30, 3, rng)));
  });
  expect(new Set(firstMinibatches).size).toBe(4);
});
