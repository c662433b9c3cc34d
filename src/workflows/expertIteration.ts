/**
 * expertIteration (DESIGN §5, STaR rationalisation / ReST-EM): per round, N student attempts per
 * problem under the clean prompt s; for the problems it fails, the teacher writes a hint from
 * problem + ground truth + the student's attempt (a leaking hint is regenerated, then dropped);
 * expert search under s + hint; verified successes (at most max_successes_per_problem) are distilled
 * by SFT (cross_entropy) on (x -> y*) under the clean prompt, hint removed: the M-step of ReST-EM,
 * sft_epochs passes in batches of sft_batch_size (sftLoop.ts, the loop of sftTraining), on the
 * round's successes or, with restart_from_base, on the whole buffer from the base weights. Problems without a
 * ground truth are left out before sampling, in every mode, and counted. The buffer (blob refs)
 * and the success counts travel through continue-as-new; the rules (tally, buffer choice, rows,
 * hint verdicts, success cap) live in src/core/expert.
 */
import { allHandlersFinished, condition, continueAsNew, log, workflowInfo } from '@temporalio/workflow';
import type { ExpertIterationInput } from '../config';
import {
  addRoundToTotals,
  distillationPlan,
  expertRoundRow,
  failedProblems,
  hintedProblems,
  judgeHint,
  keepSuccesses,
  NO_HINTS,
  NO_TOTALS,
  ROUND_SKIPPED,
  skippedRoundRow,
  tallyHints,
  type ExpertTotals,
  type HintOutcome,
  type HintTally,
  type SuccessPick,
} from '../core/expert';
import { fractionTrue, initialEvalRow, type TestScore } from '../core/metrics';
import { planBatch, testProblems } from '../core/rl';
import { hintedAttemptSeed, teacherHintSeed, testEvalSeed, trainBatchSeed } from '../core/seeds';
import type { BlobRef } from '../types';
import type { RunPaths } from '../activities/run';
import { finishTraining, logMetrics, modelRef, parseInput, runIdOf, trainerActivities, trainerRunId, tsActivities } from './common';
import { installControl, setStatusHandler, type Control, type ControlState } from './control';
import { progress } from './messages';
import { evaluateTest, runOnOf, runPolicy, type Evaluated, type RunOn } from './policy';
import { trainSft, type SftLoopResult } from './sftLoop';

/** What a run knows between rounds: all of it travels through continue-as-new. */
interface ExpertState {
  round: number;
  checkpoint: string | null;
  /** the distillation buffer: one SFT blob per round that found successes */
  buffer_refs: BlobRef[];
  buffer_size: number;
  success_counts: Record<string, number>;
  initial_test_accuracy: number | null;
  last_test_accuracy: number | null;
  totals: ExpertTotals;
  /** distillation train steps done so far: the next M-step's first step id */
  sft_steps: number;
}

export interface ExpertCarry extends ExpertState {
  paths: RunPaths;
  /** pause/stop and the metrics summary at the moment of continue-as-new */
  control: ControlState;
}

export interface ExpertResult {
  run_id: string;
  run_dir: string;
  rounds_done: number;
  final_checkpoint: string | null;
  initial_test_accuracy: number | null;
  final_test_accuracy: number | null;
  buffer_size: number;
  totals: ExpertTotals;
  stopped: boolean;
}

/** One execution (between continue-as-new): the config, where it writes, and the state it changes. */
interface ExpertRun {
  input: ExpertIterationInput;
  run_id: string;
  paths: RunPaths;
  on: RunOn;
  train_size: number;
  test_indices: number[];
  st: ExpertState;
  /** what only the status query shows: the step under way, the round's student accuracy */
  live: { phase: string; round: number; accuracy: number | null };
  control: Control;
}

/** A round's student attempts: their traces, the successes kept under the cap and those over it. */
interface StudentPass {
  ev: Evaluated;
  picks: SuccessPick[];
  over_cap: number;
}

/** A round's teacher hints and the expert search under them. */
interface HintedSearch {
  tally: HintTally;
  refs: BlobRef[];
  picks: SuccessPick[];
  over_cap: number;
}

const NO_HINTED_SEARCH: HintedSearch = { tally: NO_HINTS, refs: [], picks: [], over_cap: 0 };

export async function expertIteration(raw: unknown, carry?: ExpertCarry): Promise<ExpertResult> {
  const input = parseInput<ExpertIterationInput>('expertIteration', raw);
  const st = startState(input, carry);
  const live = { phase: 'starting', round: st.round, accuracy: null as number | null };
  const control = installControl({ initial: carry?.control });
  setStatusHandler('expertIteration', () => statusOf(input, st, live, control));
  const runId = runIdOf(input.run);
  const paths =
    carry?.paths ??
    (await tsActivities.prepareRun({ run_id: runId, output_dir: input.run.output_dir, workflow_type: 'expertIteration', workflow_id: workflowInfo().workflowId, config: input, phase: input.phase }));
  const sizes = await tsActivities.taskSplitSizes({ task: input.task });
  const r: ExpertRun = { input, run_id: runId, paths, on: runOnOf(input, paths.blob_dir), train_size: sizes.train, test_indices: testProblems(input.n_eval, sizes.test), st, live, control };
  if (!carry && r.test_indices.length > 0) {
    const t = await evaluate(r);
    st.initial_test_accuracy = t.accuracy;
    await logMetrics(paths, input.run, [initialEvalRow(t)], control);
  }

  const firstRound = st.round;
  for (; st.round < input.expert.n_rounds; st.round++) {
    if (await control.checkpoint()) break;
    // between rounds, never before the first one of this run: the buffer and counts travel along
    if (st.round > firstRound && workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof expertIteration>(raw, { ...st, paths, control: control.snapshot() });
    }
    await runRound(r);
  }
  live.phase = 'done';
  return finishTraining(paths, control, {
    run_id: runId,
    run_dir: paths.run_dir,
    rounds_done: st.round,
    final_checkpoint: st.checkpoint,
    initial_test_accuracy: st.initial_test_accuracy,
    final_test_accuracy: st.last_test_accuracy,
    buffer_size: st.buffer_size,
    totals: st.totals,
    stopped: control.stopRequested,
  } satisfies ExpertResult);
}

function startState(input: ExpertIterationInput, carry: ExpertCarry | undefined): ExpertState {
  if (!carry) {
    return { round: 0, checkpoint: input.policy.checkpoint, buffer_refs: [], buffer_size: 0, success_counts: {}, initial_test_accuracy: null, last_test_accuracy: null, totals: { ...NO_TOTALS }, sft_steps: 0 };
  }
  const { paths: _paths, control: _control, ...st } = carry;
  return { ...st, buffer_refs: [...st.buffer_refs], success_counts: { ...st.success_counts }, totals: { ...st.totals } };
}

function statusOf(input: ExpertIterationInput, st: ExpertState, live: ExpertRun['live'], control: Control) {
  return {
    phase: live.phase,
    round: live.round,
    n_rounds: input.expert.n_rounds,
    step: live.round,
    total: input.expert.n_rounds,
    accuracy: live.accuracy,
    test_accuracy: st.last_test_accuracy,
    buffer_size: st.buffer_size,
    checkpoint: st.checkpoint,
    ...st.totals,
    paused: control.paused,
    progress: progress(live.round, input.expert.n_rounds, 'rounds'),
  };
}

/** One round: plan its problems, the student's attempts, hints and expert search for the failures, the buffer, the M-step, record. */
async function runRound(r: ExpertRun): Promise<void> {
  const { input, st, live } = r;
  live.round = st.round;
  // the position in the train order continues an earlier phase's (start_round); so do the seeds
  const position = input.start_round + st.round;
  const seed = trainBatchSeed(input.run.seed, position);
  live.phase = 'student';
  const truth = await planRound(r, position);
  st.totals = addRoundToTotals(st.totals, { skipped_no_ground_truth: truth.without_truth.length, skipped: truth.with_truth.length === 0 });
  if (truth.with_truth.length === 0) {
    const row = skippedRoundRow({ round: st.round, n_rounds: input.expert.n_rounds, skipped_no_ground_truth: truth.without_truth.length, buffer_size: st.buffer_size, checkpoint: st.checkpoint });
    await logMetrics(r.paths, input.run, [row], r.control);
    return;
  }
  const indices_P = truth.with_truth;
  const student = await studentAttempts(r, indices_P, seed);
  const failed = failedProblems(indices_P, student.ev.correct_PG);
  const hinted = input.expert.use_hints && failed.length > 0 ? await hintedSearch(r, student.ev.traces_refs, failed, seed) : NO_HINTED_SEARCH;
  st.totals = addRoundToTotals(st.totals, { hints: hinted.tally });
  const m = await distil(r, await addToBuffer(r, student, hinted), seed);
  const test = r.test_indices.length > 0 ? await evaluate(r) : null;
  const row = expertRoundRow({
    round: st.round,
    n_rounds: input.expert.n_rounds,
    correct_PG: student.ev.correct_PG,
    rewards_PG: student.ev.rewards_PG,
    problems: indices_P.length,
    skipped_no_ground_truth: truth.without_truth.length,
    failed_problems: failed.length,
    student_successes: student.picks.length,
    hints: hinted.tally,
    expert_successes: hinted.picks.length,
    successes_over_cap: student.over_cap + hinted.over_cap,
    buffer_size: st.buffer_size,
    distill_examples: m.examples,
    distill: m.distill,
    sft_epochs: input.expert.sft_epochs,
    skipped: m.skipped,
    test,
    checkpoint: st.checkpoint,
  });
  await logMetrics(r.paths, input.run, [row], r.control);
  const samples = await tsActivities.sampleRows({ traces_ref: student.ev.traces_refs[0], phase: input.phase ?? 'expert', step: st.round, max_rows: 2 });
  await tsActivities.appendRows({ run_dir: r.paths.run_dir, file: 'samples.jsonl', rows: samples });
}

/** The round's problems, split by whether they have a gold answer: without one nothing can be verified (`contains` would even reward every completion), so they are never sampled. */
async function planRound(r: ExpertRun, position: number) {
  const { input } = r;
  const planned = planBatch(r.train_size, position, Math.min(input.expert.problems_per_round, r.train_size), input.run.seed);
  const truth = await tsActivities.groundTruthPartition({ task: input.task, split: 'train', indices: planned });
  if (truth.without_truth.length > 0) log.info('problems without a ground truth skipped', { round: r.st.round, indices: truth.without_truth });
  return truth;
}

/** 1. attempts_per_problem student samples per problem under the clean prompt; their verified successes, capped. */
async function studentAttempts(r: ExpertRun, indices_P: number[], seed: number): Promise<StudentPass> {
  const { input, st } = r;
  const ev = await runPolicy({ ...r.on, checkpoint: st.checkpoint }, 'train', indices_P, input.system_prompt, { numSamples: input.expert.attempts_per_problem, seed });
  r.live.accuracy = fractionTrue(ev.correct_PG.flat());
  const found = await tsActivities.verifiedSuccesses({ traces_refs: ev.traces_refs });
  const picks = keepSuccesses(st.success_counts, found, input.expert.max_successes_per_problem);
  return { ev, picks, over_cap: found.length - picks.length };
}

/** 2. teacher hints for the failed problems, leak-checked; 3. expert search under s + hint, its verified successes capped. */
async function hintedSearch(r: ExpertRun, studentRefs: BlobRef[], failed: number[], seed: number): Promise<HintedSearch> {
  const { input, st } = r;
  r.live.phase = 'teacher';
  const attempts = await tsActivities.firstAttempts({ traces_refs: studentRefs, indices: failed });
  const asked = await Promise.all(failed.map((index, k) => askTeacher(r, index, attempts[k], seed)));
  const outcomes = asked.map((a) => a.outcome);
  for (const o of outcomes) if (o.kind === 'error') log.warn('teacher call failed; problem skipped this round', { round: st.round, message: o.message });
  const tally = tallyHints(outcomes, asked.reduce((n, a) => n + a.leaks, 0));
  const hinted = hintedProblems(failed, outcomes);
  if (hinted.indices.length === 0) return { ...NO_HINTED_SEARCH, tally };
  r.live.phase = 'expert_search';
  const expert = await runPolicy({ ...r.on, checkpoint: st.checkpoint }, 'train', hinted.indices, input.system_prompt, { numSamples: input.expert.expert_samples, seed: hintedAttemptSeed(seed), hints: hinted.hints });
  const found = await tsActivities.verifiedSuccesses({ traces_refs: expert.traces_refs });
  const picks = keepSuccesses(st.success_counts, found, input.expert.max_successes_per_problem);
  return { tally, refs: expert.traces_refs, picks, over_cap: found.length - picks.length };
}

/** One problem's hint: asked again while it leaks (or is empty) and regenerations remain; how many replies leaked on the way. */
async function askTeacher(r: ExpertRun, index: number, attempt: string, seed: number): Promise<{ outcome: HintOutcome; leaks: number }> {
  const { input } = r;
  let leaks = 0;
  for (let k = 0; ; k++) {
    const reply = await tsActivities.teacherHint({ teacher: input.teacher, task: input.task, index, attempt, previous_leaks: k, seed: teacherHintSeed(seed, index, k) });
    const { outcome, leaked } = judgeHint(reply, k, input.expert.max_hint_regenerations);
    if (leaked) leaks++;
    if (outcome) return { outcome, leaks };
  }
}

/** 4. the round's kept successes as (x -> y*) under the clean prompt (the messages are rebuilt, so no hint reaches training), added to the buffer. */
async function addToBuffer(r: ExpertRun, student: StudentPass, hinted: HintedSearch): Promise<{ ref: BlobRef; n: number }> {
  const { input, st } = r;
  const picked = await tsActivities.sftFromTraces({
    task: input.task,
    split: 'train',
    system_prompt: input.system_prompt,
    // per source: (index, sample_index) of an expert sample also names a failed student attempt
    sources: [
      { traces_refs: student.ev.traces_refs, picks: student.picks },
      { traces_refs: hinted.refs, picks: hinted.picks },
    ],
    blob_dir: r.paths.blob_dir,
  });
  if (picked.n > 0) {
    st.buffer_refs.push(picked.ref);
    st.buffer_size += picked.n;
  }
  return picked;
}

/** 5. the M-step: sft_epochs of cross-entropy on the examples distillationPlan chooses, from the weights it names (the same loop as sftTraining). */
async function distil(r: ExpertRun, picked: { ref: BlobRef; n: number }, seed: number): Promise<{ examples: number; distill: SftLoopResult | null; skipped: string | null }> {
  const { input, st } = r;
  const e = input.expert;
  const plan = distillationPlan({ restart_from_base: e.restart_from_base, buffer_refs: st.buffer_refs, round: picked, base: input.policy.checkpoint, current: st.checkpoint });
  // each epoch in its own shuffled order (seeded by the round's seed and the epoch)
  const epochBatches = async (epoch: number) => tsActivities.sftBatchesOf({ refs: plan.refs, batch_size: e.sft_batch_size, seed, epoch, blob_dir: r.paths.blob_dir });
  const data = plan.refs.length > 0 ? await epochBatches(0) : { batches: [], n: 0 };
  if (data.n === 0) {
    st.totals = addRoundToTotals(st.totals, { skipped: true });
    log.info('no verified successes this round: distillation skipped', { round: st.round });
    return { examples: 0, distill: null, skipped: ROUND_SKIPPED.empty_buffer };
  }
  r.live.phase = 'distill';
  const distill = await trainSft({
    trainer: trainerActivities(input.run.trainer_heartbeat_timeout_s),
    run_id: trainerRunId(r.run_id, input.phase),
    model: modelRef(input.policy),
    checkpoint_in: plan.checkpoint_in,
    checkpoint_root: r.paths.checkpoint_root,
    epochBatches: async (epoch) => (epoch === 0 ? data : await epochBatches(epoch)).batches,
    batches_per_epoch: data.batches.length,
    epochs: e.sft_epochs,
    first_step: st.sft_steps,
    learning_rate: e.sft_learning_rate,
    optim: input.optim,
  });
  st.sft_steps += distill.steps;
  st.checkpoint = distill.checkpoint;
  return { examples: data.n, distill, skipped: null };
}

/** The fixed-seed test evaluation of the current weights. */
async function evaluate(r: ExpertRun): Promise<TestScore> {
  r.live.phase = 'eval';
  const t = await evaluateTest({ ...r.on, checkpoint: r.st.checkpoint }, r.test_indices, r.input.system_prompt, testEvalSeed(r.input.run.seed));
  r.st.last_test_accuracy = t.accuracy;
  return t;
}
