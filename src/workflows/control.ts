/**
 * Messages every long workflow answers (DESIGN §6): pause / resume / stop signals, a set_prompt
 * update, and the `status` query. Defined once here so the CLI and all workflows share them.
 */
import { condition, defineQuery, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Finish the current step cleanly, then return results. */
export const stopSignal = defineSignal('stop');
/** Replace the system prompt used from the next step on; returns the previous prompt. */
export const setPromptUpdate = defineUpdate<{ previous: string }, [string]>('set_prompt');
export const statusQuery = defineQuery<Record<string, unknown>>('status');

export interface Control {
  paused: boolean;
  stopRequested: boolean;
  /** Waits while paused; returns true if a stop was requested. Call between steps. */
  checkpoint(): Promise<boolean>;
}

/**
 * `initial` restores the control state carried across continue-as-new; it is applied before the
 * handlers are set, so a signal buffered for the new run is not overwritten.
 */
export function installControl(opts: { onSetPrompt?: (p: string) => string; initial?: { paused?: boolean; stopRequested?: boolean } } = {}): Control {
  const c: Control = {
    paused: opts.initial?.paused ?? false,
    stopRequested: opts.initial?.stopRequested ?? false,
    async checkpoint() {
      await condition(() => !c.paused || c.stopRequested);
      return c.stopRequested;
    },
  };
  setHandler(pauseSignal, () => void (c.paused = true));
  setHandler(resumeSignal, () => void (c.paused = false));
  setHandler(stopSignal, () => void (c.stopRequested = true));
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
