/**
 * The metrics row of the test evaluation before any training step, written by every training
 * workflow (rlTraining, sftTraining, expertIteration) under one key, so a retried write never
 * duplicates it and every chart finds the starting point at step 0. Pure.
 */

export const INITIAL_EVAL_KEY = 'eval-0';

/** The test-split columns of an evaluation (names as in tinker-cookbook). */
export function testEvalColumns(test: { accuracy: number; reward: number }): { 'test/env/all/correct': number; 'test/env/all/reward/total': number } {
  return { 'test/env/all/correct': test.accuracy, 'test/env/all/reward/total': test.reward };
}

/** The step-0 row: the policy on the test split before it is trained. */
export function initialEvalRow(test: { accuracy: number; reward: number }): { key: string; step: number } & Record<string, number | string> {
  return { key: INITIAL_EVAL_KEY, step: 0, 'progress/batch': 0, ...testEvalColumns(test) };
}
