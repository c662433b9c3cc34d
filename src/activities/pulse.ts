/**
 * Heartbeats while a TS activity waits on a provider (reflection, teacher, API sampling): a pulse
 * every PULSE_MS while the call is pending, so an activity of a dead worker misses its heartbeat
 * timeout (seconds, src/workflows/common.ts) and is retried at once, instead of after the 10-minute
 * start-to-close timeout. Outside an activity (direct calls in tests) it does nothing.
 */
import { Context } from '@temporalio/activity';
import { providerForActivity, type LlmProvider, type ProviderConfig } from '../llm';

/** Pulse interval; the heartbeat timeout of the pulsed activities is several of these. */
export const PULSE_MS = Number(process.env.GEPA_RL_TS_HEARTBEAT_PULSE_MS ?? 2000);

function activityContext(): Context | null {
  try {
    return Context.current();
  } catch {
    return null;
  }
}

export async function pulsing<T>(work: () => Promise<T>): Promise<T> {
  const ctx = activityContext();
  if (!ctx) return work();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), PULSE_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** providerForActivity whose every call heartbeats while it waits on the provider. */
export function pulsingProvider(cfg: ProviderConfig): LlmProvider {
  const p = providerForActivity(cfg);
  return new Proxy(p, {
    get(target, name, receiver) {
      const v = Reflect.get(target, name, receiver);
      return name === 'complete' && typeof v === 'function' ? (...args: unknown[]) => pulsing(() => v.apply(target, args)) : v;
    },
  });
}
