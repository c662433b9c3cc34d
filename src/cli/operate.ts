/**
 * Operating commands on a run, each with its usage line (printed by `<command> --help` and
 * `help <command>` without contacting a server). Messages go by their definitions (workflows/messages.ts).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/workflow';
import { TASK_QUEUE } from '../constants';
import { setPromptRefusal, takesSetPrompt } from '../core/setPrompt';
import { pauseSignal, resumeSignal, setPromptUpdate, statusQuery, stopSignal } from '../workflows/messages';
import { UsageError } from './args';
import { describeRunState, readRunStates } from './runs';
import { client } from './session';
import { troubleLines, workflowTaskTrouble } from './stuck';
import { watch } from './watch';

export interface Operation {
  /** `status <workflow-id>   what it does`, shown after `gepa-rl ` */
  usage: string;
  run(args: string[]): Promise<void>;
}

const signalCommand = (signal: SignalDefinition<[], string>, usage: string): Operation => ({
  usage,
  async run(args) {
    const h = await handleFor(needId(args, signal.name));
    await h.signal(signal);
    console.log(`sent ${signal.name} to ${h.workflowId}`);
  },
});

export const OPERATIONS: Record<string, Operation> = {
  status: {
    usage: "status <workflow-id>              print the run's status query as JSON",
    async run(args) {
      const h = await handleFor(needId(args, 'status'));
      const trouble = await workflowTaskTrouble(h);
      if (trouble) {
        // its status query would get no answer: no worker can run the workflow's code
        console.error(troubleLines(h.workflowId, trouble));
        process.exitCode = 1;
        return;
      }
      console.log(JSON.stringify(await h.query(statusQuery), null, 2));
    },
  },
  watch: {
    usage: 'watch <workflow-id> [--json]      live progress until the run ends (Ctrl-C detaches)',
    run: async (args) => watch(await handleFor(needId(args, 'watch')), args.includes('--json')),
  },
  pause: signalCommand(pauseSignal, 'pause <workflow-id>               pause at the next step boundary'),
  resume: signalCommand(resumeSignal, 'resume <workflow-id>              resume a paused run'),
  stop: signalCommand(stopSignal, 'stop <workflow-id>                finish the current step cleanly and return results'),
  'set-prompt': {
    usage: 'set-prompt <workflow-id> <text | @file>   replace the prompt the run trains or evaluates under',
    async run(args) {
      const h = await handleFor(needId(args, 'set-prompt'));
      const r = await setPrompt(h, readPromptArg(args));
      console.log(`prompt replaced; previous: ${JSON.stringify(r.previous)}`);
    },
  },
  list: {
    usage: "list [--runs DIR]                 recent runs on the task queue, each with what its run.json in DIR (runs) says",
    run: async (args) => {
      const runsAt = args.indexOf('--runs');
      await listRuns(runsAt >= 0 && args[runsAt + 1] ? args[runsAt + 1] : 'runs');
    },
  },
  report: {
    usage: 'report <workflow-id | run-dir>    write runs/<id>/report.html',
    async run(args) {
      const dir = reportDir(needId(args, 'report'));
      const { writeReport } = await import('../report');
      console.log(`report written: ${await writeReport(dir)}`);
    },
  },
  replay: {
    usage: 'replay <workflow-id | history.json>   replay a history against the current code',
    async run(args) {
      const { replayTarget } = await import('./replay');
      const r = await replayTarget(needId(args, 'replay'), client);
      console.log(r.message);
      if (!r.ok) process.exitCode = 1;
    },
  },
  grade: {
    usage: 'grade < lines.jsonl               score {"task"|"grader", "gold", "completion"} lines, one JSON answer per line',
    async run() {
      const { runGrade } = await import('./grade');
      const r = await runGrade(process.stdin, process.stdout);
      if (r.errors > 0) console.error(`${r.errors} of ${r.lines} lines could not be graded (see their "error" fields)`);
    },
  },
};

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
  if (!takesSetPrompt(desc.type)) throw new UsageError(setPromptRefusal(h.workflowId, desc.type));
  try {
    return await h.executeUpdate(setPromptUpdate, { args: [text] });
  } catch (e) {
    let inner: Error | undefined = e as Error;
    while (inner?.cause instanceof Error) inner = inner.cause;
    const why = inner?.message ?? (e as Error).message;
    if (/No registered handler for update/.test(why)) {
      throw new UsageError(setPromptRefusal(h.workflowId, desc.type));
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

/**
 * The workflows Temporal knows, each with what its run.json says; then run directories whose
 * workflow this server does not know (another server, or a dev server restarted in memory).
 */
async function listRuns(runsDir: string): Promise<void> {
  const byWorkflow = new Map(readRunStates(runsDir).map((s) => [s.workflow_id, s]));
  const c = await client();
  for await (const w of c.workflow.list({ query: `TaskQueue = '${TASK_QUEUE}'` })) {
    const s = byWorkflow.get(w.workflowId);
    byWorkflow.delete(w.workflowId);
    console.log(`${w.workflowId.padEnd(36)} ${w.type.padEnd(20)} ${w.status.name.padEnd(12)} ${w.startTime.toISOString()}${s ? `  run.json ${describeRunState(s)}` : ''}`);
  }
  for (const s of byWorkflow.values()) console.log(`${s.workflow_id.padEnd(36)} ${s.workflow_type.padEnd(20)} ${'-'.padEnd(12)} ${'(not on this server)'.padEnd(24)}  run.json ${describeRunState(s)}`);
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
