/** `gepa-rl watch` (and an attached experiment): one progress line, redrawn from the status query until the run ends. */
import type { WorkflowHandle } from '@temporalio/client';
import { statusQuery } from '../workflows/messages';
import { troubleLines, workflowTaskTrouble } from './stuck';
import { completedProgress, etaSeconds, formatProgress, stepOf, type DrawnStatus, type ProgressSample } from './progress';

const DETACHED = Symbol('detached');
type Detached = typeof DETACHED;

/** Ctrl-C ends whatever the watch is waiting on (a query to a busy server, the poll interval). */
function ctrlC() {
  let onSigint = () => {};
  const interrupted = new Promise<Detached>((resolve) => (onSigint = () => resolve(DETACHED)));
  process.once('SIGINT', onSigint);
  const race = <T>(p: Promise<T>): Promise<T | Detached> => Promise.race([p, interrupted]);
  return {
    race,
    async sleep(ms: number): Promise<void | Detached> {
      let timer: NodeJS.Timeout | undefined;
      const slept = await race(new Promise<void>((r) => (timer = setTimeout(r, ms))));
      if (slept === DETACHED) clearTimeout(timer);
      return slept;
    },
    dispose: () => void process.removeListener('SIGINT', onSigint),
  };
}

/** The progress line: redrawn in place on a terminal; in a log, a new line when the progress changes. */
class ProgressLine {
  private readonly tty = process.stdout.isTTY;
  private first: ProgressSample | null = null;
  private lastKey = '';
  private last: DrawnStatus | null = null;

  draw(status: DrawnStatus): void {
    const now: ProgressSample = { at_ms: Date.now(), ...stepOf(status) };
    if (!this.first || now.step < this.first.step) this.first = now;
    this.last = status;
    const line = formatProgress(status, etaSeconds(this.first, now, stepOf(status).total));
    const key = line.replace(/ETA \S+/, '');
    if (this.tty) process.stdout.write(`\r\x1b[2K${line}`);
    else if (key !== this.lastKey) console.log(line);
    this.lastKey = key;
  }

  /** The run has ended; a completed one shows its finished bar (the last poll saw the final step still running). */
  end(completed: boolean): void {
    if (completed && this.last) {
      const done = completedProgress(this.last);
      if (this.tty) process.stdout.write(`\r\x1b[2K${done}`);
      else console.log(done);
    }
    if (this.tty) process.stdout.write('\n');
  }
}

/** Poll the status query and redraw one progress line until the workflow ends. Ctrl-C detaches. */
export async function watch(handle: WorkflowHandle, json = false): Promise<void> {
  const interrupt = ctrlC();
  const line = new ProgressLine();
  let told: string | undefined; // the failing workflow task's error, once said
  try {
    for (;;) {
      const desc = await interrupt.race(handle.describe());
      if (desc === DETACHED) break;
      if (desc.status.name !== 'RUNNING') {
        line.end(desc.status.name === 'COMPLETED');
        if ((await showOutcome(handle, desc.status.name, json, interrupt.race)) === DETACHED) break;
        return;
      }
      const trouble = await interrupt.race(workflowTaskTrouble(handle, desc));
      if (trouble === DETACHED) break;
      if (trouble && trouble.message !== told) {
        told = trouble.message;
        console.error(`\n${troubleLines(handle.workflowId, trouble)}`);
      }
      if (trouble) {
        if ((await interrupt.sleep(5000)) === DETACHED) break;
        continue;
      }
      const polled = await interrupt.race(queryProgress(handle).catch(() => null)); // null: no worker has picked it up yet
      if (polled === DETACHED) break;
      if (polled) line.draw(polled);
      if ((await interrupt.sleep(1000)) === DETACHED) break;
    }
    process.stdout.write(`\ndetached; the run goes on. Reattach: gepa-rl watch ${handle.workflowId}\n`);
  } finally {
    interrupt.dispose();
  }
}

/** A completed run's result, or how it ended and why (the exit code says it did not complete). */
async function showOutcome(handle: WorkflowHandle, statusName: string, json: boolean, race: <T>(p: Promise<T>) => Promise<T | Detached>): Promise<void | Detached> {
  if (statusName === 'COMPLETED') {
    const result = await race(handle.result());
    if (result === DETACHED) return DETACHED;
    console.log(json ? JSON.stringify(result) : summarizeResult(result));
    return;
  }
  console.log(`workflow ${handle.workflowId} ended: ${statusName}`);
  await race(
    handle.result().catch((e: Error) => {
      // the innermost cause says what went wrong (a child workflow's or an activity's error)
      let c: Error | undefined = e;
      while (c?.cause instanceof Error) c = c.cause;
      console.error(c?.message ?? e.message);
    }),
  );
  process.exitCode = 1;
}

/** The status to show: a composed run shows the progress of the phase that is running (its child workflow). */
async function queryProgress(handle: WorkflowHandle): Promise<DrawnStatus> {
  const status = await handle.query(statusQuery);
  if (!('child_workflow_id' in status) || typeof status.child_workflow_id !== 'string') return status;
  const child = await handle.client
    .getHandle(status.child_workflow_id)
    .query(statusQuery)
    .catch(() => null);
  if (!child) return status;
  const childTest = 'test_accuracy' in child ? child.test_accuracy : undefined;
  return { ...child, phase: `${status.phase}: ${child.phase}`, test_accuracy: childTest ?? status.test_accuracy };
}

function summarizeResult(result: unknown): string {
  const r = (result ?? {}) as Record<string, unknown>;
  const keep = Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v !== 'object' || v === null));
  const lines = Object.entries(keep).map(([k, v]) => `  ${k}: ${typeof v === 'number' ? +v.toFixed(4) : v}`);
  return `result:\n${lines.join('\n')}`;
}
