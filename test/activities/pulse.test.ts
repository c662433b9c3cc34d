/**
 * The pulse interceptor (src/activities/pulse.ts) heartbeats while an activity runs, and every pulse
 * carries the details of the activity's last own heartbeat: Temporal keeps only the latest details,
 * so an empty pulse after a tau2 step checkpoint would erase it and a retry would start the episode
 * over. On a retry the pulses carry the previous attempt's details until the activity sends its own.
 */
import { heartbeat } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';

process.env.GEPA_RL_TS_HEARTBEAT_PULSE_MS = '5';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { pulseInterceptor } = require('../../src/activities/pulse') as typeof import('../../src/activities/pulse');

/** Runs an activity that heartbeats `own` (unless null) and then waits until `pulses` more heartbeats went out. */
async function run(env: MockActivityEnvironment, own: unknown, pulses: number): Promise<unknown[]> {
  const beats: unknown[] = [];
  let waiter: (() => void) | null = null;
  let after = 0;
  env.on('heartbeat', (d) => {
    beats.push(d);
    if (waiter && ++after >= pulses) waiter();
  });
  await env.run(async () => {
    if (own !== null) heartbeat(own);
    await new Promise<void>((resolve) => (waiter = resolve));
  });
  return beats;
}

test('pulses after an own heartbeat repeat its details, so the last checkpoint is never erased', async () => {
  const env = new MockActivityEnvironment({}, { interceptors: [pulseInterceptor] });
  const beats = await run(env, { checkpoint: { steps: 3 } }, 3);
  const i = beats.findIndex((b) => JSON.stringify(b) === '{"checkpoint":{"steps":3}}');
  expect(i).toBeGreaterThan(0); // the pulse at the start went first
  expect(beats.length - i - 1).toBeGreaterThanOrEqual(3);
  for (const b of beats.slice(i)) expect(b).toEqual({ checkpoint: { steps: 3 } });
});

test('on a retry the pulses carry the previous attempt\'s details until the activity sends its own', async () => {
  const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { checkpoint: { steps: 7 } } }, { interceptors: [pulseInterceptor] });
  const beats = await run(env, null, 3);
  expect(beats.length).toBeGreaterThanOrEqual(3);
  for (const b of beats) expect(b).toEqual({ checkpoint: { steps: 7 } });
});

test('an activity that never heartbeats itself still pulses (a dead worker is noticed by its heartbeat timeout)', async () => {
  const env = new MockActivityEnvironment({}, { interceptors: [pulseInterceptor] });
  const beats = await run(env, null, 3);
  expect(beats.length).toBeGreaterThanOrEqual(3);
  for (const b of beats) expect(b).toBeUndefined();
});
