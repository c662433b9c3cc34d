/**
 * expertIteration (DESIGN §5, STaR rationalisation / ReST-EM): per round, N student attempts per
 * problem under the clean prompt s; for the problems it fails, the teacher writes a hint from
 * problem + ground truth + the student's attempt (a leaking hint is regenerated, then dropped);
 * expert search under s + hint; verified successes (at most max_successes_per_problem) are distilled
 * by SFT (cross_entropy) on (x -> y*) under the clean prompt, hint removed: the M-step of ReST-EM,
 * sft_epochs passes in batches of sft_batch_size (sftLoop.ts, the loop of sftTraining), on the
 * round's successes or, with restart_from_base, on the whole buffer from the base weights. Problems without a
 * ground truth are left out before sampling, in every mode, and counted. The buffer (blob refs)
 * and the success counts travel through continue-as-new; the rules live in src/core/expert.
 */
import { allHandlersFinished, condition, continueAsNew, log, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ExpertIterationInput } from '../config';
import { failedProblems, judgeHint, keepSuccesses, type HintOutcome } from '../core/expert';
import { planBatch } from '../core/rl';
import type { BlobRef } from '../types';
import type { RunPaths } from '../activities/run';
import { logMetrics, mean, modelRef, parseInput, runIdOf, trainerActivities, ts } from './common';
import { installControl, type ControlState } from './control';
import { progress, statusQueries } from './messages';
import { evaluateTest, runPolicy, type RunOn } from './policy';
import { trainSft, type SftLoopResult } from './sftLoop';
import { testEvalSeed, trainBatchSeed, hintedAttemptSeed } from '../core/seeds';
import { initialEvalRow } from '../core/evalRows';

export interface ExpertCarry {
  round: number;
  checkpoint: string | null;
  paths: RunPaths;
  /** the distillation buffer: one SFT blob per round that found successes */
  buffer_refs: BlobRef[];
  buffer_size: number;
  success_counts: Record<string, number>;
  initial_test_accuracy: number | null;
  last_test_accuracy: number | null;
  totals: ExpertTotals;
  /** pause/stop and the metrics summary at the moment of continue-as-new (absent in older carries) */
  control?: ControlState;
  /** distillation train steps done so far: the next M-step's first step id */
  sft_steps: number;
}

export interface ExpertTotals {
  hints: number;
  hints_leaked: number;
  /** planned problems left out before sampling because their gold answer is empty or missing */
  skipped_no_ground_truth: number;
  hints_dropped: number;
  no_ground_truth: number;
  teacher_errors: number;
  skipped_rounds: number;
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

const NO_TOTALS: ExpertTotals = { hints: 0, hints_leaked: 0, skipped_no_ground_truth: 0, hints_dropped: 0, no_ground_truth: 0, teacher_errors: 0, skipped_rounds: 0 };

export async function expertIteration(raw: unknown, carry?: ExpertCarry): Promise<ExpertResult> {
  const input = parseInput<ExpertIterationInput>('expertIteration', raw);
  const e = input.expert;
  const trainer = trainerActivities(input.run.trainer_heartbeat_timeout_s);
  const runId = runIdOf(input.run);
  const baseCheckpoint = input.policy.checkpoint;
  let checkpoint = carry?.checkpoint ?? baseCheckpoint;
  const bufferRefs = [...(carry?.buffer_refs ?? [])];
  let bufferSize = carry?.buffer_size ?? 0;
  const counts: Record<string, number> = { ...(carry?.success_counts ?? {}) };
  const totals: ExpertTotals = { ...NO_TOTALS, ...carry?.totals };
  let round = carry?.round ?? 0;
  let sftSteps = carry?.sft_steps ?? 0;
  const status = {
    phase: 'starting',
    round,
    n_rounds: e.n_rounds,
    step: round,
    total: e.n_rounds,
    accuracy: null as number | null,
    test_accuracy: carry?.last_test_accuracy ?? null,
    buffer_size: bufferSize,
    checkpoint,
    ...totals,
  };
  const control = installControl({
    initial: carry?.control,
  });
  setHandler(statusQueries.expertIteration, () => ({ ...status, ...totals, paused: control.paused, progress: progress(status.round, status.n_rounds, 'rounds') }));

  const paths =
    carry?.paths ??
    (await ts.prepareRun({ run_id: runId, output_dir: input.run.output_dir, workflow_type: 'expertIteration', workflow_id: workflowInfo().workflowId, config: input, phase: input.phase }));
  const on: RunOn = { task: input.task, policy: input.policy, blob_dir: paths.blob_dir, parallelism: 1, trainer_heartbeat_timeout_s: input.run.trainer_heartbeat_timeout_s };
  const sizes = await ts.taskSplitSizes({ task: input.task });
  const testIdx = Array.from({ length: Math.min(input.n_eval ?? sizes.test, sizes.test) }, (_, i) => i);
  const evalTest = async (ckpt: string | null) => {
    status.phase = 'eval';
    const t = await evaluateTest({ ...on, checkpoint: ckpt }, testIdx, input.system_prompt, testEvalSeed(input.run.seed));
    status.test_accuracy = t.accuracy;
    return t;
  };
  let initialTest = carry?.initial_test_accuracy ?? null;
  if (!carry && testIdx.length > 0) {
    const t = await evalTest(checkpoint);
    initialTest = t.accuracy;
    await logMetrics(paths, input.run, [initialEvalRow(t)], control);
  }

  const firstRound = round;
  for (; round < e.n_rounds; round++) {
    if (await control.checkpoint()) break;
    // between rounds, never before the first one of this run: the buffer and counts travel along
    if (round > firstRound && workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof expertIteration>(raw, {
        round,
        checkpoint,
        paths,
        buffer_refs: bufferRefs,
        buffer_size: bufferSize,
        success_counts: counts,
        initial_test_accuracy: initialTest,
        last_test_accuracy: status.test_accuracy,
        totals,
        control: control.snapshot(),
        sft_steps: sftSteps,
      });
    }
    status.round = round;
    status.step = round;
    // the position in the train order continues an earlier phase's (start_round); so do the seeds
    const position = input.start_round + round;
    const seed = trainBatchSeed(input.run.seed, position);
    // 1. student attempts under the clean prompt
    status.phase = 'student';
    const planned = planBatch(sizes.train, position, Math.min(e.problems_per_round, sizes.train), input.run.seed);
    // no gold answer, nothing to verify (`contains` would even reward every completion): never sampled
    const truth = patched('expert-skip-no-ground-truth')
      ? await ts.groundTruthPartition({ task: input.task, split: 'train', indices: planned })
      : { with_truth: planned, without_truth: [] };
    const indices_P = truth.with_truth;
    totals.skipped_no_ground_truth += truth.without_truth.length;
    if (truth.without_truth.length > 0) log.info('problems without a ground truth skipped', { round, indices: truth.without_truth });
    if (indices_P.length === 0) {
      totals.skipped_rounds++;
      await logMetrics(paths, input.run, [
        {
          key: `round-${round}`,
          step: round + 1,
          'progress/batch': round,
          'progress/done_frac': (round + 1) / e.n_rounds,
          'expert/problems': 0,
          'expert/skipped_no_ground_truth': truth.without_truth.length,
          'expert/buffer_size': bufferSize,
          'expert/distill_examples': 0,
          'expert/skipped': 'no problem with a ground truth',
          checkpoint,
        },
      ], control);
      continue;
    }
    const student = await runPolicy({ ...on, checkpoint }, 'train', indices_P, input.system_prompt, { numSamples: e.attempts_per_problem, seed });
    status.accuracy = mean(student.correct_PG.flat().map((c) => (c ? 1 : 0)));
    const failed = failedProblems(indices_P, student.correct_PG);
    const studentFound = await ts.verifiedSuccesses({ traces_refs: student.traces_refs });
    const studentPicks = keepSuccesses(counts, studentFound, e.max_successes_per_problem);
    let overCap = studentFound.length - studentPicks.length;

    // 2. teacher hints for failed problems, leak-checked; 3. expert search under s + hint
    const roundHints = { hints: 0, leaked: 0, dropped: 0, no_truth: 0, errors: 0 };
    let expertPicks: typeof studentPicks = [];
    let expertRefs: BlobRef[] = [];
    if (e.use_hints && failed.length > 0) {
      status.phase = 'teacher';
      const attempts = await ts.firstAttempts({ traces_refs: student.traces_refs, indices: failed });
      const outcomes: HintOutcome[] = await Promise.all(
        failed.map(async (index, k) => {
          for (let attempt = 0; ; attempt++) {
            const reply = await ts.teacherHint({ teacher: input.teacher, task: input.task, index, attempt: attempts[k], previous_leaks: attempt, seed: seed + 7 * index + attempt });
            const { outcome, leaked } = judgeHint(reply, attempt, e.max_hint_regenerations);
            if (leaked) roundHints.leaked++;
            if (outcome) return outcome;
          }
        }),
      );
      const hinted = failed.filter((_, k) => outcomes[k].kind === 'hint');
      const hints = outcomes.flatMap((o) => (o.kind === 'hint' ? [o.hint] : []));
      for (const o of outcomes) {
        if (o.kind === 'hint') roundHints.hints++;
        else if (o.kind === 'dropped') roundHints.dropped++;
        else if (o.kind === 'no_ground_truth') roundHints.no_truth++;
        else {
          roundHints.errors++;
          log.warn('teacher call failed; problem skipped this round', { round, message: o.message });
        }
      }
      if (hinted.length > 0) {
        status.phase = 'expert_search';
        const expert = await runPolicy({ ...on, checkpoint }, 'train', hinted, input.system_prompt, { numSamples: e.expert_samples, seed: hintedAttemptSeed(seed), hints });
        expertRefs = expert.traces_refs;
        const expertFound = await ts.verifiedSuccesses({ traces_refs: expertRefs });
        expertPicks = keepSuccesses(counts, expertFound, e.max_successes_per_problem);
        overCap += expertFound.length - expertPicks.length;
      }
    }
    totals.hints += roundHints.hints;
    totals.hints_leaked += roundHints.leaked;
    totals.hints_dropped += roundHints.dropped;
    totals.no_ground_truth += roundHints.no_truth;
    totals.teacher_errors += roundHints.errors;

    // 4. distil (x -> y*) under the clean prompt; the messages are rebuilt, so no hint reaches training
    const picked = await ts.sftFromTraces({
      task: input.task,
      split: 'train',
      system_prompt: input.system_prompt,
      // per source: (index, sample_index) of an expert sample also names a failed student attempt
      sources: [
        { traces_refs: student.traces_refs, picks: studentPicks },
        { traces_refs: expertRefs, picks: expertPicks },
      ],
      blob_dir: paths.blob_dir,
    });
    if (picked.n > 0) {
      bufferRefs.push(picked.ref);
      bufferSize += picked.n;
    }
    status.buffer_size = bufferSize;
    // 5. the M-step: fine-tune on the verified examples for sft_epochs (the same loop as sftTraining),
    // on this round's successes from the current weights, or on the whole buffer from the base
    let distill: SftLoopResult | null = null;
    let skipped: string | null = null;
    const refs = e.restart_from_base ? bufferRefs : picked.n > 0 ? [picked.ref] : [];
    const data = refs.length > 0 ? await ts.sftBatchesOf({ refs, batch_size: e.sft_batch_size, shuffle_seed: seed, blob_dir: paths.blob_dir }) : { batches: [], n: 0 };
    if (data.n === 0) {
      skipped = 'empty distillation buffer';
      totals.skipped_rounds++;
      log.info('no verified successes this round: distillation skipped', { round });
    } else {
      status.phase = 'distill';
      distill = await trainSft({
        trainer,
        run_id: runId + (input.phase ? `/${input.phase}` : ''),
        model: modelRef(input.policy),
        checkpoint_in: e.restart_from_base ? baseCheckpoint : checkpoint,
        checkpoint_root: paths.checkpoint_root,
        batches: data.batches,
        epochs: e.sft_epochs,
        first_step: sftSteps,
        learning_rate: e.sft_learning_rate,
        optim: input.optim,
      });
      sftSteps += distill.steps;
      checkpoint = distill.checkpoint;
    }
    const epochLoss = (k: number) => (distill && distill.losses_E[k]?.length ? mean(distill.losses_E[k]) : null);
    const optim = distill?.last ?? null;
    status.checkpoint = checkpoint;
    const test = testIdx.length > 0 ? await evalTest(checkpoint) : null;
    await logMetrics(paths, input.run, [
      {
        key: `round-${round}`,
        step: round + 1,
        'progress/batch': round,
        'progress/done_frac': (round + 1) / e.n_rounds,
        'env/all/correct': status.accuracy,
        'env/all/reward/total': mean(student.rewards_PG.flat()),
        'expert/problems': indices_P.length,
        'expert/skipped_no_ground_truth': truth.without_truth.length,
        'expert/failed_problems': failed.length,
        'expert/student_successes': studentPicks.length,
        'expert/hints': roundHints.hints,
        'expert/hints_leaked': roundHints.leaked,
        'expert/hints_dropped': roundHints.dropped,
        'expert/no_ground_truth': roundHints.no_truth,
        'expert/teacher_errors': roundHints.errors,
        'expert/expert_successes': expertPicks.length,
        'expert/successes_over_cap': overCap,
        'expert/buffer_size': bufferSize,
        'expert/distill_examples': data.n,
        'expert/distill_steps': distill?.steps ?? 0,
        // the examples' cross-entropy in the first and the last pass: the M-step fits them
        'expert/distill_loss_first_epoch': epochLoss(0),
        'expert/distill_loss_last_epoch': epochLoss(e.sft_epochs - 1),
        'expert/skipped': skipped,
        ...(optim ? { 'optim/loss': optim.loss, 'optim/entropy': optim.entropy, 'optim/grad_norm': optim.grad_norm, 'optim/tokens': optim.tokens } : {}),
        ...(test ? { 'test/env/all/correct': test.accuracy, 'test/env/all/reward/total': test.reward } : {}),
        checkpoint,
      },
    ], control);
    await ts.appendRows({ run_dir: paths.run_dir, file: 'samples.jsonl', rows: await ts.sampleRows({ traces_ref: student.traces_refs[0], phase: input.phase ?? 'expert', step: round, max_rows: 2 }) });
  }
  status.phase = 'done';
  const result: ExpertResult = {
    run_id: runId,
    run_dir: paths.run_dir,
    rounds_done: round,
    final_checkpoint: checkpoint,
    initial_test_accuracy: initialTest,
    final_test_accuracy: status.test_accuracy,
    buffer_size: bufferSize,
    totals,
    stopped: control.stopRequested,
  };
  await ts.finishRun({ run_dir: paths.run_dir, status: control.stopRequested ? 'stopped' : 'completed', summary: { ...result } });
  await condition(allHandlersFinished);
  return result;
}
