/**
 * Starting an experiment: `gepa-rl <rl|gepa|gepa-rl|...> [key=value ...] [--config f] [--detach] [--id i]`.
 * The whole config is checked before the server is contacted, then the workflow starts and is watched.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseWorkflowInput, type GepaConfig, type TaskConfig } from '../config';
import { checkInitialBudget, gepaValSize, valSubsetLine } from '../core/gepa/budget';
import { loadSplitsCached } from '../tasks';
import { TASK_QUEUE, type WorkflowType } from '../constants';
import { webUiUrl } from '../connection';
import { COMMANDS, OverrideError, parseOverrides, splitFlags, unknownConfigKeys, UsageError } from './args';
import { client } from './session';
import { watch } from './watch';

/** A --config file's object; a missing file or malformed JSON is a one-line error naming the file. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`--config ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a JSON file' : (e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--config ${file}: not valid JSON (${(e as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`--config ${file}: expected a JSON object of config sections, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

export interface ExperimentStart {
  workflowType: WorkflowType;
  workflowId: string;
  /** the validated input as given (defaults are filled by the workflow from the same schema) */
  input: Record<string, unknown>;
  runDir: string;
  detach: boolean;
  json: boolean;
  /** one line per key given in a seed's spelling, naming its canonical key */
  notes: string[];
}

/**
 * Everything before contacting the server: --config, key=value overrides and the full schema
 * check, so a bad config is reported before any workflow exists.
 */
export function prepareExperiment(command: string, argv: string[]): ExperimentStart {
  const { flags, rest } = splitFlags(argv);
  const workflowType = COMMANDS[command as keyof typeof COMMANDS];
  let base: Record<string, unknown> = {};
  if (typeof flags.config === 'string') {
    base = readConfigFile(flags.config);
    const unknown = unknownConfigKeys(command, base);
    if (unknown.length) throw new OverrideError(`--config ${flags.config}: ${unknown.join('; ')} ('gepa-rl help ${command}' lists every key)`);
  }
  const workflowId = typeof flags.id === 'string' ? flags.id : `${command}-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}`;
  const notes: string[] = [];
  const input = parseOverrides(command, rest, base, notes) as Record<string, unknown>;
  const run = { ...((input.run as object) ?? {}) } as Record<string, unknown>;
  if (!run.run_id) run.run_id = workflowId;
  input.run = run;
  const parsed = parseWorkflowInput<{ run: { output_dir: string; run_id: string } }>(workflowType, input);
  return {
    workflowType,
    workflowId,
    input,
    runDir: path.join(parsed.run.output_dir, parsed.run.run_id),
    detach: Boolean(flags.detach),
    json: Boolean(flags.json),
    notes,
  };
}

/**
 * What a GEPA run (or an alternation's GEPA phases) will score candidates on, as the workflow sizes
 * it (core/gepa gepaValSize on the task's val split): "val: 33 of 100 rows, budget 150;
 * gepa.val_size=all scores all". Null for other workflows, or when this process cannot load the
 * task (a task registered only in the worker; a dataset the worker will report).
 */
export async function gepaValNote(workflowType: WorkflowType, input: unknown): Promise<string | null> {
  if (workflowType !== 'gepaOptimization' && workflowType !== 'gepaRlAlternation') return null;
  const c = input as { task: TaskConfig; gepa: GepaConfig; alternation?: { gepa_iterations: number } };
  let available: number;
  let train: number;
  try {
    const splits = await loadSplitsCached(c.task);
    available = splits.val.length;
    train = splits.train.length;
  } catch {
    return null;
  }
  const g = c.gepa;
  const max_iterations = workflowType === 'gepaRlAlternation' ? c.alternation?.gepa_iterations : g.max_iterations;
  const val_size = gepaValSize({ available, max_metric_calls: g.max_metric_calls, minibatch: g.minibatch_size, requested: g.val_size, max_iterations, rollouts_per_problem: g.rollouts_per_problem });
  // the check the workflow makes at its start, made here so no workflow is started to fail
  try {
    checkInitialBudget(g.max_metric_calls, val_size, Math.min(g.minibatch_size, Math.max(1, train)), g.rollouts_per_problem);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const line = valSubsetLine({ val_size, available, max_metric_calls: g.max_metric_calls, minibatch: g.minibatch_size, rollouts_per_problem: g.rollouts_per_problem });
  return workflowType === 'gepaRlAlternation' ? `each GEPA phase's ${line}` : line;
}

/** Start the workflow, print where to follow it, then watch it unless --detach. */
export async function startExperiment(command: string, argv: string[]): Promise<void> {
  const { workflowType, workflowId, input, runDir, detach, json, notes } = prepareExperiment(command, argv);
  for (const n of notes) console.error(n);
  const valNote = await gepaValNote(workflowType, parseWorkflowInput(workflowType, input));
  if (valNote) console.log(valNote);
  const c = await client();
  const handle = await c.workflow.start(workflowType, { taskQueue: TASK_QUEUE, workflowId, args: [input] }).catch((e: Error) => {
    if (e.name === 'WorkflowExecutionAlreadyStartedError') throw new UsageError(`a workflow with id ${workflowId} is already running or recorded; choose another --id (or watch it: gepa-rl watch ${workflowId})`);
    throw e;
  });
  console.log(`started ${workflowType} as ${workflowId}; run directory ${runDir}`);
  console.log(`Temporal Web UI: ${webUiUrl(workflowId)}`);
  if (detach) {
    console.log(`detached. Watch: gepa-rl watch ${workflowId}   Stop: gepa-rl stop ${workflowId}`);
    return;
  }
  await watch(handle, json);
}
