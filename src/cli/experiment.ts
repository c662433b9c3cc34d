/**
 * Starting an experiment: `gepa-rl <rl|gepa|gepa-rl|...> [key=value ...] [--config f] [--detach] [--id i]`.
 * The whole config is checked before the server is contacted, then the workflow starts and is watched.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseWorkflowInput } from '../config';
import { airlinePolicy } from '../tasks/tau2/data';
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
  seedEpisodicPolicy(workflowType, input);
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
 * GEPA on tau2-airline starts from the task's own policy (policy.md, exactly tau2's agent prompt)
 * unless a seed prompt or components are given: the generic default prompt would make the
 * reflector rewrite "You are a helpful assistant" instead of the policy.
 */
function seedEpisodicPolicy(workflowType: string, input: Record<string, unknown>): void {
  const task = (input.task ?? {}) as { env?: string };
  const gepa = { ...((input.gepa as object) ?? {}) } as Record<string, unknown>;
  if (workflowType !== 'gepaOptimization' || task.env !== 'tau2-airline' || gepa.seed_prompt !== undefined || gepa.components !== undefined) return;
  gepa.seed_prompt = airlinePolicy();
  input.gepa = gepa;
}

/** Start the workflow, print where to follow it, then watch it unless --detach. */
export async function startExperiment(command: string, argv: string[]): Promise<void> {
  const { workflowType, workflowId, input, runDir, detach, json, notes } = prepareExperiment(command, argv);
  for (const n of notes) console.error(n);
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
