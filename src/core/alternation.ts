/**
 * The random streams of gepaRlAlternation's phases (DESIGN §5 "GEPA + RL alternation"). RL and
 * expert phases continue one train order (their start position is what earlier phases used up);
 * each GEPA phase gets its own seed, derived from the run seed and its round, so its minibatch
 * sequence, parent choices and sampling differ from every other phase's. Pure.
 */

export { gepaPhaseSeed } from './seeds';
