/**
 * The rules of gepaRlAlternation (DESIGN §5 "GEPA + RL alternation"): which phases run in which
 * order, and when a GEPA phase's prompt is adopted. Its random streams: RL and expert phases
 * walk one train order, each kind continuing where its previous phase stopped; expert phases sit
 * after every position the run's RL phases plan (expertPhaseStartRound); each GEPA phase
 * gets its own seed (core/seeds.ts gepaPhaseSeed), so its minibatch sequence, parent choices and
 * sampling differ from every other phase's. Pure.
 */

export { gepaPhaseSeed } from './seeds';

export type PhaseKind = 'gepa' | 'rl' | 'expert';

export interface PhasePlan {
  round: number;
  kind: PhaseKind;
  /** the phase's sub-folder of the run directory, also the tail of its child workflow id */
  folder: string;
}

/**
 * Every phase of the run in order: per round GEPA, then RL, then expert iteration when
 * expert_rounds_per_round > 0; skip_first_gepa starts round 0 with RL.
 */
export function alternationPhases(a: { n_rounds: number; skip_first_gepa: boolean; expert_rounds_per_round: number }): PhasePlan[] {
  const phases: PhasePlan[] = [];
  for (let round = 0; round < a.n_rounds; round++) {
    for (const kind of ['gepa', 'rl', 'expert'] as const) {
      if (kind === 'gepa' && round === 0 && a.skip_first_gepa) continue;
      if (kind === 'expert' && a.expert_rounds_per_round === 0) continue;
      phases.push({ round, kind, folder: `round${round}_${kind}` });
    }
  }
  return phases;
}

/**
 * The train-order position (in expert rounds: round k attempts the problems of planBatch position k,
 * problems_per_round of them, sampled with trainBatchSeed(seed, k)) of an expert phase's first round:
 * past every problem and every seed of the run's RL phases (n_rounds x rl_batches_per_round batches
 * of groups_per_batch problems, at positions 0, 1, ...), then past the expert rounds before it. So
 * an expert phase never re-attempts, in the same order and with the same seeds, the problems an RL
 * phase trained on, and the RL phases keep the positions an RL-only run has. (A train split smaller
 * than problems_per_round puts all of it in every round: the overlap cannot be avoided there.)
 */
export function expertPhaseStartRound(a: { n_rounds: number; rl_batches_per_round: number }, groupsPerBatch: number, problemsPerRound: number, expertRoundsDone: number): number {
  const rlBatches = a.n_rounds * a.rl_batches_per_round;
  return Math.max(Math.ceil((rlBatches * groupsPerBatch) / problemsPerRound), rlBatches) + expertRoundsDone;
}

/**
 * A GEPA phase's best prompt replaces the prompt it started from only when it differs from it and
 * its val score strictly beats that seed's (a phase that found nothing better leaves s as it was).
 */
export function adoptsGepaPrompt(current: string, r: { best_prompt: string; best_val_score: number | null; seed_val_score: number }): boolean {
  return r.best_prompt !== current && (r.best_val_score ?? -Infinity) > r.seed_val_score;
}
