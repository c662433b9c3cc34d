#!/usr/bin/env node
/**
 * The gepa-rl command. Experiments take key=value overrides on the typed config (the seeds' style):
 *   gepa-rl rl env=gsm8k n_batches=20 learning_rate=5e-4
 *   gepa-rl gepa-rl env=arithmetic n_rounds=2 skip_first_gepa=true --detach
 * Operating commands: status, watch, pause, resume, stop, set-prompt, list, report, replay, grade.
 * Every action is also possible with the Temporal CLI (see README).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { TASK_QUEUE } from '../constants';
import { COMMANDS, helpText, parseOverrides } from './args';
import { completedProgress, etaSeconds, formatProgress, stepOf, type ProgressSample } from './progress';

class UsageError extends Error {}

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
  gepa-rl list                   recent runs
  gepa-rl report <id | run-dir>  write runs/<id>/report.html
  gepa-rl replay <id | history.json>  replay a history against the current code
  gepa-rl grade < lines.jsonl    score {"task"|"grader", "gold", "completion"} lines
`;

async function client(): Promise<Client> {
  const { connectClient } = await import('../client');
  return connectClient();
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

/** Poll the status query and redraw one progress line until the workflow ends. Ctrl-C detaches. */
async function watch(handle: WorkflowHandle, json = false): Promise<void> {
  let first: ProgressSample | null = null;
  let detached = false;
  const onSigint = () => {
    detached = true;
  };
  process.once('SIGINT', onSigint);
  const tty = process.stdout.isTTY;
  let lastLine = '';
  let lastStatus: Record<string, unknown> | null = null;
  try {
    for (;;) {
      if (detached) {
        process.stdout.write(`\ndetached; the run goes on. Reattach: gepa-rl watch ${handle.workflowId}\n`);
        return;
      }
      const desc = await handle.describe();
      if (desc.status.name !== 'RUNNING') {
        if (desc.status.name === 'COMPLETED' && lastStatus) {
          // the last poll saw the final step still running; show the finished bar
          const done = completedProgress(lastStatus);
          if (tty) process.stdout.write(`\r\x1b[2K${done}`);
          else console.log(done);
        }
        if (tty) process.stdout.write('\n');
        if (desc.status.name === 'COMPLETED') {
          const result = await handle.result();
          console.log(json ? JSON.stringify(result) : summarizeResult(result));
        } else {
          console.log(`workflow ${handle.workflowId} ended: ${desc.status.name}`);
          await handle.result().catch((e: Error) => {
            // the innermost cause says what went wrong (a child workflow's or an activity's error)
            let c: Error | undefined = e;
            while (c?.cause instanceof Error) c = c.cause;
            console.error(c?.message ?? e.message);
          });
          process.exitCode = 1;
        }
        return;
      }
      try {
        let status = (await handle.query('status')) as Record<string, unknown>;
        // a composed run shows the progress of the phase that is running (its child workflow)
        if (typeof status.child_workflow_id === 'string') {
          const child = (await handle.client
            .getHandle(status.child_workflow_id)
            .query('status')
            .catch(() => null)) as Record<string, unknown> | null;
          if (child) status = { ...child, phase: `${status.phase}: ${child.phase}`, test_accuracy: child.test_accuracy ?? status.test_accuracy };
        }
        const now: ProgressSample = { at_ms: Date.now(), ...stepOf(status) };
        if (!first || now.step < first.step) first = now;
        lastStatus = status;
        const line = formatProgress(status, etaSeconds(first, now, stepOf(status).total));
        // on a terminal the line is redrawn in place; in a log, a new line when the progress changes
        const key = line.replace(/ETA \S+/, '');
        if (tty) process.stdout.write(`\r\x1b[2K${line}`);
        else if (key !== lastLine) console.log(line);
        lastLine = key;
      } catch {
        /* no worker has picked the workflow up yet */
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

function summarizeResult(result: unknown): string {
  const r = (result ?? {}) as Record<string, unknown>;
  const keep = Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v !== 'object' || v === null));
  const lines = Object.entries(keep).map(([k, v]) => `  ${k}: ${typeof v === 'number' ? +v.toFixed(4) : v}`);
  return `result:\n${lines.join('\n')}`;
}

async function startExperiment(command: string, argv: string[]): Promise<void> {
  const { flags, rest } = splitFlags(argv);
  if (flags.help) {
    console.log(helpText(command));
    return;
  }
  const base = typeof flags.config === 'string' ? JSON.parse(readFileSync(flags.config, 'utf8')) : {};
  const workflowType = COMMANDS[command as keyof typeof COMMANDS];
  const workflowId = typeof flags.id === 'string' ? flags.id : `${command}-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}`;
  const input = parseOverrides(command, rest, base) as Record<string, unknown>;
  const run = { ...((input.run as object) ?? {}) } as Record<string, unknown>;
  if (!run.run_id) run.run_id = workflowId;
  input.run = run;
  const c = await client();
  const handle = await c.workflow.start(workflowType, { taskQueue: TASK_QUEUE, workflowId, args: [input] });
  const runDir = path.join(String(run.output_dir ?? 'runs'), String(run.run_id));
  console.log(`started ${workflowType} as ${workflowId}; run directory ${runDir}`);
  console.log(`Temporal Web UI: ${process.env.GEPA_RL_UI_URL ?? 'http://localhost:8233'}/namespaces/default/workflows/${workflowId}`);
  if (flags.detach) {
    console.log(`detached. Watch: gepa-rl watch ${workflowId}   Stop: gepa-rl stop ${workflowId}`);
    return;
  }
  await watch(handle, Boolean(flags.json));
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

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...args] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    console.log(args[0] && args[0] in COMMANDS ? helpText(args[0]) : OPERATING_HELP);
    return;
  }
  if (cmd in COMMANDS) return startExperiment(cmd, args);
  switch (cmd) {
    case 'status': {
      const h = await handleFor(needId(args, cmd));
      console.log(JSON.stringify(await h.query('status'), null, 2));
      return;
    }
    case 'watch':
      return watch(await handleFor(needId(args, cmd)));
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
      const text = args[1]?.startsWith('@') ? readFileSync(args[1].slice(1), 'utf8') : args.slice(1).join(' ');
      const r = await h.executeUpdate('set_prompt', { args: [text] });
      console.log(`prompt replaced; previous: ${JSON.stringify(r)}`);
      return;
    }
    case 'list': {
      const c = await client();
      for await (const w of c.workflow.list({ query: `TaskQueue = '${TASK_QUEUE}'` })) {
        console.log(`${w.workflowId.padEnd(36)} ${w.type.padEnd(20)} ${w.status.name.padEnd(12)} ${w.startTime.toISOString()}`);
      }
      return;
    }
    case 'report': {
      const target = needId(args, cmd);
      const { writeReport } = await import('../report');
      const dir = target.includes('/') ? target : path.join('runs', target);
      console.log(`report written: ${await writeReport(dir)}`);
      return;
    }
    case 'replay': {
      const { replayTarget } = await import('./replay');
      const r = await replayTarget(needId(args, cmd));
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
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}. Commands: ${[...Object.keys(COMMANDS), 'status', 'watch', 'pause', 'resume', 'stop', 'set-prompt', 'list', 'report', 'replay', 'grade'].join(', ')}`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    const known = e instanceof UsageError || e.name === 'ServerDownError' || e.name === 'ConfigError' || e.name === 'OverrideError';
    console.error(`gepa-rl: ${known ? e.message : (e.stack ?? e.message)}`);
    process.exit(2);
  });
}
