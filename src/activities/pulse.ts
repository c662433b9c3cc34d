/**
 * Every TS activity heartbeats while it runs: an activity interceptor (registered by every worker
 * through WORKER_OPTIONS, src/workflowBundle.ts) pulses every PULSE_MS, so an attempt of a dead TS
 * worker misses its heartbeat timeout (seconds, src/workflows/common.ts) and is retried at once,
 * instead of after the 10-minute start-to-close timeout. The long ones wait on a provider
 * (reflection, teacher, API sampling): the event loop is free then, so the pulse goes on.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptors } from '@temporalio/worker';

/** Pulse interval; the heartbeat timeout of TS activities is several of these. */
export const PULSE_MS = Number(process.env.GEPA_RL_TS_HEARTBEAT_PULSE_MS ?? 2000);

export function pulseInterceptor(ctx: Context): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        ctx.heartbeat();
        const timer = setInterval(() => ctx.heartbeat(), PULSE_MS);
        try {
          return await next(input);
        } finally {
          clearInterval(timer);
        }
      },
    },
  };
}
