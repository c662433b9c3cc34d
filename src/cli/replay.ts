/**
 * Replay a workflow history against the current workflow code (DESIGN §6). Accepts a workflow id
 * (fetched from the server) or a history JSON file (`temporal workflow show --output json` or
 * historyToJSON). Reports a determinism error precisely, or a history of an unknown workflow type.
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { WORKFLOW_TYPES } from '../constants';
import { WORKFLOW_BUNDLE } from '../workflowBundle';

export interface ReplayOutcome {
  ok: boolean;
  workflowType: string | null;
  message: string;
}

function workflowTypeOf(history: { events?: Array<Record<string, any>> }): string | null {
  const first = history.events?.[0];
  const attrs = first?.workflowExecutionStartedEventAttributes;
  return attrs?.workflowType?.name ?? null;
}

export async function replayHistory(history: any, workflowId = 'replay'): Promise<ReplayOutcome> {
  const type = workflowTypeOf(history);
  if (!type) return { ok: false, workflowType: null, message: 'not a workflow history: its first event is not WorkflowExecutionStarted' };
  if (!(WORKFLOW_TYPES as readonly string[]).includes(type)) {
    return { ok: false, workflowType: type, message: `history is of workflow type ${type}, which this project does not define (known: ${WORKFLOW_TYPES.join(', ')})` };
  }
  try {
    await Worker.runReplayHistory(WORKFLOW_BUNDLE, history, workflowId);
    return { ok: true, workflowType: type, message: `replay of ${type} (${history.events.length} events) succeeded: the current code is deterministic for this history` };
  } catch (e) {
    const err = e as Error;
    const kind = err.name === 'DeterminismViolationError' || /nondetermin/i.test(err.message) ? 'determinism error' : 'replay failed';
    return { ok: false, workflowType: type, message: `${kind} replaying ${type}: ${err.message}` };
  }
}

/** `target`: a history JSON file, or a workflow id whose history is fetched with `getClient`'s client. */
export async function replayTarget(target: string, getClient?: () => Promise<Client>): Promise<ReplayOutcome> {
  if (target.endsWith('.json')) {
    let history: unknown;
    try {
      history = JSON.parse(readFileSync(target, 'utf8'));
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return { ok: false, workflowType: null, message: `cannot read history ${target}: ${err.code === 'ENOENT' ? 'no such file' : err.message}` };
    }
    return replayHistory(history, target);
  }
  const c = getClient ? await getClient() : await (await import('../client')).connectClient();
  let history;
  try {
    history = await c.workflow.getHandle(target).fetchHistory();
  } catch (e) {
    if ((e as Error).name === 'WorkflowNotFoundError' || /not found/i.test((e as Error).message)) {
      return { ok: false, workflowType: null, message: `no workflow with id ${JSON.stringify(target)} on the server (see 'gepa-rl list'); to replay a file, give a path ending in .json` };
    }
    throw e;
  } finally {
    if (!getClient) await c.connection.close();
  }
  return replayHistory(history, target);
}
