/**
 * Replay a workflow history against the current workflow code (DESIGN §6). Accepts a workflow id
 * (fetched from the server) or a history JSON file (`temporal workflow show --output json` or
 * historyToJSON). Reports a determinism error precisely, or a history of an unknown workflow type.
 */
import { readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { WORKFLOW_TYPES } from '../constants';

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
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../workflows') }, history, workflowId);
    return { ok: true, workflowType: type, message: `replay of ${type} (${history.events.length} events) succeeded: the current code is deterministic for this history` };
  } catch (e) {
    const err = e as Error;
    const kind = err.name === 'DeterminismViolationError' || /nondetermin/i.test(err.message) ? 'determinism error' : 'replay failed';
    return { ok: false, workflowType: type, message: `${kind} replaying ${type}: ${err.message}` };
  }
}

export async function replayTarget(target: string): Promise<ReplayOutcome> {
  if (target.endsWith('.json')) {
    let history: unknown;
    try {
      history = JSON.parse(readFileSync(target, 'utf8'));
    } catch (e) {
      return { ok: false, workflowType: null, message: `cannot read history ${target}: ${(e as Error).message}` };
    }
    return replayHistory(history, target);
  }
  const { connectClient } = await import('../client');
  const c = await connectClient();
  const history = await c.workflow.getHandle(target).fetchHistory();
  return replayHistory(history, target);
}
