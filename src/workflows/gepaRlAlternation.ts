/**
 * gepaRlAlternation (DESIGN §5, block coordinate ascent): rounds of [GEPA on the prompt s with the
 * weights θ fixed] then [RL on θ with s fixed], each phase a child workflow writing its own folder
 * (round0_rl/, round1_gepa/ ...). RL always trains under the latest accepted prompt; every change
 * of s (by GEPA or by a set_prompt update) is logged and recorded with old/new excerpts in
 * prompt_changes.jsonl. Phases continue their streams: each RL phase trains the batches after the
 * previous RL phase's, each expert phase the rounds after the previous one's, placed past every
 * position the RL phases plan (so it never re-attempts their problems with their seeds), and each
 * GEPA phase runs on a seed of its own round. The phase order and the adoption rule are core/alternation.ts.
 */
import { allHandlersFinished, condition, executeChild, getExternalWorkflowHandle, log, workflowInfo } from '@temporalio/workflow';
import type { AlternationInput } from '../config';
import { gepaOptimization } from './gepaOptimization';
import { rlTraining } from './rlTraining';
import { expertIteration } from './expertIteration';
import { adoptsGepaPrompt, alternationPhases, expertPhaseStartRound, gepaPhaseSeed, type PhasePlan } from '../core/alternation';
import type { RunPaths } from '../activities/run';
import { logMetrics, parseInput, runIdOf, tsActivities } from './common';
import { installControl, setStatusHandler, type Control } from './control';
import { progress, setPromptUpdate, stopSignal } from './messages';

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

/** What the phases change: the prompt s, the checkpoint θ, the phase running, and how far RL and expert phases got. */
interface AlternationState {
  prompt: string;
  /**
   * the prompt as last written to prompt_changes.jsonl: a set_prompt that lands outside a phase
   * (even before the run directory exists) is recorded when the next phase starts
   */
  recorded_prompt: string;
  checkpoint: string | null;
  current: { id: string; kind: string; round: number } | null;
  phases: PhaseRecord[];
  /** how far the RL and expert phases have got through their train orders */
  rl_batches_done: number;
  expert_rounds_done: number;
  initial_test: number | null;
  last_test: number | null;
}

interface Alternation {
  input: AlternationInput;
  run_id: string;
  paths: RunPaths;
  control: Control;
  s: AlternationState;
}

export async function gepaRlAlternation(raw: unknown): Promise<AlternationResult> {
  const input = parseInput<AlternationInput>('gepaRlAlternation', raw);
  const plan = alternationPhases(input.alternation);
  const s: AlternationState = { prompt: input.gepa.seed_prompt, recorded_prompt: input.gepa.seed_prompt, checkpoint: input.policy.checkpoint, current: null, phases: [], rl_batches_done: 0, expert_rounds_done: 0, initial_test: null, last_test: null };
  const control = installControl({
    onSetPrompt: (p) => {
      const prev = s.prompt;
      s.prompt = p;
      return prev;
    },
  });
  installStatus(s, control, plan.length);
  // stop: forward to the running phase so it finishes its current step, then end after it
  void condition(() => control.stopRequested).then(async () => {
    if (s.current) await getExternalWorkflowHandle(s.current.id).signal(stopSignal).catch(() => undefined);
  });
  const runId = runIdOf(input.run);
  const paths = await tsActivities.prepareRun({ run_id: runId, output_dir: input.run.output_dir, workflow_type: 'gepaRlAlternation', workflow_id: workflowInfo().workflowId, config: input });
  const alt: Alternation = { input, run_id: runId, paths, control, s };
  for (const phase of plan) {
    if (await alt.control.checkpoint()) break;
    await runPhase(alt, phase);
  }
  return finishAlternation(alt);
}

function installStatus(s: AlternationState, control: Control, total: number): void {
  setStatusHandler('gepaRlAlternation', () => ({
    phase: s.current ? `round ${s.current.round} ${s.current.kind}` : 'between phases',
    progress: progress(s.phases.length, total, 'phases'),
    round: s.current?.round ?? null,
    step: s.phases.length,
    total,
    prompt_excerpt: excerpt(s.prompt),
    checkpoint: s.checkpoint,
    test_accuracy: s.last_test,
    paused: control.paused,
    child_workflow_id: s.current?.id ?? null,
  }));
}

async function recordPromptChange(alt: Alternation, key: string, phase: PhasePlan, source: string, before: string, after: string): Promise<void> {
  log.info('system prompt changed', { phase: phase.folder, source, old: excerpt(before), new: excerpt(after) });
  await tsActivities.appendRows({
    run_dir: alt.paths.run_dir,
    file: 'prompt_changes.jsonl',
    rows: [{ key, phase: phase.folder, round: phase.round, source, old_excerpt: excerpt(before), new_excerpt: excerpt(after), old: before, new: after }],
  });
  alt.s.recorded_prompt = after;
}

/** One phase as a child workflow; then its metrics row, and the prompt change it made (GEPA) or that arrived during it (set_prompt). */
async function runPhase(alt: Alternation, phase: PhasePlan): Promise<void> {
  const childId = `${alt.run_id}-${phase.folder}`;
  alt.s.current = { id: childId, kind: phase.kind, round: phase.round };
  if (alt.s.prompt !== alt.s.recorded_prompt) await recordPromptChange(alt, `${phase.folder}-before`, phase, setPromptUpdate.name, alt.s.recorded_prompt, alt.s.prompt);
  const before = alt.s.prompt;
  const { score, adopted } = phase.kind === 'gepa' ? await gepaPhase(alt, phase, childId) : { score: await trainingPhase(alt, phase, childId), adopted: false };
  alt.s.phases.push({ round: phase.round, kind: phase.kind, folder: phase.folder, workflow_id: childId, prompt_before: before, prompt_after: alt.s.prompt, checkpoint_after: alt.s.checkpoint, score });
  const changed = alt.s.prompt !== before;
  await logMetrics(alt.paths, alt.input.run, [
    { key: phase.folder, step: alt.s.phases.length, phase: phase.folder, 'alternation/round': phase.round, 'alternation/prompt_changed': changed ? 1 : 0, 'alternation/score': score },
  ], alt.control);
  if (changed) await recordPromptChange(alt, phase.folder, phase, adopted ? 'gepa' : setPromptUpdate.name, before, alt.s.prompt);
  alt.s.current = null;
}

/** GEPA on s with θ fixed, on its own random stream; its prompt is adopted by the rule of core/alternation.ts. */
async function gepaPhase(alt: Alternation, phase: PhasePlan, childId: string): Promise<{ score: number | null; adopted: boolean }> {
  const { input } = alt;
  const r = await executeChild(gepaOptimization, {
    workflowId: childId,
    args: [
      {
        // its own random stream: minibatches, parent choices and sampling differ from other rounds'
        run: { ...input.run, run_id: alt.run_id, seed: gepaPhaseSeed(input.run.seed, phase.round) },
        task: input.task,
        policy: { ...input.policy, checkpoint: alt.s.checkpoint },
        reflection: input.reflection,
        gepa: { ...input.gepa, seed_prompt: alt.s.prompt, max_iterations: input.alternation.gepa_iterations },
        // GEPA reads n_eval only to score the test split (gepa.eval_test); it is refused otherwise
        ...(input.gepa.eval_test ? { n_eval: input.n_eval } : {}),
        phase: phase.folder,
      },
    ],
  });
  const adopted = adoptsGepaPrompt(alt.s.prompt, r);
  if (adopted) alt.s.prompt = r.best_prompt;
  return { score: r.best_val_score, adopted };
}

/** RL or expert iteration on θ with s fixed, continuing the train order where the previous phase of its kind stopped; returns its test score. */
async function trainingPhase(alt: Alternation, phase: PhasePlan, childId: string): Promise<number | null> {
  const { input } = alt;
  const common = { run: { ...input.run, run_id: alt.run_id }, task: input.task, policy: { ...input.policy, checkpoint: alt.s.checkpoint } };
  if (phase.kind === 'expert') {
    const r = await executeChild(expertIteration, {
      workflowId: childId,
      args: [
        {
          ...common,
          teacher: input.teacher,
          expert: { ...input.expert, n_rounds: input.alternation.expert_rounds_per_round },
          optim: input.optim,
          n_eval: input.n_eval,
          system_prompt: alt.s.prompt,
          phase: phase.folder,
          // its own positions in the train order: past the RL phases' (core/alternation.ts)
          start_round: expertPhaseStartRound(input.alternation, input.rl.groups_per_batch, input.expert.problems_per_round, alt.s.expert_rounds_done),
        },
      ],
    });
    alt.s.expert_rounds_done += r.rounds_done;
    alt.s.checkpoint = r.final_checkpoint ?? alt.s.checkpoint;
    alt.s.last_test = r.final_test_accuracy ?? alt.s.last_test;
    return r.final_test_accuracy;
  }
  const r = await executeChild(rlTraining, {
    workflowId: childId,
    args: [{ ...common, rl: { ...input.rl, n_batches: input.alternation.rl_batches_per_round }, optim: input.optim, n_eval: input.n_eval, system_prompt: alt.s.prompt, phase: phase.folder, start_batch: alt.s.rl_batches_done }],
  });
  alt.s.rl_batches_done += r.batches_done;
  alt.s.checkpoint = r.final_checkpoint ?? alt.s.checkpoint;
  if (alt.s.initial_test === null) alt.s.initial_test = r.initial_test_accuracy;
  alt.s.last_test = r.final_test_accuracy;
  return r.final_test_accuracy;
}

async function finishAlternation(alt: Alternation): Promise<AlternationResult> {
  const stopped = alt.control.stopRequested;
  const result: AlternationResult = {
    run_id: alt.run_id,
    run_dir: alt.paths.run_dir,
    final_prompt: alt.s.prompt,
    final_checkpoint: alt.s.checkpoint,
    final_test_accuracy: alt.s.last_test,
    initial_test_accuracy: alt.s.initial_test,
    phases: alt.s.phases,
    stopped,
  };
  const summary = { final_test_accuracy: alt.s.last_test, initial_test_accuracy: alt.s.initial_test, final_prompt: excerpt(alt.s.prompt), phases: alt.s.phases.length };
  await tsActivities.finishRun({ run_dir: alt.paths.run_dir, status: stopped ? 'stopped' : 'completed', summary });
  await condition(allHandlersFinished);
  return result;
}
