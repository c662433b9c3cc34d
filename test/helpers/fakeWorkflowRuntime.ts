/**
 * The workflow runtime, in-process and recorded, for tests that run a workflow function many times
 * cheaply (test/config/everyKey.test.ts): `jest.mock('@temporalio/workflow', () =>
 * require('../helpers/fakeWorkflowRuntime').runtime)` replaces proxyActivities, executeChild,
 * condition, continueAsNew and workflowInfo; every activity call is recorded (name, arguments and
 * the proxy's options: task queue, timeouts) and then run by `harness.activity` (the real TS
 * activities, a fake trainer). Child workflows run inline, continue-as-new starts the function
 * again with its new arguments, as Temporal would. Not a replay check: determinism is
 * test/replay's.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
const actual = jest.requireActual('@temporalio/workflow');

export interface RecordedCall {
  kind: 'activity' | 'child' | 'continueAsNew';
  name: string;
  args: unknown;
  options?: unknown;
}

export class ContinueAsNewSignal extends Error {
  constructor(readonly args: unknown[]) {
    super('continueAsNew');
  }
}

export const harness = {
  calls: [] as RecordedCall[],
  activity: async (_name: string, _args: unknown[], _options: Record<string, unknown>): Promise<unknown> => {
    throw new Error('harness.activity is not set');
  },
  workflows: {} as Record<string, (...a: any[]) => Promise<unknown>>,
  info: { workflowId: 'wf', runId: 'run-1', workflowType: 'wf', taskQueue: 'gepa-rl', namespace: 'default', attempt: 1, historyLength: 1, continueAsNewSuggested: false, firstExecutionRunId: 'run-1', startTime: new Date(0), runStartTime: new Date(0) } as Record<string, unknown>,
};

/** A recorded value: JSON, so that later mutation by the workflow does not change the record. */
const snapshot = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** Run a workflow function as Temporal would, following continue-as-new; returns its result. */
export async function runWorkflow(type: string, args: unknown[], workflowId = 'wf'): Promise<unknown> {
  const fn = harness.workflows[type];
  if (!fn) throw new Error(`no workflow function ${type}`);
  const prev = harness.info;
  harness.info = { ...prev, workflowId, workflowType: type };
  try {
    let a = args;
    for (let i = 0; ; i++) {
      try {
        let timer: NodeJS.Timeout | undefined;
        const stuck = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${type} waits on a condition nothing in this harness makes true (60 s)`)), 60_000);
        });
        try {
          return await Promise.race([fn(...a), stuck]);
        } finally {
          clearTimeout(timer);
        }
      } catch (e) {
        if (!(e instanceof ContinueAsNewSignal) || i > 50) throw e;
        a = e.args;
      }
    }
  } finally {
    harness.info = prev;
  }
}

export const runtime = {
  ...actual,
  proxyActivities: (options: Record<string, unknown>) =>
    new Proxy(
      {},
      {
        get: (_t, name: string) =>
          async (...args: unknown[]) => {
            harness.calls.push({ kind: 'activity', name, args: snapshot(args), options: snapshot(options) });
            try {
              return await harness.activity(name, args, options);
            } catch (e) {
              // as a worker reports it: the activity's error is the cause of an ActivityFailure
              throw new actual.ActivityFailure((e as Error).message, name, 'activity-1', 1, 'harness', e);
            }
          },
      },
    ),
  executeChild: async (workflow: string | ((...a: any[]) => Promise<unknown>), opts: { workflowId: string; args: unknown[] }) => {
    // by its function, as the workflows call it (the SDK's type is the function's name), or by name
    const type = typeof workflow === 'string' ? workflow : workflow.name;
    harness.calls.push({ kind: 'child', name: type, args: snapshot(opts.args) });
    return runWorkflow(type, opts.args, opts.workflowId);
  },
  condition: async (fn: () => boolean, timeout?: unknown) => {
    if (fn()) return true;
    if (timeout !== undefined) return false;
    // nothing here signals a workflow: a wait nothing ends stays open, as on a server (runWorkflow times a run out)
    return new Promise<boolean>(() => undefined);
  },
  allHandlersFinished: () => true,
  setHandler: () => undefined,
  workflowInfo: () => harness.info,
  log: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, trace: () => undefined },
  continueAsNew: async (...args: unknown[]) => {
    harness.calls.push({ kind: 'continueAsNew', name: String(harness.info.workflowType), args: snapshot(args) });
    throw new ContinueAsNewSignal(args);
  },
  makeContinueAsNewFunc: () => async (...args: unknown[]) => {
    harness.calls.push({ kind: 'continueAsNew', name: String(harness.info.workflowType), args: snapshot(args) });
    throw new ContinueAsNewSignal(args);
  },
  getExternalWorkflowHandle: () => ({ signal: async () => undefined, cancel: async () => undefined }),
  sleep: async () => undefined,
  patched: () => true,
  deprecatePatch: () => undefined,
  uuid4: () => '00000000-0000-4000-8000-000000000000',
};
