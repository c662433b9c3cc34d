/**
 * The episode activity: heartbeats its checkpoint after every step, and an attempt that starts with
 * the last heartbeat (a killed worker, a provider 503) continues from that step: no agent or user
 * call is paid twice, and the result equals an uninterrupted run.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { tau2Episode as tau2EpisodeActivity, type Tau2EpisodeRequest, type Tau2EpisodeResult } from '../../src/activities/tau2';
import { taskConfigSchema } from '../../src/config/task';
import { airlinePolicy } from '../../src/tasks/tau2/data';
import { tmpRunsDir } from '../helpers/stack';
import { agentCalls, registerScriptedTau2Agent, registerScriptedTau2User, RULE } from '../helpers/tau2Scripted';
import { readBlob } from '../../src/storage/blobs';

const tau2Episode = tau2EpisodeActivity;
/** MockActivityEnvironment.run, typed (its signature loses the result type) */
const run = (env: MockActivityEnvironment, r: Tau2EpisodeRequest): Promise<Tau2EpisodeResult> => env.run(tau2Episode as (r: Tau2EpisodeRequest) => Promise<Tau2EpisodeResult>, r) as Promise<Tau2EpisodeResult>;

registerScriptedTau2User();
registerScriptedTau2Agent('agent-ok');
registerScriptedTau2Agent('agent-503', { failAtCall: { n: 4, times: 1 } });

const req = (model: string, policy = `${airlinePolicy()}\n${RULE}`): Tau2EpisodeRequest => ({
  task: taskConfigSchema.parse({ env: 'tau2-airline', tau2_user_provider: 'scripted', tau2_user_model: 'scripted-tau2-user' }),
  split: 'train',
  index: 5, // task 7: 5 gold actions, 3 writes, communicate "1628"
  trial: 0,
  policy,
  agent: { provider: 'scripted', model, temperature: 0 },
  seed: 1,
  blob_dir: tmpRunsDir(),
});

test('an uninterrupted episode: heartbeats every step, conversation in the blob store, reward 1', async () => {
  const env = new MockActivityEnvironment();
  const beats: unknown[] = [];
  env.on('heartbeat', (d) => beats.push(d));
  const r = await run(env, req('agent-ok'));
  expect(r).toMatchObject({ task_id: '7', reward: 1, success: true, termination: 'user_stop', db_changing: true, resumed_from_step: 0, tool_errors: 0 });
  expect(beats).toHaveLength(r.steps);
  expect(r.usage.agent.calls).toBe(6);
  expect(r.usage.user.calls).toBe(2);
  const trace = await readBlob<{ checkpoint: { messages: unknown[] } }>(r.trace_ref);
  expect(trace.checkpoint.messages).toHaveLength(r.message_count);
  expect(r.sample.reflect).toBe(false);
});

test('a failed attempt resumes from its last heartbeat without paying again', async () => {
  const env1 = new MockActivityEnvironment();
  const beats: unknown[] = [];
  env1.on('heartbeat', (d) => beats.push(d));
  await expect(run(env1, req('agent-503'))).rejects.toThrow(/503/);
  expect(beats.length).toBeGreaterThan(3);
  const before = agentCalls.filter((c) => c.model === 'agent-503').length;
  const env2 = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: beats[beats.length - 1] });
  const r = await run(env2, req('agent-503'));
  const after = agentCalls.filter((c) => c.model === 'agent-503').length;
  expect(r).toMatchObject({ reward: 1, attempt: 2, termination: 'user_stop' });
  expect(r.resumed_from_step).toBeGreaterThan(0);
  // 6 agent calls in all: 3 before the failure, the failed 4th, and 3 after (the 4th again, 5th, 6th)
  expect(before).toBe(4);
  expect(after - before).toBe(3);
  // the usage of the first attempt travelled in the heartbeat
  expect(r.usage.agent.calls).toBe(6);
  const ok = await run(new MockActivityEnvironment(), req('agent-ok'));
  expect(r.steps).toBe(ok.steps);
  expect(r.sample.output).toBe(ok.sample.output);
});

test('without the rule the scripted agent never writes: 0 on a DB-changing task, a record for the reflector', async () => {
  const r = await run(new MockActivityEnvironment(), req('agent-ok', airlinePolicy()));
  expect(r.reward).toBe(0);
  expect(r.sample.reflect).toBe(true);
  expect(r.sample.feedback).toMatch(/^Agent failed to take any actions \| The final database differs/);
  expect(JSON.parse(r.sample.input)).toMatchObject({ user_id: 'daiki_muller_1116', expected_actions: ['get_reservation_details', 'get_reservation_details', 'update_reservation_flights', 'cancel_reservation', 'cancel_reservation'] });
});

test('the local model is refused as the agent, saying why', async () => {
  await expect(run(new MockActivityEnvironment(), { ...req('x'), agent: { provider: 'local' as const, model: 'smollm2', temperature: 0 } })).rejects.toThrow(/no tools API/);
});
