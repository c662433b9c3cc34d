/**
 * The one error boundary of every workflow (DESIGN §6b), registered as a workflow interceptor by every
 * worker (src/worker.ts WORKFLOW_INTERCEPTOR_MODULES), so no workflow needs a try of its own.
 *
 * - An error that is not a Temporal failure (a plain `Error` from core/, an invariant, a typo) would
 *   fail the workflow *task*, which Temporal retries forever: the run hangs. Here it becomes a
 *   non-retryable `UnexpectedError` failure that names the workflow, the step and the cause.
 * - Whatever ends the run other than a normal return (a failure of any kind, a cancellation),
 *   run.json is marked `failed` with the reason or `cancelled` before the error propagates, so the
 *   report and `gepa-rl list` tell the truth. Completed and stopped runs are marked by the workflows.
 * - Continue-as-new and the SDK's own determinism errors pass untouched (a determinism error must stay
 *   a task failure, so that fixed code can pick the run up again).
 *
 * The step is read from the workflow's own `status` query (phase, round, batch, step, iteration) and the
 * last activity or child it started.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  isCancellation,
  log,
  proxyActivities,
  TemporalFailure,
  WorkflowError,
  workflowInfo,
  type Next,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import type * as runActivities from '../activities/run';
import { FAILURE } from '../failures';
import { currentStatus } from './control';

/** Short and few retries: marking run.json must not hold up the failure it reports. */
const runDir = proxyActivities<Pick<typeof runActivities, 'finishRun'>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '5s', maximumAttempts: 3 },
});

const STEP_KEYS = ['round', 'batch', 'step', 'iteration'] as const;

class Boundary {
  private runDir: string | null = null;
  private last: string | null = null;

  /** A carry (continue-as-new) holds the run's paths; a fresh run learns them from prepareRun. */
  noteArgs(args: unknown[]): void {
    for (const a of args) {
      const dir = (a as { paths?: { run_dir?: unknown } } | null | undefined)?.paths?.run_dir;
      if (typeof dir === 'string') this.runDir = dir;
    }
  }

  noteRunDir(result: unknown): void {
    const dir = (result as { run_dir?: unknown } | null | undefined)?.run_dir;
    if (typeof dir === 'string') this.runDir = dir;
  }

  noteCall(what: string): void {
    this.last = what;
  }

  /** The workflow's own `status` answer at this moment (control.ts setStatusHandler; {} when it has none yet). */
  status(): Record<string, unknown> {
    try {
      const s = currentStatus();
      return s && typeof s === 'object' ? (s as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }

  /** `phase sampling, batch 3 (last call: activity policy_sample)`, from the status query and the last call. */
  step(status: Record<string, unknown>): string {
    const parts: string[] = [];
    if (typeof status.phase === 'string') parts.push(`phase ${status.phase}`);
    for (const k of STEP_KEYS) if (typeof status[k] === 'number') parts.push(`${k} ${status[k]}`);
    const where = parts.length ? parts.join(', ') : 'before the first step';
    return this.last ? `${where} (last call: ${this.last})` : where;
  }

  async onEnd(e: unknown): Promise<never> {
    if (e instanceof ContinueAsNew || e instanceof WorkflowError) throw e;
    const type = workflowInfo().workflowType;
    const status = this.status();
    const step = this.step(status);
    const cancelled = isCancellation(e);
    const failure =
      e instanceof TemporalFailure || cancelled
        ? e
        : ApplicationFailure.create({
            type: FAILURE.UnexpectedError,
            nonRetryable: true,
            message: `${type} failed at ${step}: ${describe(e)}`,
            cause: e instanceof Error ? e : undefined,
          });
    if (this.runDir) {
      const summary = { ...scalars(status), step, ...(cancelled ? {} : { error: reasonOf(failure) }) };
      try {
        await CancellationScope.nonCancellable(() => runDir.finishRun({ run_dir: this.runDir!, status: cancelled ? 'cancelled' : 'failed', summary }));
      } catch (writeError) {
        log.warn('could not mark run.json', { run_dir: this.runDir, error: String(writeError) });
      }
    }
    throw failure; // the run's own failure, whatever happened to the run.json update
  }
}

/** The status fields worth keeping in run.json: scalars, long texts cut (a prompt is in prompts.jsonl). */
function scalars(status: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(status)) {
    if (typeof v === 'string') out[k] = v.length > 200 ? `${v.slice(0, 200)}…` : v;
    else if (v === null || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** The innermost cause as `Type: message`, e.g. `NonFiniteLoss: step 3: loss=nan ... is not finite`. */
export function reasonOf(e: unknown): string {
  let f: unknown = e;
  while (f instanceof TemporalFailure && f.cause && !(f instanceof ApplicationFailure && f.type === FAILURE.UnexpectedError)) f = f.cause;
  return f instanceof ApplicationFailure && f.type ? `${f.type}: ${f.message}` : f instanceof Error ? f.message : String(f);
}

export const interceptors = (): WorkflowInterceptors => {
  const b = new Boundary();
  const inbound: WorkflowInboundCallsInterceptor = {
    async execute(input, next: Next<WorkflowInboundCallsInterceptor, 'execute'>) {
      b.noteArgs(input.args as unknown[]);
      try {
        return await next(input);
      } catch (e) {
        return b.onEnd(e);
      }
    },
  };
  const outbound: WorkflowOutboundCallsInterceptor = {
    async scheduleActivity(input, next) {
      b.noteCall(`activity ${input.activityType}`);
      const result = await next(input);
      if (input.activityType === 'prepareRun') b.noteRunDir(result);
      return result;
    },
    async startChildWorkflowExecution(input, next) {
      b.noteCall(`child ${input.workflowType} ${input.options.workflowId ?? ''}`.trim());
      return next(input);
    },
  };
  return { inbound: [inbound], outbound: [outbound] };
};
