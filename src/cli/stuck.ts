/**
 * A run whose workflow task keeps failing does not move, yet its status stays RUNNING and its
 * status query gets no answer: a worker on code that no longer replays the run's history (a
 * nondeterminism error after an upgrade), a workflow type no worker has, a bug that throws in
 * workflow code. Temporal retries such a task for ever (rolling the worker back lets the run go on,
 * so that is kept); `watch` and `status` say so, with the worker's error, instead of waiting in silence.
 */
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';

/** temporal.api.enums.v1.WorkflowTaskFailedCause: the value of a replay that differs from the history */
const NON_DETERMINISTIC_ERROR = 24;

/** Attempts from which a workflow task counts as failing (the first retry can be a worker restart). */
const FAILING_FROM_ATTEMPT = 2;

export interface WorkflowTaskTrouble {
  attempt: number;
  /** the failed workflow task's error, as the worker gave it */
  message: string;
  nondeterminism: boolean;
}

/** null while the run's workflow task is not failing again and again; else the attempt and the error. */
export async function workflowTaskTrouble(handle: WorkflowHandle, described?: WorkflowExecutionDescription): Promise<WorkflowTaskTrouble | null> {
  const desc = described ?? (await handle.describe());
  if (desc.status.name !== 'RUNNING') return null;
  const attempt = desc.raw.pendingWorkflowTask?.attempt ?? 0;
  if (attempt < FAILING_FROM_ATTEMPT) return null;
  const history = await handle.fetchHistory();
  // the last workflow task's outcome in the history (a failed task's retries are not written there):
  // only a failure counts, not a timeout (a worker killed or restarted mid-task, which the next attempt gets past)
  const last = [...(history.events ?? [])].reverse().find((e) => e.workflowTaskCompletedEventAttributes || e.workflowTaskFailedEventAttributes || e.workflowTaskTimedOutEventAttributes);
  const failed = last?.workflowTaskFailedEventAttributes;
  if (!failed) return null;
  const message = failed.failure?.message ?? '';
  return { attempt, message, nondeterminism: Number(failed.cause) === NON_DETERMINISTIC_ERROR || /nondetermini/i.test(message) };
}

/** The lines a user reads: what is wrong, the worker's words, what to do. */
export function troubleLines(workflowId: string, t: WorkflowTaskTrouble): string {
  const first = t.message.split('\n')[0]?.trim() || '(no message: see the TS worker log)';
  const todo = t.nondeterminism
    ? `the worker's code no longer replays this run's history (changed since the run started): \`gepa-rl replay ${workflowId}\` shows where; start a worker on the code the run started with to let it go on`
    : 'fix what the error says (a worker on other code, a workflow type no worker has, a bug) and restart the TS worker: the task is retried and the run goes on from where it was';
  return `workflow ${workflowId} is not moving: its workflow task failed ${t.attempt - 1} time(s) and is retried (attempt ${t.attempt}).\nworker error: ${first}\n${todo}`;
}
