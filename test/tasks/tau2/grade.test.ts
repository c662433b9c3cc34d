/**
 * `gepa-rl grade` on recorded tau2 trajectories (OpenAI chat messages): replayed on a fresh DB,
 * recorded tool results ignored, termination read from the messages when absent.
 */
import { PassThrough } from 'node:stream';
import { runGrade } from '../../../src/cli/grade';
import { toOpenAiMessages } from '../../../src/llm/tools';
import { prepareExperiment } from '../../../src/cli/main';
import { taskSeedPrompt } from '../../../src/activities/tasks';
import { DEFAULT_SYSTEM_PROMPT, taskConfigSchema } from '../../../src/config';
import { seedLeftToTask } from '../../../src/core/gepa';
import { airlinePolicy, loadTau2Tasks } from '../../../src/tasks/tau2/data';
import { AirlineEnv } from '../../../src/tasks/tau2/env';
import { agentView } from '../../../src/tasks/tau2/llmAgents';
import { runEpisode } from '../../../src/tasks/tau2/orchestrator';
import { GoldReplayAgent, NoopAgent, ScriptedUser } from '../../../src/tasks/tau2/scripted';

const tasks = loadTau2Tasks();

async function recorded(taskId: string, agentOf: (t: (typeof tasks)[number]) => GoldReplayAgent | NoopAgent = (t) => new GoldReplayAgent(t)) {
  const task = tasks.find((t) => t.id === taskId)!;
  const cp = await runEpisode({ agent: agentOf(task), user: new ScriptedUser(task), env: new AirlineEnv() });
  return toOpenAiMessages(agentView('POLICY', cp.messages));
}

async function grade(lines: unknown[]): Promise<Record<string, unknown>[]> {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (d) => (text += d));
  input.end(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  await runGrade(input, output);
  return text.trim().split('\n').map((l) => JSON.parse(l));
}

test('recorded gold trajectories grade 1.0 on all 50 tasks, termination read from the stop token', async () => {
  const lines = [];
  for (const t of tasks) lines.push({ task: 'tau2-airline', task_id: t.id, messages: await recorded(t.id) });
  const out = await grade(lines);
  expect(out.map((o) => o.reward)).toEqual(new Array(50).fill(1));
  expect(out[0]).toEqual({ task_id: '0', reward: 1, db_match: true, communicate_match: true, feedback: 'Task completed successfully.', tool_errors: 0, termination: 'user_stop' });
});

test('tool results in the messages are ignored: the calls are replayed', async () => {
  const msgs = (await recorded('19')) as { role: string; content: unknown }[];
  for (const m of msgs) if (m.role === 'tool') m.content = 'Error: faked';
  const [o] = await grade([{ task: 'tau2-airline', task_id: '19', messages: msgs }]);
  expect(o).toMatchObject({ reward: 1, db_match: true, tool_errors: 0 });
});

test('a trajectory without writes fails a DB-changing task with feedback; a given termination wins', async () => {
  const msgs = await recorded('19', () => new NoopAgent());
  const [a, b] = await grade([
    { task: 'tau2-airline', task_id: '19', messages: msgs },
    { task: 'tau2-airline', task_id: '0', messages: await recorded('0', () => new NoopAgent()), termination: 'max_steps' },
  ]);
  expect(a).toMatchObject({ reward: 0, db_match: false, communicate_match: true, termination: 'user_stop' });
  expect(a.feedback).toMatch(/^Agent failed to take any actions \| The final database differs from the expected one: reservations\.\w+\.payment_history/);
  expect(b).toMatchObject({ reward: 0, db_match: true, termination: 'max_steps' });
  expect(b.feedback).toMatch(/ended by max_steps/);
});

test('task_def instead of task_id; a trajectory that never stops is incomplete (0)', async () => {
  const task = tasks.find((t) => t.id === '0')!;
  const msgs = (await recorded('0')).filter((m) => !(m.role === 'user' && String(m.content).includes('###STOP###')));
  const [o] = await grade([{ task: 'tau2-airline', task_def: task, messages: msgs }]);
  expect(o).toMatchObject({ task_id: '0', reward: 0, termination: 'incomplete' });
});

test('bad lines say what was wrong', async () => {
  const out = await grade([
    { task: 'tau2-airline', messages: [] },
    { task: 'tau2-airline', task_id: '99', messages: [] },
    { task: 'tau2-airline', task_id: '1', messages: 'hi' },
    { task: 'tau2-airline', task_id: '1', messages: [{ role: 'robot' }] },
    { task: 'tau2-airline', task_id: '1', messages: [], termination: 'bored' },
    { task: 'tau2-airline', task_def: { id: 'x' }, messages: [] },
  ]);
  expect(out.map((o) => o.error)).toEqual([
    expect.stringMatching(/needs "task_id"/),
    expect.stringMatching(/unknown tau2-airline task_id "99"/),
    expect.stringMatching(/"messages" must be an array/),
    expect.stringMatching(/message 0: unknown role "robot"/),
    expect.stringMatching(/"termination" must be one of user_stop/),
    expect.stringMatching(/task_def: not a tau2 airline Task/),
  ]);
  expect(out.map((o) => o.line)).toEqual([1, 2, 3, 4, 5, 6]);
});

test('the seed rule is the task\'s, not the CLI\'s: the CLI sends the config as given; the task names policy.md as its seed', async () => {
  // the CLI adds nothing: a run started with `temporal workflow start` gets the same input
  const a = prepareExperiment('gepa', ['env=tau2-airline', 'backend=api', 'api_model=gpt-4.1', '--id', 'x']);
  expect(a.input.gepa).toBeUndefined();
  expect(await taskSeedPrompt({ task: taskConfigSchema.parse({ env: 'tau2-airline' }) })).toBe(airlinePolicy());
  expect(await taskSeedPrompt({ task: taskConfigSchema.parse({ env: 'gsm8k' }) })).toBeNull();
  // left to the task only while neither seed_prompt nor components are given
  expect(seedLeftToTask({ seed_prompt: DEFAULT_SYSTEM_PROMPT }, DEFAULT_SYSTEM_PROMPT)).toBe(true);
  expect(seedLeftToTask({ seed_prompt: 'Be kind.' }, DEFAULT_SYSTEM_PROMPT)).toBe(false);
  expect(seedLeftToTask({ seed_prompt: DEFAULT_SYSTEM_PROMPT, components: { system_prompt: 'x' } }, DEFAULT_SYSTEM_PROMPT)).toBe(false);
});
