/**
 * End to end through the orchestrator, offline (spec §6): the gold replay agent with the scripted
 * user scores 1.0 on all 50 tasks; corruptions that really change the DB score 0; the do-nothing
 * agent scores exactly 23; limits and bad agent output end episodes as tau2 does.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadTau2Split, loadTau2Tasks, agentSystemPrompt, airlinePolicy, FIRST_AGENT_MESSAGE, userSystemPrompt } from '../../../src/tasks/tau2/data';
import { AirlineEnv } from '../../../src/tasks/tau2/env';
import { gradeTau2 } from '../../../src/tasks/tau2/evaluate';
import { initialCheckpoint, replayToolCalls, runEpisode, type EpisodeAgent, type EpisodeCheckpoint } from '../../../src/tasks/tau2/orchestrator';
import { GoldReplayAgent, NoopAgent, ScriptedUser, type GoldReplayOptions } from '../../../src/tasks/tau2/scripted';

const FIX = path.join(__dirname, '../../../data/tau2_airline/fixtures');
const gold = JSON.parse(readFileSync(path.join(FIX, 'gold_replay.json'), 'utf8')) as { tasks: { id: string; changes_db: boolean; do_nothing_reward: number }[] };
const tasks = loadTau2Tasks();
const changing = new Set(gold.tasks.filter((t) => t.changes_db).map((t) => t.id));

async function episode(taskId: string, agent: (t: (typeof tasks)[number]) => EpisodeAgent) {
  const task = tasks.find((t) => t.id === taskId)!;
  const env = new AirlineEnv();
  const cp = await runEpisode({ agent: agent(task), user: new ScriptedUser(task), env });
  return { cp, grade: gradeTau2(task, cp.messages, cp.termination!), env };
}

const gold1 = (o: GoldReplayOptions = {}) => (t: (typeof tasks)[number]) => new GoldReplayAgent(t, o);

test('gold replay with the scripted user scores 1.0 on all 50 tasks, ending by user stop', async () => {
  const rewards: Record<string, number> = {};
  for (const t of tasks) {
    const { cp, grade, env } = await episode(t.id, gold1());
    expect(cp.termination).toBe('user_stop');
    expect(grade.tool_errors).toBe(0);
    // the live env and the replayed trajectory agree
    expect(env.hash()).toBe(grade.db_hash);
    rewards[t.id] = grade.reward;
  }
  expect(Object.values(rewards).filter((r) => r === 1)).toHaveLength(50);
});

test('dropping the last write gives 0 on each of the 26 DB-changing tasks (and dropping all writes too)', async () => {
  const last: number[] = [];
  const all: number[] = [];
  for (const id of changing) {
    last.push((await episode(id, gold1({ dropLastWrite: true }))).grade.reward);
    const g = (await episode(id, gold1({ dropAllWrites: true }))).grade;
    all.push(g.reward);
    expect(g.db_match).toBe(false);
    expect(g.db_diff.length).toBeGreaterThan(0);
  }
  expect(changing.size).toBe(26);
  expect(last).toEqual(new Array(26).fill(0));
  expect(all).toEqual(new Array(26).fill(0));
});

test('the do-nothing agent scores exactly 23 (16 train, 7 test), as the fixture says task by task', async () => {
  const won = new Set<string>();
  for (const t of tasks) {
    const { grade } = await episode(t.id, () => new NoopAgent());
    expect(grade.reward).toBe(gold.tasks.find((g) => g.id === t.id)!.do_nothing_reward);
    if (grade.reward === 1) won.add(t.id);
  }
  expect(won.size).toBe(23);
  expect(loadTau2Split('train').filter((t) => won.has(t.id))).toHaveLength(16);
  expect(loadTau2Split('test').filter((t) => won.has(t.id))).toHaveLength(7);
});

test('a gold replay that never states communicate_info fails tasks 3, 7, 11, 14, 18, 23 only', async () => {
  const failed: string[] = [];
  for (const t of tasks) if ((await episode(t.id, gold1({ sayInfo: false }))).grade.reward === 0) failed.push(t.id);
  expect(failed).toEqual(['3', '7', '11', '14', '18', '23']);
});

test('extra reads and generic calls before the gold list leave every reward at 1', async () => {
  const prepend = [
    { name: 'list_all_airports', arguments: {} },
    { name: 'calculate', arguments: { expression: '1+1' } },
    { name: 'transfer_to_human_agents', arguments: { summary: 'x' } },
  ];
  for (const t of tasks) expect((await episode(t.id, gold1({ prepend }))).grade.reward).toBe(1);
});

test('prompts are byte-equal to fixtures/prompts.json', () => {
  const p = JSON.parse(readFileSync(path.join(FIX, 'prompts.json'), 'utf8')) as { agent_system_prompt: string; first_agent_message: string; user_system_prompts: Record<string, string> };
  expect(agentSystemPrompt(airlinePolicy())).toBe(p.agent_system_prompt);
  expect(FIRST_AGENT_MESSAGE).toBe(p.first_agent_message);
  expect(Object.keys(p.user_system_prompts)).toHaveLength(50);
  for (const t of tasks) expect(userSystemPrompt(t)).toBe(p.user_system_prompts[t.id]);
});

describe('limits and bad agent output', () => {
  const task = tasks.find((t) => t.id === '7')!;
  const looping: EpisodeAgent = { next: async () => ({ content: 'Could you repeat that?' }) };
  test('a user who never stops hits max_steps (reward 0, even with gold actions done)', async () => {
    const env = new AirlineEnv();
    const never = { next: async () => 'I still need help.' };
    const cp = await runEpisode({ agent: looping, user: never, env, limits: { max_steps: 200, max_errors: 10 } });
    expect(cp.termination).toBe('max_steps');
    expect(cp.steps).toBe(200);
    expect(cp.messages).toHaveLength(201);
    expect(gradeTau2(task, cp.messages, cp.termination!).reward).toBe(0);
  });
  test('10 erroring tool calls end the episode with too_many_errors; unknown tools and bad arguments are error results', async () => {
    let n = 0;
    const bad: EpisodeAgent = {
      next: async () => {
        n++;
        if (n % 3 === 0) return { content: null, tool_calls: [{ id: `c${n}`, name: 'no_such_tool', arguments: {} }] };
        if (n % 3 === 1) return { content: null, tool_calls: [{ id: `c${n}`, name: 'get_user_details', arguments: null, raw_arguments: '{"user_id": ', arguments_error: 'not JSON' }] };
        return { content: null, tool_calls: [{ id: `c${n}`, name: 'get_user_details', arguments: {} }] };
      },
    };
    const cp = await runEpisode({ agent: bad, user: new ScriptedUser(task), env: new AirlineEnv() });
    expect(cp.termination).toBe('too_many_errors');
    expect(cp.errors).toBe(10);
    const tools = cp.messages.filter((m) => m.role === 'tool');
    expect(tools.map((m) => m.content).slice(0, 3)).toEqual([
      "Error: invalid arguments for tool 'get_user_details': not JSON",
      "Error: AirlineTools.get_user_details() missing 1 required positional argument: 'user_id'",
      "Error: Tool 'no_such_tool' not found.",
    ]);
    expect(gradeTau2(task, cp.messages, cp.termination!).reward).toBe(0);
  });
  test('an empty agent reply ends the episode as agent_error, recorded', async () => {
    const cp = await runEpisode({ agent: { next: async () => ({ content: '  ' }) }, user: new ScriptedUser(task), env: new AirlineEnv() });
    expect(cp.termination).toBe('agent_error');
    expect(cp.error_info).toMatch(/neither text nor a tool call/);
    expect(cp.messages[cp.messages.length - 1]).toMatchObject({ role: 'assistant' });
  });
  test('an agent ###STOP### is an agent stop, graded normally', async () => {
    const cp = await runEpisode({ agent: new NoopAgent(), user: { next: async () => 'hello' }, env: new AirlineEnv() });
    expect(cp.termination).toBe('max_steps');
    const stopper: EpisodeAgent = { next: async () => ({ content: 'Goodbye ###STOP###' }) };
    const t0 = tasks.find((t) => t.id === '0')!;
    const cp2 = await runEpisode({ agent: stopper, user: new ScriptedUser(t0), env: new AirlineEnv() });
    expect(cp2.termination).toBe('agent_stop');
    expect(gradeTau2(t0, cp2.messages, cp2.termination!).reward).toBe(1);
  });
});

test('an episode resumed from any checkpoint ends exactly like an uninterrupted one', async () => {
  const task = tasks.find((t) => t.id === '23')!;
  const cps: EpisodeCheckpoint[] = [];
  const full = await runEpisode({ agent: new GoldReplayAgent(task), user: new ScriptedUser(task), env: new AirlineEnv(), onStep: (cp) => void cps.push(structuredClone(cp)) });
  expect(cps.length).toBe(full.steps);
  for (const at of [1, 4, 7]) {
    const cp = cps[at];
    const env = new AirlineEnv();
    replayToolCalls(env, cp.messages);
    // a fresh agent/user that have seen the prefix: the gold agent skips the calls already made
    const made = cp.messages.filter((m) => m.role === 'assistant' && m.tool_calls).length;
    const agent = new GoldReplayAgent(task);
    for (let i = 0; i < made; i++) await agent.next();
    const user = new ScriptedUser(task);
    for (let i = 0; i < cp.messages.filter((m) => m.role === 'user').length; i++) await user.next(cp.messages);
    const resumed = await runEpisode({ agent, user, env, checkpoint: cp });
    expect(resumed.messages).toEqual(full.messages);
    expect(env.hash()).toBe(gradeTau2(task, full.messages, full.termination!).gold_hash);
  }
  expect(initialCheckpoint().messages).toHaveLength(1);
});
