import { adoptsGepaPrompt, alternationPhases, gepaPhaseSeed } from '../../src/core/alternation';
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

test('the phases of an alternation: GEPA, RL, then expert per round; skip_first_gepa drops only round 0 GEPA', () => {
  const kinds = (a: Parameters<typeof alternationPhases>[0]) => alternationPhases(a).map((p) => p.folder);
  expect(kinds({ n_rounds: 2, skip_first_gepa: false, expert_rounds_per_round: 0 })).toEqual(['round0_gepa', 'round0_rl', 'round1_gepa', 'round1_rl']);
  expect(kinds({ n_rounds: 2, skip_first_gepa: true, expert_rounds_per_round: 0 })).toEqual(['round0_rl', 'round1_gepa', 'round1_rl']);
  expect(kinds({ n_rounds: 2, skip_first_gepa: true, expert_rounds_per_round: 1 })).toEqual(['round0_rl', 'round0_expert', 'round1_gepa', 'round1_rl', 'round1_expert']);
  expect(alternationPhases({ n_rounds: 1, skip_first_gepa: false, expert_rounds_per_round: 2 })[2]).toEqual({ round: 0, kind: 'expert', folder: 'round0_expert' });
  expect(alternationPhases({ n_rounds: 0, skip_first_gepa: false, expert_rounds_per_round: 0 })).toEqual([]);
});

test("a GEPA phase's prompt is adopted only when it differs and strictly beats the seed's val score", () => {
  const r = (best_prompt: string, best_val_score: number | null, seed_val_score: number) => ({ best_prompt, best_val_score, seed_val_score });
  expect(adoptsGepaPrompt('s', r('t', 0.6, 0.5))).toBe(true);
  expect(adoptsGepaPrompt('s', r('t', 0.5, 0.5))).toBe(false); // a tie keeps s
  expect(adoptsGepaPrompt('s', r('s', 0.9, 0.5))).toBe(false); // the same text: nothing to adopt
  expect(adoptsGepaPrompt('s', r('t', null, 0))).toBe(false); // no scored candidate
  expect(adoptsGepaPrompt('s', r('t', 0.4, 0.5))).toBe(false);
});
