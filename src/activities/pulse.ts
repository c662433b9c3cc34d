/**
 * Every TS activity heartbeats while it runs: an activity interceptor (registered by every worker
 * through WORKER_OPTIONS, src/workflowBundle.ts) pulses every PULSE_MS, so an attempt of a dead TS
 * worker misses its heartbeat timeout (seconds, src/workflows/common.ts) and is retried at once,
 * instead of after the 10-minute start-to-close timeout. The long ones wait on a provider
 * (reflection, teacher, API sampling, tau2 episodes): the event loop is free then, so the pulse goes on.
 *
 * A pulse repeats the details of the activity's own last heartbeat (on a retry, those the previous
 * attempt left until this one sends its own): Temporal keeps only the latest heartbeat's details, so
 * an empty pulse after a tau2 episode's step checkpoint would erase it and a retry would start the
 * episode again, paying every call twice.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptors } from '@temporalio/worker';

/** Pulse interval; the heartbeat timeout of TS activities is several of these. */
export const PULSE_MS = Number(process.env.GEPA_RL_TS_HEARTBEAT_PULSE_MS ?? 2000);

export function pulseInterceptor(ctx: Context): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        const send = ctx.heartbeat;
        let last: unknown = ctx.info.heartbeatDetails;
        // activityInfo()/heartbeat() inside the activity reach this same context object
        (ctx as { heartbeat: (details?: unknown) => void }).heartbeat = (details?: unknown) => {
          last = details;
          send(details);
        };
        send(last);
        const timer = setInterval(() => send(last), PULSE_MS);
        try {
          return await next(input);
        } finally {
          clearInterval(timer);
        }
      },
    },
  };
}
