/**
 * The random streams of gepaRlAlternation's phases (DESIGN §5 "GEPA + RL alternation"). RL and
 * expert phases continue one train order (their start position is what earlier phases used up);
 * each GEPA phase gets its own seed, derived from the run seed and its round, so its minibatch
 * sequence, parent choices and sampling differ from every other phase's. Pure.
 */

/** The run seed of round `round`'s GEPA phase: a 31-bit hash of (seed, round), distinct per round. */
export function gepaPhaseSeed(seed: number, round: number): number {
  let x = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(round + 1, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 1;
}
