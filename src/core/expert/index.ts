/**
 * Expert iteration rules (DESIGN §5), one file per decision: the hint leak check (leak.ts), the
 * teacher's hint, its verdict and the hinted prompt (hints.ts), the per-problem success cap
 * (successes.ts), which problems have a ground truth (groundTruth.ts), what a traces blob yields
 * (traces.ts), a round's tally, buffer choice and rows (round.ts), SFT batching (sft.ts). Pure.
 */
export * from './leak';
export * from './hints';
export * from './successes';
export * from './groundTruth';
export * from './traces';
export * from './round';
export * from './sft';
