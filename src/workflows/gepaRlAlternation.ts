/**
 * gepaRlAlternation (DESIGN §5, block coordinate ascent): rounds of [GEPA on the prompt s with the
 * weights θ fixed] then [RL on θ with s fixed], each phase a child workflow writing its own folder
 * (round0_rl/, round1_gepa/ ...). RL always trains under the latest accepted prompt; every change
 * of s (by GEPA or by a set_prompt update) is logged and recorded with old/new excerpts in
 * prompt_changes.jsonl. Phases continue their streams: each RL phase trains the batches after the
 * previous RL phase's, each expert phase the rounds after the previous one's, and each GEPA phase
 * runs on a seed of its own round (core/alternation.ts).
 */
import { allHandlersFinished, condition, executeChild, getExternalWorkflowHandle, log, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import type { AlternationInput } from '../config';
import type { GepaResult } from './gepaOptimization';
import type { RlResult } from './rlTraining';
import type { ExpertResult } from './expertIteration';
import { gepaPhaseSeed } from '../core/seeds';
import { logMetrics, parseInput, runIdOf, ts } from './common';
import { installControl } from './control';
import { progress, statusQueries, stopSignal } from './messages';

export interface PhaseRecord {
  round: number;
  kind: 'gepa' | 'rl' | 'expert';
  folder: string;
  workflow_id: string;
  prompt_before: string;
  prompt_after: string;
  checkpoint_after: string | null;
  score: number | null;
}

export interface AlternationResult {
  run_id: string;
  run_dir: string;
  final_prompt: string;
  final_checkpoint: string | null;
  final_test_accuracy: number | null;
  initial_test_accuracy: number | null;
  phases: PhaseRecord[];
  stopped: boolean;
}

const excerpt = (s: string) => (s.length > 160 ? `${s.slice(0, 160)}…` : s);

export async function gepaRlAlternation(raw: unknown): Promise<AlternationResult> {
  const input = parseInput<AlternationInput>('gepaRlAlternation', raw);
  const a = input.alternation;
  const runId = runIdOf(input.run);
  const wfId = workflowInfo().workflowId;
  let prompt = input.gepa.seed_prompt;
  // the prompt as last written to prompt_changes.jsonl: a set_prompt that lands outside a phase
  // (even before the run directory exists) is recorded when the next phase starts
  let recordedPrompt = prompt;
  let checkpoint = input.policy.checkpoint;
  let current: { id: string; kind: string; round: number } | null = null;
  const phases: PhaseRecord[] = [];
  // how far the RL and expert phases have got through their train orders
  let rlBatchesDone = 0;
  let expertRoundsDone = 0;
  let initialTest: number | null = null;
  let lastTest: number | null = null;
  const control = installControl({
    onSetPrompt: (p) => {
      const prev = prompt;
      prompt = p;
      return prev;
    },
  });
  // stop: forward to the running phase so it finishes its current step, then end after it
  const forwardStop = async () => {
    if (current) await getExternalWorkflowHandle(current.id).signal(stopSignal).catch(() => undefined);
  };
  const nPhases = a.n_rounds * (a.expert_rounds_per_round > 0 ? 3 : 2) - (a.skip_first_gepa ? 1 : 0);
  setHandler(statusQueries.gepaRlAlternation, () => ({
    phase: current ? `round ${current.round} ${current.kind}` : 'between phases',
    progress: progress(phases.length, nPhases, 'phases'),
    round: current?.round ?? null,
    step: phases.length,
    total: nPhases,
    prompt_excerpt: excerpt(prompt),
    checkpoint,
    test_accuracy: lastTest,
    paused: control.paused,
    child_workflow_id: current?.id ?? null,
  }));

  void condition(() => control.stopRequested).then(forwardStop);
  const paths = await ts.prepareRun({ run_id: runId, output_dir: input.run.output_dir, workflow_type: 'gepaRlAlternation', workflow_id: wfId, config: input });
  const recordPromptChange = async (key: string, phase: string, round: number, source: string, before: string, after: string) => {
    log.info('system prompt changed', { phase, source, old: excerpt(before), new: excerpt(after) });
    await ts.appendRows({
      run_dir: paths.run_dir,
      file: 'prompt_changes.jsonl',
      rows: [{ key, phase, round, source, old_excerpt: excerpt(before), new_excerpt: excerpt(after), old: before, new: after }],
    });
    recordedPrompt = after;
  };

  for (let round = 0; round < a.n_rounds; round++) {
    for (const kind of ['gepa', 'rl', 'expert'] as const) {
      if (kind === 'gepa' && round === 0 && a.skip_first_gepa) continue;
      if (kind === 'expert' && a.expert_rounds_per_round === 0) continue;
      if (await control.checkpoint()) break;
      const folder = `round${round}_${kind}`;
      const childId = `${runId}-${folder}`;
      current = { id: childId, kind, round };
      if (prompt !== recordedPrompt && patched('alternation-record-set-prompt')) {
        await recordPromptChange(`${folder}-before`, folder, round, 'set_prompt', recordedPrompt, prompt);
      }
      const before = prompt;
      let changedBy = 'set_prompt'; // unless GEPA adopts a prompt below
      if (kind === 'gepa') {
        const r = await executeChild<(raw: unknown) => Promise<GepaResult>>('gepaOptimization', {
          workflowId: childId,
          args: [
            {
              // its own random stream: minibatches, parent choices and sampling differ from other rounds'
              run: { ...input.run, run_id: runId, seed: gepaPhaseSeed(input.run.seed, round) },
              task: input.task,
              policy: { ...input.policy, checkpoint },
              reflection: input.reflection,
              gepa: { ...input.gepa, seed_prompt: prompt, max_iterations: a.gepa_iterations },
              n_eval: input.n_eval,
              phase: folder,
            },
          ],
        });
        if (r.best_prompt !== prompt && (r.best_val_score ?? -Infinity) > r.seed_val_score) {
          prompt = r.best_prompt;
          changedBy = 'gepa';
        }
        phases.push({ round, kind, folder, workflow_id: childId, prompt_before: before, prompt_after: prompt, checkpoint_after: checkpoint, score: r.best_val_score });
      } else if (kind === 'expert') {
        const r = await executeChild<(raw: unknown) => Promise<ExpertResult>>('expertIteration', {
          workflowId: childId,
          args: [
            {
              run: { ...input.run, run_id: runId },
              task: input.task,
              policy: { ...input.policy, checkpoint },
              teacher: input.teacher,
              expert: { ...input.expert, n_rounds: a.expert_rounds_per_round },
              optim: input.optim,
              n_eval: input.n_eval,
              system_prompt: prompt,
              phase: folder,
              // continue the train order where the previous expert phase stopped
              start_round: expertRoundsDone,
            },
          ],
        });
        expertRoundsDone += r.rounds_done;
        checkpoint = r.final_checkpoint ?? checkpoint;
        lastTest = r.final_test_accuracy ?? lastTest;
        phases.push({ round, kind, folder, workflow_id: childId, prompt_before: before, prompt_after: prompt, checkpoint_after: checkpoint, score: r.final_test_accuracy });
      } else {
        const r = await executeChild<(raw: unknown) => Promise<RlResult>>('rlTraining', {
          workflowId: childId,
          args: [
            {
              run: { ...input.run, run_id: runId },
              task: input.task,
              policy: { ...input.policy, checkpoint },
              rl: { ...input.rl, n_batches: a.rl_batches_per_round },
              optim: input.optim,
              n_eval: input.n_eval,
              system_prompt: prompt,
              phase: folder,
              // continue the batch order where the previous RL phase stopped
              start_batch: rlBatchesDone,
            },
          ],
        });
        rlBatchesDone += r.batches_done;
        checkpoint = r.final_checkpoint ?? checkpoint;
        if (initialTest === null) initialTest = r.initial_test_accuracy;
        lastTest = r.final_test_accuracy;
        phases.push({ round, kind, folder, workflow_id: childId, prompt_before: before, prompt_after: prompt, checkpoint_after: checkpoint, score: r.final_test_accuracy });
      }
      const changed = prompt !== before;
      await logMetrics(paths, input.run, [
        { key: folder, step: phases.length, phase: folder, 'alternation/round': round, 'alternation/prompt_changed': changed ? 1 : 0, 'alternation/score': phases[phases.length - 1].score },
      ], control);
      if (changed) await recordPromptChange(folder, folder, round, changedBy, before, prompt);
      current = null;
    }
    if (control.stopRequested) break;
  }

  const result: AlternationResult = {
    run_id: runId,
    run_dir: paths.run_dir,
    final_prompt: prompt,
    final_checkpoint: checkpoint,
    final_test_accuracy: lastTest,
    initial_test_accuracy: initialTest,
    phases,
    stopped: control.stopRequested,
  };
  await ts.finishRun({ run_dir: paths.run_dir, status: control.stopRequested ? 'stopped' : 'completed', summary: { final_test_accuracy: lastTest, initial_test_accuracy: initialTest, final_prompt: excerpt(prompt), phases: phases.length } });
  await condition(allHandlersFinished);
  return result;
}
