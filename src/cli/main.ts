#!/usr/bin/env node
/**
 * The gepa-rl command. Experiments take key=value overrides on the typed config (the seeds' style):
 *   gepa-rl rl env=gsm8k n_batches=20 learning_rate=5e-4
 *   gepa-rl gepa-rl env=arithmetic n_rounds=2 skip_first_gepa=true --detach
 * Operating commands: status, watch, pause, resume, stop, set-prompt, list, report, replay, grade.
 * Every action is also possible with the Temporal CLI (see README).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { parseWorkflowInput } from '../config';
import { airlinePolicy } from '../tasks/tau2/data';
import { TASK_QUEUE, type WorkflowType } from '../constants';
import { webUiUrl } from '../connection';
import { COMMANDS, helpText, OverrideError, parseOverrides, unknownConfigKeys } from './args';
import { describeRunState, readRunStates } from './runs';
import { completedProgress, etaSeconds, formatProgress, stepOf, type ProgressSample } from './progress';

export class UsageError extends Error {
  override name = 'UsageError';
}

const OPERATING_HELP = `gepa-rl — durable GEPA + RL experiments on Temporal

Experiments (key=value overrides; 'gepa-rl help <command>' lists every key with its default):
${Object.entries(COMMANDS)
  .map(([c, w]) => `  gepa-rl ${c.padEnd(17)} starts workflow ${w}`)
  .join('\n')}
  options: --config file.json  --detach  --id <workflow-id>

Operating a run (the workflow id is printed at start):
  gepa-rl status <id>            current status (query 'status')
  gepa-rl watch <id>             live progress until it ends (Ctrl-C detaches)
  gepa-rl pause|resume|stop <id> signals 'pause' / 'resume' / 'stop' (stop finishes the current step)
  gepa-rl set-prompt <id> <text | @file>   update 'set_prompt'
  gepa-rl list [--runs DIR]      recent runs: Temporal's state and what each run.json says (DIR: runs)
  gepa-rl report <id | run-dir>  write runs/<id>/report.html
  gepa-rl replay <id | history.json>  replay a history against the current code
  gepa-rl grade < lines.jsonl    score {"task"|"grader", "gold", "completion"} lines, or tau2-airline
                                 trajectories {"task": "tau2-airline", "task_id", "messages", "termination"?}
`;

/** Usage of each operating command, printed by `<command> --help` without contacting a server. */
const OPERATING_USAGE: Record<string, string> = {
  status: 'status <workflow-id>              print the run\'s status query as JSON',
  watch: 'watch <workflow-id> [--json]      live progress until the run ends (Ctrl-C detaches)',
  pause: 'pause <workflow-id>               pause at the next step boundary',
  resume: 'resume <workflow-id>              resume a paused run',
  stop: 'stop <workflow-id>                finish the current step cleanly and return results',
  'set-prompt': 'set-prompt <workflow-id> <text | @file>   replace the prompt the run trains or evaluates under',
  list: 'list                              recent runs on the task queue',
  report: 'report <workflow-id | run-dir>    write runs/<id>/report.html',
  replay: 'replay <workflow-id | history.json>   replay a history against the current code',
  grade: 'grade < lines.jsonl               score {"task"|"grader", "gold", "completion"} lines, one JSON answer per line',
};

/** One connection per CLI invocation, closed when main() ends so the process can exit. */
let openClient: Promise<Client> | null = null;

async function client(): Promise<Client> {
  openClient ??= import('../client').then((m) => m.connectClient());
  return openClient;
}

async function closeClient(): Promise<void> {
  const c = openClient;
  openClient = null;
  if (c) await c.then((cl) => cl.connection.close()).catch(() => undefined);
}

function splitFlags(argv: string[]): { flags: Record<string, string | true>; rest: string[] } {
  const flags: Record<string, string | true> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--detach' || a === '--json' || a === '--help' || a === '-h') flags[a.replace(/^-+/, '')] = true;
    else if (a === '--config' || a === '--id' || a === '--out') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      flags[a.slice(2)] = v;
    } else rest.push(a);
  }
  return { flags, rest };
}

const DETACHED = Symbol('detached');

/** Poll the status query and redraw one progress line until the workflow ends. Ctrl-C detaches. */
async function watch(handle: WorkflowHandle, json = false): Promise<void> {
  let first: ProgressSample | null = null;
  // Ctrl-C ends whatever this loop is waiting on (a query to a busy server, the poll interval)
  let onSigint = () => {};
  const interrupted = new Promise<typeof DETACHED>((resolve) => (onSigint = () => resolve(DETACHED)));
  process.once('SIGINT', onSigint);
  const orDetach = <T>(p: Promise<T>): Promise<T | typeof DETACHED> => Promise.race([p, interrupted]);
  const tty = process.stdout.isTTY;
  let lastLine = '';
  let lastStatus: Record<string, unknown> | null = null;
  try {
    for (;;) {
      const desc = await orDetach(handle.describe());
      if (desc === DETACHED) break;
      if (desc.status.name !== 'RUNNING') {
        if (desc.status.name === 'COMPLETED' && lastStatus) {
          // the last poll saw the final step still running; show the finished bar
          const done = completedProgress(lastStatus);
          if (tty) process.stdout.write(`\r\x1b[2K${done}`);
          else console.log(done);
        }
        if (tty) process.stdout.write('\n');
        if (desc.status.name === 'COMPLETED') {
          const result = await orDetach(handle.result());
          if (result === DETACHED) break;
          console.log(json ? JSON.stringify(result) : summarizeResult(result));
        } else {
          console.log(`workflow ${handle.workflowId} ended: ${desc.status.name}`);
          await orDetach(
            handle.result().catch((e: Error) => {
              // the innermost cause says what went wrong (a child workflow's or an activity's error)
              let c: Error | undefined = e;
              while (c?.cause instanceof Error) c = c.cause;
              console.error(c?.message ?? e.message);
            }),
          );
          process.exitCode = 1;
        }
        return;
      }
      const polled = await orDetach(queryProgress(handle).catch(() => null)); // null: no worker has picked it up yet
      if (polled === DETACHED) break;
      if (polled) {
        const status = polled;
        const now: ProgressSample = { at_ms: Date.now(), ...stepOf(status) };
        if (!first || now.step < first.step) first = now;
        lastStatus = status;
        const line = formatProgress(status, etaSeconds(first, now, stepOf(status).total));
        // on a terminal the line is redrawn in place; in a log, a new line when the progress changes
        const key = line.replace(/ETA \S+/, '');
        if (tty) process.stdout.write(`\r\x1b[2K${line}`);
        else if (key !== lastLine) console.log(line);
        lastLine = key;
      }
      let timer: NodeJS.Timeout | undefined;
      const slept = await orDetach(new Promise<void>((r) => (timer = setTimeout(r, 1000))));
      if (slept === DETACHED) {
        clearTimeout(timer);
        break;
      }
    }
    process.stdout.write(`\ndetached; the run goes on. Reattach: gepa-rl watch ${handle.workflowId}\n`);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/** The status to show: a composed run shows the progress of the phase that is running (its child workflow). */
async function queryProgress(handle: WorkflowHandle): Promise<Record<string, unknown>> {
  const status = (await handle.query('status')) as Record<string, unknown>;
  if (typeof status.child_workflow_id !== 'string') return status;
  const child = (await handle.client
    .getHandle(status.child_workflow_id)
    .query('status')
    .catch(() => null)) as Record<string, unknown> | null;
  return child ? { ...child, phase: `${status.phase}: ${child.phase}`, test_accuracy: child.test_accuracy ?? status.test_accuracy } : status;
}

function summarizeResult(result: unknown): string {
  const r = (result ?? {}) as Record<string, unknown>;
  const keep = Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v !== 'object' || v === null));
  const lines = Object.entries(keep).map(([k, v]) => `  ${k}: ${typeof v === 'number' ? +v.toFixed(4) : v}`);
  return `result:\n${lines.join('\n')}`;
}

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
  const input = parseOverrides(command, rest, base) as Record<string, unknown>;
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

async function startExperiment(command: string, argv: string[]): Promise<void> {
  if (splitFlags(argv).flags.help) {
    console.log(helpText(command));
    return;
  }
  const { workflowType, workflowId, input, runDir, detach, json } = prepareExperiment(command, argv);
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

function needId(args: string[], cmd: string): string {
  if (!args[0]) throw new UsageError(`${cmd} needs a workflow id (see 'gepa-rl list')`);
  return args[0];
}

async function handleFor(id: string): Promise<WorkflowHandle> {
  const c = await client();
  const h = c.workflow.getHandle(id);
  try {
    await h.describe();
  } catch (e) {
    if ((e as Error).name === 'WorkflowNotFoundError') throw new UsageError(`no workflow with id ${JSON.stringify(id)} (see 'gepa-rl list')`);
    throw e;
  }
  return h;
}

/** set_prompt, with the workflow's refusal (no such update, a bad prompt, not running) as one line. */
async function setPrompt(h: WorkflowHandle, text: string): Promise<{ previous: string }> {
  const desc = await h.describe();
  if (desc.status.name !== 'RUNNING') throw new UsageError(`workflow ${h.workflowId} is ${desc.status.name}, not running; set-prompt changes a running workflow`);
  try {
    return (await h.executeUpdate('set_prompt', { args: [text] })) as { previous: string };
  } catch (e) {
    let inner: Error | undefined = e as Error;
    while (inner?.cause instanceof Error) inner = inner.cause;
    const why = inner?.message ?? (e as Error).message;
    if (/No registered handler for update/.test(why)) {
      throw new UsageError(`workflow ${h.workflowId} (${desc.type}) does not accept set_prompt: its prompt cannot be replaced while it runs (rlTraining and gepaRlAlternation accept it)`);
    }
    throw new UsageError(`set_prompt rejected by ${h.workflowId}: ${why}`);
  }
}

function readPromptArg(args: string[]): string {
  if (args[1]?.startsWith('@')) {
    const file = args[1].slice(1);
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`set-prompt ${args[1]}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  const text = args.slice(1).join(' ');
  if (!text.trim()) throw new UsageError('set-prompt needs the new prompt: gepa-rl set-prompt <id> <text | @file>');
  return text;
}

/** A report target: a run directory path, or a run id under runs/. */
function reportDir(target: string): string {
  const dir = target.includes('/') || target.includes(path.sep) ? target : path.join('runs', target);
  if (!existsSync(dir)) {
    throw new UsageError(`no run directory ${dir} (give a run id under runs/ or the path of a run directory; 'ls runs' lists them)`);
  }
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory; give a run directory (runs/<id>)`);
  if (!existsSync(path.join(dir, 'run.json')) && !existsSync(path.join(dir, 'config.json'))) {
    throw new UsageError(`${dir} is not a run directory: it has neither run.json nor config.json`);
  }
  return dir;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await command(argv);
  } finally {
    await closeClient();
  }
}

async function command(argv: string[]): Promise<void> {
  const [cmd, ...args] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    console.log(args[0] && args[0] in COMMANDS ? helpText(args[0]) : OPERATING_HELP);
    return;
  }
  if (cmd in COMMANDS) return startExperiment(cmd, args);
  if (cmd in OPERATING_USAGE && (args.includes('--help') || args.includes('-h'))) {
    console.log(`gepa-rl ${OPERATING_USAGE[cmd]}`);
    return;
  }
  switch (cmd) {
    case 'status': {
      const h = await handleFor(needId(args, cmd));
      console.log(JSON.stringify(await h.query('status'), null, 2));
      return;
    }
    case 'watch':
      return watch(await handleFor(needId(args, cmd)), args.includes('--json'));
    case 'pause':
    case 'resume':
    case 'stop': {
      const h = await handleFor(needId(args, cmd));
      await h.signal(cmd);
      console.log(`sent ${cmd} to ${h.workflowId}`);
      return;
    }
    case 'set-prompt': {
      const h = await handleFor(needId(args, cmd));
      const r = await setPrompt(h, readPromptArg(args));
      console.log(`prompt replaced; previous: ${JSON.stringify(r.previous)}`);
      return;
    }
    case 'list': {
      // the workflows Temporal knows, each with what its run.json says; then run directories whose
      // workflow this server does not know (another server, or a dev server restarted in memory)
      const runsAt = args.indexOf('--runs');
      const states = readRunStates(runsAt >= 0 && args[runsAt + 1] ? args[runsAt + 1] : 'runs');
      const byWorkflow = new Map(states.map((s) => [s.workflow_id, s]));
      const c = await client();
      for await (const w of c.workflow.list({ query: `TaskQueue = '${TASK_QUEUE}'` })) {
        const s = byWorkflow.get(w.workflowId);
        byWorkflow.delete(w.workflowId);
        console.log(`${w.workflowId.padEnd(36)} ${w.type.padEnd(20)} ${w.status.name.padEnd(12)} ${w.startTime.toISOString()}${s ? `  run.json ${describeRunState(s)}` : ''}`);
      }
      for (const s of byWorkflow.values()) console.log(`${s.workflow_id.padEnd(36)} ${s.workflow_type.padEnd(20)} ${'-'.padEnd(12)} ${'(not on this server)'.padEnd(24)}  run.json ${describeRunState(s)}`);
      return;
    }
    case 'report': {
      const dir = reportDir(needId(args, cmd));
      const { writeReport } = await import('../report');
      console.log(`report written: ${await writeReport(dir)}`);
      return;
    }
    case 'replay': {
      const { replayTarget } = await import('./replay');
      const r = await replayTarget(needId(args, cmd), client);
      console.log(r.message);
      if (!r.ok) process.exitCode = 1;
      return;
    }
    case 'grade': {
      const { runGrade } = await import('./grade');
      const r = await runGrade(process.stdin, process.stdout);
      if (r.errors > 0) console.error(`${r.errors} of ${r.lines} lines could not be graded (see their "error" fields)`);
      return;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}. Commands: ${[...Object.keys(COMMANDS), ...Object.keys(OPERATING_USAGE)].join(', ')}`);
  }
}

/** Errors a user can cause print as their message; anything else (a bug) with its stack. */
export function isUserError(e: Error): boolean {
  return ['UsageError', 'ServerDownError', 'ConfigError', 'OverrideError'].includes(e.name);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(`gepa-rl: ${isUserError(e) ? e.message : (e.stack ?? e.message)}`);
    process.exit(2);
  });
}
