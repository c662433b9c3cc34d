/**
 * The model-backed agent and user of a tau2 episode. The agent is tau2's LLMAgent: the fixed
 * instruction wrapper around the policy (the GEPA component) as system prompt, the 14 tool schemas,
 * tool_choice auto, policy.temperature (0 unless given, as tau2-bench: config/task.ts withTaskDefaults)
 * and the trial's seed; every call's usage and cost is recorded. An
 * empty reply is re-sampled up to 2 times, then returned (the orchestrator ends the episode as
 * agent_error). The user simulator is tau2's: guidelines + scenario as system prompt, the agent's
 * text turns as `user` and its own as `assistant` (roles flipped); it never sees tool traffic.
 */
import type { LlmProvider } from '../../llm';
import { parseToolArguments, type ToolCallingProvider, type ToolChatMessage, type ToolSchema } from '../../llm/tools';
import { agentSystemPrompt, userSystemPrompt, type Tau2Task } from './data';
import type { AgentReply, EpisodeAgent, EpisodeMessage, EpisodeUser } from './orchestrator';

export interface CallUsage {
  role: 'agent' | 'user';
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number | null;
  model: string;
}

export interface SamplingSettings {
  temperature: number;
  max_tokens: number;
  seed?: number;
}

/** The trajectory as the agent's provider sees it. */
export function agentView(systemPrompt: string, history: readonly EpisodeMessage[]): ToolChatMessage[] {
  const out: ToolChatMessage[] = [{ role: 'system', content: systemPrompt }];
  for (const m of history) {
    if (m.role === 'user') out.push({ role: 'user', content: m.content });
    else if (m.role === 'tool') out.push({ role: 'tool', tool_call_id: m.tool_call_id, content: m.content, ...(m.error ? { is_error: true } : {}) });
    else
      out.push({
        role: 'assistant',
        content: m.content,
        ...(m.tool_calls?.length ? { tool_calls: m.tool_calls.map((tc) => ({ id: tc.id, name: tc.name, arguments: tc.raw_arguments ?? JSON.stringify(tc.arguments ?? {}) })) } : {}),
      });
  }
  return out;
}

export class LlmToolAgent implements EpisodeAgent {
  readonly usage: CallUsage[] = [];
  private readonly system: string;
  constructor(
    private provider: ToolCallingProvider,
    policy: string,
    private tools: ToolSchema[],
    private sampling: SamplingSettings,
    private onUsage?: (u: CallUsage) => void,
  ) {
    this.system = agentSystemPrompt(policy);
  }
  async next(history: readonly EpisodeMessage[]): Promise<AgentReply> {
    const messages = agentView(this.system, history);
    let last: AgentReply = { content: null };
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await this.provider.completeWithTools({
        messages,
        tools: this.tools,
        temperature: this.sampling.temperature,
        max_tokens: this.sampling.max_tokens,
        seed: this.sampling.seed,
      });
      const u: CallUsage = { role: 'agent', ...res.usage, cost_usd: res.cost_usd, model: res.model };
      this.usage.push(u);
      this.onUsage?.(u);
      last = {
        content: res.content,
        tool_calls: res.tool_calls.map((tc) => {
          const p = parseToolArguments(tc.arguments);
          return { id: tc.id, name: tc.name, arguments: p.arguments, raw_arguments: tc.arguments, ...(p.error ? { arguments_error: p.error } : {}) };
        }),
      };
      if ((last.content && last.content.trim()) || last.tool_calls?.length) return last;
    }
    return last;
  }
}

/** What the user simulator sees: text turns only, roles flipped. */
export function userView(task: Tau2Task, history: readonly EpisodeMessage[]): { role: 'system' | 'user' | 'assistant'; content: string }[] {
  const out: { role: 'system' | 'user' | 'assistant'; content: string }[] = [{ role: 'system', content: userSystemPrompt(task) }];
  for (const m of history) {
    if (m.role === 'user') out.push({ role: 'assistant', content: m.content });
    else if (m.role === 'assistant' && !m.tool_calls?.length && m.content && m.content.trim()) out.push({ role: 'user', content: m.content });
  }
  return out;
}

export class LlmUser implements EpisodeUser {
  readonly usage: CallUsage[] = [];
  constructor(
    private provider: LlmProvider,
    private task: Tau2Task,
    private sampling: SamplingSettings,
    private onUsage?: (u: CallUsage) => void,
  ) {}
  async next(history: readonly EpisodeMessage[]): Promise<string> {
    const res = await this.provider.complete({ messages: userView(this.task, history), temperature: this.sampling.temperature, max_tokens: this.sampling.max_tokens, seed: this.sampling.seed });
    const u: CallUsage = { role: 'user', ...res.usage, cost_usd: res.cost_usd, model: res.model };
    this.usage.push(u);
    this.onUsage?.(u);
    return res.texts[0] ?? '';
  }
}
