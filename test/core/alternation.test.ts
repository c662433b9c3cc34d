import { adoptsGepaPrompt, alternationPhases, expertPhaseStartRound, gepaPhaseSeed } from '../../src/core/alternation';
import { epochOrder, planBatch } from '../../src/core/rl/batching';
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

test('an expert phase starts past every train-order position and seed of the RL phases, then after the expert rounds before it', () => {
  // 3 rounds x 10 RL batches of 50 problems = 1500 problems; in rounds of 8: ceil(1500 / 8) = 188 (> 30 RL seeds)
  expect(expertPhaseStartRound({ n_rounds: 3, rl_batches_per_round: 10 }, 50, 8, 0)).toBe(188);
  expect(expertPhaseStartRound({ n_rounds: 3, rl_batches_per_round: 10 }, 50, 8, 2)).toBe(190);
  // 2 RL batches of 2 problems = 4 problems, rounds of 8: ceil(4 / 8) = 1, but the RL seeds use positions 0 and 1: 2
  expect(expertPhaseStartRound({ n_rounds: 2, rl_batches_per_round: 1 }, 2, 8, 0)).toBe(2);
  // no RL batches: the expert phases start at 0
  expect(expertPhaseStartRound({ n_rounds: 2, rl_batches_per_round: 0 }, 50, 8, 3)).toBe(3);
  // the problems: every RL position and every expert position of a run, on a train split of 7
  const a = { n_rounds: 2, rl_batches_per_round: 2 };
  const rl = Array.from({ length: 4 }, (_, b) => [b * 3, b * 3 + 3]); // groups_per_batch 3: positions [3b, 3b + 3)
  const start = expertPhaseStartRound(a, 3, 4, 0); // ceil(12 / 4) = 3 rounds of problems, but the 4 RL seeds use positions 0-3: 4
  expect(start).toBe(4);
  const expert = [0, 1, 2, 3].map((r) => [(start + r) * 4, (start + r) * 4 + 4]); // positions [4k, 4k + 4)
  expect(Math.max(...rl.map((x) => x[1]))).toBeLessThanOrEqual(Math.min(...expert.map((x) => x[0])));
  expect(planBatch(7, start, 4, 1)).toEqual(planBatchFromPosition(7, 16, 4, 1)); // the expert phase's first problems: positions 16-19 (epoch 2)
});

/** The 4 problems at train-order positions [pos, pos + 4): planBatch's own walk, written out. */
function planBatchFromPosition(trainSize: number, pos: number, n: number, seed: number): number[] {
  const out: number[] = [];
  for (let p = pos; p < pos + n; p++) out.push(epochOrder(trainSize, Math.floor(p / trainSize), seed)[p % trainSize]);
  return out;
}
