/**
 * The handlers of the messages every long workflow answers (DESIGN §6): pause / resume / stop
 * signals, the set_prompt update and the `metrics` query. The definitions are in messages.ts, which
 * the CLI imports too; each workflow answers its own `status` through `setStatusHandler`.
 */
import { condition, setHandler, type QueryDefinition } from '@temporalio/workflow';
import type { WorkflowType } from '../constants';
import { metricsQuery, pauseSignal, resumeSignal, setPromptUpdate, statusQueries, stopSignal, type MetricsSummary, type StatusOf } from './messages';

/**
 * This run's `status` handler. Module state is the run's own: the SDK gives every workflow run its
 * own instances of the workflow modules (its module cache is per run, reused V8 context or not).
 */
let statusHandler: (() => unknown) | null = null;

/** Answer the `status` query of workflow type `type` with `handler`, which the error boundary also reads (boundary.ts). */
export function setStatusHandler<W extends WorkflowType>(type: W, handler: () => StatusOf<W>): void {
  const def: QueryDefinition<StatusOf<W>> = statusQueries[type];
  setHandler(def, handler);
  statusHandler = handler;
}

/** The run's status now, as its `status` query would answer (undefined before the workflow sets its handler). */
export function currentStatus(): unknown {
  return statusHandler?.();
}

export function emptyMetricsSummary(): MetricsSummary {
  return { rows: 0, last_key: null, latest: {} };
}

/** Fold logged rows into the summary (scalar values only; the row's own `key` becomes last_key). */
export function foldMetrics(summary: MetricsSummary, rows: ReadonlyArray<{ key: string } & Record<string, unknown>>): void {
  for (const row of rows) {
    summary.rows += 1;
    summary.last_key = row.key;
    for (const [k, v] of Object.entries(row)) {
      if (k === 'key') continue;
      if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') summary.latest[k] = v;
    }
  }
}

/** What a workflow carries across continue-as-new so that pause, stop and the metrics summary survive it. */
export interface ControlState {
  paused: boolean;
  stop_requested: boolean;
  metrics: MetricsSummary;
}

export interface Control {
  paused: boolean;
  stopRequested: boolean;
  /** answered by the `metrics` query; logMetrics folds every row it writes into it */
  metrics: MetricsSummary;
  snapshot(): ControlState;
  /** Waits while paused; returns true if a stop was requested. Call between steps. */
  checkpoint(): Promise<boolean>;
}

/**
 * `initial` restores the control state carried across continue-as-new; it is applied before the
 * handlers are set, so a signal buffered for the new run is not overwritten.
 */
export function installControl(
  opts: { onSetPrompt?: (p: string) => string; initial?: ControlState } = {},
): Control {
  const c: Control = {
    paused: opts.initial?.paused ?? false,
    stopRequested: opts.initial?.stop_requested ?? false,
    metrics: opts.initial?.metrics ?? emptyMetricsSummary(),
    snapshot: () => ({ paused: c.paused, stop_requested: c.stopRequested, metrics: c.metrics }),
    async checkpoint() {
      await condition(() => !c.paused || c.stopRequested);
      return c.stopRequested;
    },
  };
  setHandler(pauseSignal, () => void (c.paused = true));
  setHandler(resumeSignal, () => void (c.paused = false));
  setHandler(stopSignal, () => void (c.stopRequested = true));
  setHandler(metricsQuery, () => c.metrics);
  const onSetPrompt = opts.onSetPrompt;
  if (onSetPrompt) {
    setHandler(setPromptUpdate, (p: string) => ({ previous: onSetPrompt(p) }), {
      validator: (p: string) => {
        if (typeof p !== 'string' || p.trim().length === 0) {
          throw new Error(`set_prompt needs a non-empty string (got ${JSON.stringify(p)})`);
        }
      },
    });
  }
  return c;
}

/** Between two waves of sampling: record the progress, show and wait out a pause, say whether to stop. */
export function betweenWaves(control: Control, status: { step: number; phase: string }): (done: number) => Promise<boolean> {
  return async (done) => {
    status.step = done;
    if (control.paused) status.phase = 'paused';
    const stop = await control.checkpoint();
    status.phase = 'sampling';
    return stop;
  };
}
