/**
 * bench/tau2-cost: tokens and dollars per tau2-airline episode, estimated from the message sizes of
 * scripted episodes (no key needed): the gold-replay agent with the scripted user on all 50 tasks,
 * i.e. the shortest conversation that solves each task. Every agent call resends the system prompt
 * (8,033 chars), the 14 tool schemas and the whole history, so input tokens grow with the square of
 * the turns; real agents also search, confirm and chat, so real episodes cost more (tau-bench v1's
 * gpt-4o trajectories: ~12 agent calls and ~80k agent input tokens per episode).
 * Tokens are estimated at 4 characters each (the scripted provider's rule).
 * Run: npx jest -c bench/tau2-cost/jest.config.js
 */
import { estimateCost } from '../../src/llm';
import { estimateToolPromptTokens } from '../../src/llm/tools';
import { airlinePolicy, airlineToolSchemas, agentSystemPrompt, loadTau2Tasks } from '../../src/tasks/tau2/data';
import { AirlineEnv } from '../../src/tasks/tau2/env';
import { agentView, userView } from '../../src/tasks/tau2/llmAgents';
import { runEpisode, type EpisodeAgent, type EpisodeMessage, type EpisodeUser } from '../../src/tasks/tau2/orchestrator';
import { GoldReplayAgent, ScriptedUser } from '../../src/tasks/tau2/scripted';

test('tokens and cost per episode from scripted runs', async () => {
  const tools = airlineToolSchemas();
  const system = agentSystemPrompt(airlinePolicy());
  const rows: { agentCalls: number; agentIn: number; agentOut: number; userCalls: number; userIn: number; userOut: number; steps: number }[] = [];
  for (const task of loadTau2Tasks()) {
    const row = { agentCalls: 0, agentIn: 0, agentOut: 0, userCalls: 0, userIn: 0, userOut: 0, steps: 0 };
    const gold = new GoldReplayAgent(task);
    const scripted = new ScriptedUser(task);
    const agent: EpisodeAgent = {
      next: async (h: readonly EpisodeMessage[]) => {
        const r = await gold.next();
        row.agentCalls++;
        row.agentIn += estimateToolPromptTokens({ messages: agentView(system, h), tools });
        row.agentOut += Math.ceil(((r.content?.length ?? 0) + JSON.stringify(r.tool_calls ?? []).length) / 4);
        return r;
      },
    };
    const user: EpisodeUser = {
      next: async (h: readonly EpisodeMessage[]) => {
        const t = await scripted.next(h);
        row.userCalls++;
        row.userIn += Math.ceil(userView(task, h).reduce((a, m) => a + m.content.length, 0) / 4);
        row.userOut += Math.ceil(t.length / 4);
        return t;
      },
    };
    const cp = await runEpisode({ agent, user, env: new AirlineEnv() });
    row.steps = cp.steps;
    rows.push(row);
  }
  const mean = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0) / rows.length;
  const m = { agentCalls: mean((r) => r.agentCalls), agentIn: mean((r) => r.agentIn), agentOut: mean((r) => r.agentOut), userCalls: mean((r) => r.userCalls), userIn: mean((r) => r.userIn), userOut: mean((r) => r.userOut), steps: mean((r) => r.steps) };
  const maxIn = Math.max(...rows.map((r) => r.agentIn));
  const usd = (agent: string, userModel: string) =>
    (estimateCost(agent, { prompt_tokens: m.agentIn, completion_tokens: m.agentOut }) ?? NaN) + (estimateCost(userModel, { prompt_tokens: m.userIn, completion_tokens: m.userOut }) ?? NaN);
  const lines = [
    `episodes: ${rows.length} (gold replay + scripted user)`,
    `steps/episode: ${m.steps.toFixed(1)}; agent calls ${m.agentCalls.toFixed(1)}, user calls ${m.userCalls.toFixed(1)}`,
    `agent tokens in/out per episode: ${Math.round(m.agentIn)} / ${Math.round(m.agentOut)} (max in ${maxIn}); first call alone: ${estimateToolPromptTokens({ messages: [{ role: 'system', content: system }], tools })}`,
    `user tokens in/out per episode: ${Math.round(m.userIn)} / ${Math.round(m.userOut)}`,
    `USD/episode, agent gpt-4.1 + user gpt-4.1: ${usd('gpt-4.1', 'gpt-4.1').toFixed(4)}`,
    `USD/episode, agent gpt-4.1-mini + user gpt-4.1: ${usd('gpt-4.1-mini', 'gpt-4.1').toFixed(4)}`,
    `USD/episode, agent claude-sonnet-4-5 + user gpt-4.1: ${usd('claude-sonnet-4-5', 'gpt-4.1').toFixed(4)}`,
  ];
  console.log(lines.join('\n'));
  expect(rows).toHaveLength(50);
});
