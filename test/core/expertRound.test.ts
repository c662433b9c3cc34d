/**
 * Expert iteration's round rules (core/expert round.ts, traces.ts, hints.ts, groundTruth.ts, sft.ts)
 * and the shared row parts (core/metrics.ts), with hand-computed expectations.
 */
import {
  addRoundToTotals,
  chooseTraces,
  distillationPlan,
  evaluationSummary,
  expertRoundRow,
  firstAttempts,
  hintedProblems,
  hintedSystemPrompt,
  NO_HINTS,
  NO_TOTALS,
  pickedTraces,
  problemText,
  referenceExamples,
  skippedRoundRow,
  sftStepRow,
  tallyHints,
  verifiedPicks,
  type ExpertRoundFacts,
  type HintOutcome,
} from '../../src/core/expert';
import { fractionTrue, initialEvalRow, mean } from '../../src/core/metrics';

const outcomes: HintOutcome[] = [
  { kind: 'hint', hint: 'count the vowels' },
  { kind: 'dropped' },
  { kind: 'no_ground_truth' },
  { kind: 'error', message: '400 bad request' },
  { kind: 'hint', hint: 'pair them up' },
];

test('a round\'s hint tally counts each outcome once and the leaking replies on the way', () => {
  expect(tallyHints(outcomes, 3)).toEqual({ hints: 2, leaked: 3, dropped: 1, no_truth: 1, errors: 1 });
  expect(tallyHints([], 0)).toEqual(NO_HINTS);
});

test('expert search samples exactly the failed problems that got a hint, each with its own hint', () => {
  expect(hintedProblems([4, 7, 9, 11, 12], outcomes)).toEqual({ indices: [4, 12], hints: ['count the vowels', 'pair them up'] });
  expect(hintedProblems([4], [{ kind: 'dropped' }])).toEqual({ indices: [], hints: [] });
});

test('the totals add what a round learns, part by part; a teacher refusal for want of a gold answer counts with the problems skipped for it', () => {
  let t = addRoundToTotals(NO_TOTALS, { skipped_no_ground_truth: 2, skipped: false });
  t = addRoundToTotals(t, { hints: tallyHints(outcomes, 3) });
  t = addRoundToTotals(t, { skipped: true });
  expect(t).toEqual({ hints: 2, hints_leaked: 3, skipped_no_ground_truth: 3, hints_dropped: 1, teacher_errors: 1, skipped_rounds: 1 });
  expect(NO_TOTALS.hints).toBe(0); // never changed in place
});

test('the M-step trains on this round from the current weights, or on the whole buffer from the base', () => {
  const round = { ref: 'r2', n: 3 };
  expect(distillationPlan({ restart_from_base: false, buffer_refs: ['r0', 'r2'], round, base: 'base', current: 'ckpt-5' })).toEqual({ refs: ['r2'], checkpoint_in: 'ckpt-5' });
  expect(distillationPlan({ restart_from_base: false, buffer_refs: ['r0'], round: { ref: 'empty', n: 0 }, base: 'base', current: 'ckpt-5' })).toEqual({ refs: [], checkpoint_in: 'ckpt-5' });
  expect(distillationPlan({ restart_from_base: true, buffer_refs: ['r0', 'r2'], round, base: null, current: 'ckpt-5' })).toEqual({ refs: ['r0', 'r2'], checkpoint_in: null });
});

test('a round with no problem to sample records why, and what the buffer holds', () => {
  expect(skippedRoundRow({ round: 1, n_rounds: 4, skipped_no_ground_truth: 6, buffer_size: 5, checkpoint: 'c' })).toEqual({
    key: 'round-1',
    step: 2,
    'progress/batch': 1,
    'progress/done_frac': 0.5,
    'expert/problems': 0,
    'expert/skipped_no_ground_truth': 6,
    'expert/buffer_size': 5,
    'expert/distill_examples': 0,
    'expert/skipped': 'no problem with a ground truth',
    checkpoint: 'c',
  });
});

const facts: ExpertRoundFacts = {
  round: 0,
  n_rounds: 2,
  correct_PG: [[true, false], [false, false]],
  rewards_PG: [[1, 0], [0, 0.5]],
  problems: 2,
  skipped_no_ground_truth: 1,
  failed_problems: 1,
  student_successes: 1,
  hints: tallyHints(outcomes, 3),
  expert_successes: 2,
  successes_over_cap: 1,
  buffer_size: 3,
  distill_examples: 3,
  distill: { steps: 4, losses_E: [[2, 4], [1, 2]], tokens_E: [[10, 10], [5, 15]], last: { loss: 2, loss_per_token: 0.1, entropy: 0.5, grad_norm: 1.5, tokens: 30 } },
  sft_epochs: 2,
  skipped: null,
  test: { accuracy: 0.25, reward: 0.3 },
  checkpoint: 'ckpt-4',
};

test('a round\'s row: student accuracy and reward, the tally, the M-step\'s first and last epoch loss, its last step, the test score', () => {
  const row = expertRoundRow(facts);
  expect(row).toEqual({
    key: 'round-0',
    step: 1,
    'progress/batch': 0,
    'progress/done_frac': 0.5,
    'env/all/correct': 0.25,
    'env/all/reward/total': 0.375,
    'expert/problems': 2,
    'expert/skipped_no_ground_truth': 1,
    'expert/failed_problems': 1,
    'expert/student_successes': 1,
    'expert/hints': 2,
    'expert/hints_leaked': 3,
    'expert/hints_dropped': 1,
    'expert/no_ground_truth': 1,
    'expert/teacher_errors': 1,
    'expert/expert_successes': 2,
    'expert/successes_over_cap': 1,
    'expert/buffer_size': 3,
    'expert/distill_examples': 3,
    'expert/distill_steps': 4,
    'expert/distill_loss_first_epoch': 3,
    'expert/distill_loss_last_epoch': 1.5,
    // Σ loss / Σ tokens of the epoch: (2 + 4) / (10 + 10), (1 + 2) / (5 + 15)
    'expert/distill_loss_per_token_first_epoch': 0.3,
    'expert/distill_loss_per_token_last_epoch': 0.15,
    'expert/skipped': null,
    'optim/loss': 2,
    'optim/loss_per_token': 0.1,
    'optim/entropy': 0.5,
    'optim/grad_norm': 1.5,
    'optim/tokens': 30,
    'test/env/all/correct': 0.25,
    'test/env/all/reward/total': 0.3,
    checkpoint: 'ckpt-4',
  });
  // the key order is the file's column order
  expect(Object.keys(row).slice(0, 5)).toEqual(['key', 'step', 'progress/batch', 'progress/done_frac', 'env/all/correct']);
  expect(Object.keys(row).at(-1)).toBe('checkpoint');
});

test('a round without an M-step has no losses, no optimiser fields, and says why', () => {
  const row = expertRoundRow({ ...facts, distill: null, distill_examples: 0, skipped: 'empty distillation buffer', test: null });
  expect(row).toMatchObject({ 'expert/distill_steps': 0, 'expert/distill_loss_first_epoch': null, 'expert/distill_loss_last_epoch': null, 'expert/skipped': 'empty distillation buffer' });
  expect(Object.keys(row).filter((k) => k.startsWith('optim/') || k.startsWith('test/'))).toEqual([]);
  // an M-step stopped inside its first epoch has no last-epoch loss
  expect(expertRoundRow({ ...facts, distill: { steps: 1, losses_E: [[2]], tokens_E: [[8]], last: null } })).toMatchObject({ 'expert/distill_loss_first_epoch': 2, 'expert/distill_loss_last_epoch': null, 'expert/distill_loss_per_token_first_epoch': 0.25, 'expert/distill_loss_per_token_last_epoch': null });
});

const T = (index: number, sample_index: number, correct: boolean, output = `${index}.${sample_index}`) => ({ index, sample_index, correct, output });

test('verified picks, first attempts and picked traces read a traces blob in its order', () => {
  const traces = [T(3, 0, false), T(3, 1, true), T(5, 0, true), T(5, 1, true)];
  expect(verifiedPicks(traces)).toEqual([{ index: 3, sample_index: 1 }, { index: 5, sample_index: 0 }, { index: 5, sample_index: 1 }]);
  expect(firstAttempts(traces, [5, 3, 8])).toEqual(['5.0', '3.0', '']);
  // (3, 0) names a failed sample in this source: never taken, even when picked
  expect(pickedTraces(traces, [{ index: 5, sample_index: 1 }, { index: 3, sample_index: 0 }])).toEqual([T(5, 1, true)]);
});

test('traceGeneration takes the first verified sample, else the reference (a fallback), else skips; stats by hand', () => {
  const traces = [T(1, 2, true, 'late'), T(1, 0, false), T(1, 1, true, 'early'), T(2, 0, false), T(4, 0, false)];
  const refs: Record<number, string> = { 2: 'worked solution' };
  const { chosen, stats } = chooseTraces([1, 2, 4], traces, (i) => refs[i], 3, 5);
  expect(chosen).toEqual([
    { index: 1, completion: 'early', source: 'sample', attempts: 2 },
    { index: 2, completion: 'worked solution', source: 'reference', attempts: 3 },
  ]);
  expect(stats).toMatchObject({ total: 2, successes: 1, fallbacks: 1, success_rate: 0.5, mean_attempts: 2.5, skipped: 1, skipped_no_ground_truth: 5 });
  expect(chooseTraces([], [], () => undefined, 3).stats).toMatchObject({ total: 0, successes: 0, fallbacks: 0, success_rate: 0, mean_attempts: 0, skipped: 0, skipped_no_ground_truth: 0 });
});

test('evaluation summary: accuracy, answered share, thinking share, mean reward', () => {
  const ev = (correct: boolean, extracted: string | null, output: string, reward: number) => ({ index: 0, sample_index: 0, correct, extracted, output, reward });
  expect(evaluationSummary([ev(true, '4', '<think>2+2</think> 4', 1), ev(false, null, 'no idea', 0), ev(false, '5', 'five', 0.5), ev(true, '4', '</THINK>4', 1)])).toEqual({
    n: 4,
    accuracy: 0.5,
    answer_proportion: 0.75,
    thinking_proportion: 0.5,
    mean_reward: 0.625,
  });
  expect(evaluationSummary([])).toEqual({ n: 0, accuracy: 0, answer_proportion: 0, thinking_proportion: 0, mean_reward: 0 });
});

test('the expert prompt: the hint appended to the clean prompt; the teacher sees the rendered problem', () => {
  expect(hintedSystemPrompt('Be brief.', 'pair the vowels')).toBe('Be brief.\n\nHint: pair the vowels');
  expect(hintedSystemPrompt('Be brief.', null)).toBe('Be brief.');
  expect(hintedSystemPrompt('Be brief.', '')).toBe('Be brief.');
  expect(problemText([{ content: 'Paragraph A' }, { content: 'Who?' }])).toBe('Paragraph A\n\nWho?');
});

test('reference examples: worked solutions, bare answers counted as fallbacks, rows with neither skipped and counted', () => {
  const rows = [{ solution: 'S', answer: '1' }, { answer: '2' }, { answer: '' }, { solution: ' ', answer: null }];
  expect(referenceExamples(rows)).toEqual({ picked: [{ row: rows[0], completion: 'S' }, { row: rows[1], completion: '2' }], skipped: 2, answer_fallbacks: 1 });
});

test('SFT step rows report the data once, in the first step', () => {
  const base = { total: 4, epoch: 0, data: { examples: 7, skipped_examples: 1, answer_fallbacks: 2 }, metrics: { loss: 1, loss_per_token: 0.25, entropy: 2, grad_norm: 3, tokens: 4 }, checkpoint: 'c' };
  expect(sftStepRow({ ...base, index: 0, test: null })).toEqual({
    key: 'step-0',
    step: 1,
    'progress/batch': 0,
    'progress/epoch': 0,
    'progress/done_frac': 0.25,
    'sft/examples': 7,
    'sft/skipped_examples': 1,
    'sft/answer_fallbacks': 2,
    'optim/loss': 1,
    'optim/loss_per_token': 0.25,
    'optim/entropy': 2,
    'optim/grad_norm': 3,
    'optim/tokens': 4,
    checkpoint: 'c',
  });
  const last = sftStepRow({ ...base, index: 3, epoch: 1, test: { accuracy: 0.5, reward: 0.25 } });
  expect(last).toMatchObject({ key: 'step-3', step: 4, 'progress/done_frac': 1, 'test/env/all/correct': 0.5, 'test/env/all/reward/total': 0.25 });
  expect(Object.keys(last).filter((k) => k.startsWith('sft/'))).toEqual([]);
});

test('shared row parts: the step-0 evaluation row, means and shares', () => {
  expect(initialEvalRow({ accuracy: 0.5, reward: 0.25 })).toMatchObject({ key: 'eval-0', step: 0, 'progress/batch': 0, 'test/env/all/correct': 0.5, 'test/env/all/reward/total': 0.25 });
  expect(mean([1, 2, 6])).toBe(3);
  expect(mean([])).toBe(0);
  expect(fractionTrue([true, false, false, true])).toBe(0.5);
  expect(fractionTrue([])).toBe(0);
});
