/**
 * Tool calling through the providers (DESIGN §4.4): one provider-neutral message format in,
 * text + tool calls + usage out, converted to and from OpenAI Chat Completions (openai,
 * openai-compatible) and Anthropic Messages (provider=scripted: a factory test code registers). The local model
 * (SmolLM2-135M behind the project's server) has no tools API, so choosing it where tools are
 * needed is refused with a message that says so.
 *
 * Conversions (spec §3.5):
 * - OpenAI: tools as {type:"function", function}; tool-call arguments are a JSON *string*; an
 *   assistant message may carry text and tool_calls (content null when none); one {role:"tool"}
 *   message per result, in call order.
 * - Anthropic: system is a top-level field; tool_use blocks carry an *object*; all results of one
 *   assistant turn go in one user message as tool_result blocks; the conversation must open with a
 *   user turn, so a history that opens with the agent's greeting gets a user turn "." before it (as
 *   litellm does for tau2); $defs/$ref schemas are inlined.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { anthropicSampling } from './anthropic';
import { anthropicClient, openAiClient } from './clients';
import { endpointFor, unknownProviderError } from './endpoints';
import { ProviderConfigError, scriptedNotRegistered } from './errors';
import { estimateCost } from './prices';
import type { ProviderConfig } from './types';

/** OpenAI function-tool format (what tau2 sends; fixtures/openai_tools.json). */
export interface ToolSchema {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export interface ToolCallOut {
  id: string;
  name: string;
  /** the argument JSON as text (OpenAI sends text, Anthropic an object, re-serialised here) */
  arguments: string;
}

export type ToolChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCallOut[] }
  | { role: 'tool'; tool_call_id: string; content: string; is_error?: boolean };

export interface ToolCompletionRequest {
  messages: ToolChatMessage[];
  tools: ToolSchema[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  seed?: number;
  /** false: at most one tool call per reply (OpenAI parallel_tool_calls, Anthropic disable_parallel_tool_use) */
  parallel_tool_calls?: boolean;
}

export interface ToolCompletion {
  content: string | null;
  tool_calls: ToolCallOut[];
  finish_reason: string;
  usage: { prompt_tokens: number; completion_tokens: number };
  cost_usd: number | null;
  model: string;
  latency_ms: number;
}

export interface ToolCallingProvider {
  readonly name: string;
  readonly model: string;
  completeWithTools(req: ToolCompletionRequest): Promise<ToolCompletion>;
}

/** Parse a tool call's argument text: an object, or why not (an error result to the agent, never a crash). */
export function parseToolArguments(raw: string): { arguments: Record<string, unknown> | null; error?: string } {
  let v: unknown;
  try {
    v = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch (e) {
    return { arguments: null, error: `arguments are not valid JSON (${(e as Error).message}); received ${JSON.stringify(raw.slice(0, 200))}` };
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { arguments: null, error: `arguments must be a JSON object; received ${JSON.stringify(raw.slice(0, 200))}` };
  return { arguments: v as Record<string, unknown> };
}

// ---------------------------------------------------------------- OpenAI wire format

export type OpenAiWireMessage = OpenAI.Chat.ChatCompletionMessageParam;

export function toOpenAiMessages(messages: ToolChatMessage[]): OpenAiWireMessage[] {
  return messages.map((m): OpenAiWireMessage => {
    if (m.role === 'assistant') {
      const out: OpenAI.Chat.ChatCompletionAssistantMessageParam = { role: 'assistant', content: m.content };
      if (m.tool_calls?.length) out.tool_calls = m.tool_calls.map((tc) => ({ id: tc.id, type: 'function' as const, function: { name: tc.name, arguments: tc.arguments } }));
      return out;
    }
    if (m.role === 'tool') return { role: 'tool', tool_call_id: m.tool_call_id, content: m.content };
    return { role: m.role, content: m.content };
  });
}

function textOf(content: unknown): string | null {
  if (content === null || content === undefined) return null;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (p && typeof p === 'object' && 'text' in p ? String((p as { text: unknown }).text) : '')).join('');
  return String(content);
}

/**
 * OpenAI chat messages (as stored in trajectories, or a response's `message`) → the neutral format.
 * Throws on a message it cannot read, naming its index and what was received.
 */
export function fromOpenAiMessages(wire: unknown[]): ToolChatMessage[] {
  return wire.map((raw, i) => {
    const m = raw as Record<string, unknown>;
    if (!m || typeof m !== 'object') throw new Error(`message ${i}: expected an object, got ${JSON.stringify(raw)?.slice(0, 80)}`);
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: textOf(m.content) ?? '' };
      case 'user':
        return { role: 'user', content: textOf(m.content) ?? '' };
      case 'tool':
        if (typeof m.tool_call_id !== 'string') throw new Error(`message ${i}: a tool message needs tool_call_id (got ${JSON.stringify(m.tool_call_id)})`);
        return { role: 'tool', tool_call_id: m.tool_call_id, content: textOf(m.content) ?? '' };
      case 'assistant': {
        const calls = Array.isArray(m.tool_calls) ? m.tool_calls : [];
        const tool_calls = calls.map((c: Record<string, unknown>, j: number): ToolCallOut => {
          const f = (c.function ?? {}) as Record<string, unknown>;
          if (typeof f.name !== 'string') throw new Error(`message ${i}: tool_calls[${j}] has no function.name`);
          const args = typeof f.arguments === 'string' ? f.arguments : JSON.stringify(f.arguments ?? {});
          return { id: typeof c.id === 'string' ? c.id : `call_${i}_${j}`, name: f.name, arguments: args };
        });
        return { role: 'assistant', content: textOf(m.content), ...(tool_calls.length ? { tool_calls } : {}) };
      }
      default:
        throw new Error(`message ${i}: unknown role ${JSON.stringify(m.role)} (expected system, user, assistant, tool)`);
    }
  });
}

export function openAiToolRequest(model: string, req: ToolCompletionRequest): OpenAI.Chat.ChatCompletionCreateParamsNonStreaming {
  return {
    model,
    messages: toOpenAiMessages(req.messages),
    tools: req.tools as OpenAI.Chat.ChatCompletionTool[],
    tool_choice: 'auto',
    ...(req.parallel_tool_calls !== undefined ? { parallel_tool_calls: req.parallel_tool_calls } : {}),
    max_tokens: req.max_tokens,
    temperature: req.temperature,
    top_p: req.top_p,
    seed: req.seed,
  };
}

export function fromOpenAiResponse(res: OpenAI.Chat.ChatCompletion, model: string, provider: string, latency_ms: number): ToolCompletion {
  const choice = res.choices[0];
  const msg = fromOpenAiMessages([{ ...(choice?.message ?? { content: null }), role: 'assistant' }])[0] as ToolChatMessage & { role: 'assistant' };
  const usage = { prompt_tokens: res.usage?.prompt_tokens ?? 0, completion_tokens: res.usage?.completion_tokens ?? 0 };
  return {
    content: msg.content,
    tool_calls: msg.tool_calls ?? [],
    finish_reason: choice?.finish_reason ?? 'stop',
    usage,
    cost_usd: provider === 'openai-compatible' ? estimateCost(model, usage) : estimateCost(res.model ?? model, usage),
    model: res.model ?? model,
    latency_ms,
  };
}

// ---------------------------------------------------------------- Anthropic wire format

/** Inline `$ref: "#/$defs/X"` (and drop `$defs`), keeping names, descriptions, enums and required lists. */
export function derefSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const defs = (schema.$defs ?? {}) as Record<string, unknown>;
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > 20) throw new Error('derefSchema: $ref nesting deeper than 20 (a recursive schema?)');
    if (Array.isArray(v)) return v.map((x) => walk(x, depth));
    if (!v || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    if (typeof o.$ref === 'string') {
      const name = /^#\/\$defs\/(.+)$/.exec(o.$ref)?.[1];
      if (!name || !(name in defs)) throw new Error(`derefSchema: cannot resolve ${o.$ref}`);
      const { $ref: _r, ...rest } = o;
      return { ...(walk(defs[name], depth + 1) as object), ...(walk(rest, depth) as object) };
    }
    return Object.fromEntries(Object.entries(o).filter(([k]) => k !== '$defs').map(([k, x]) => [k, walk(x, depth)]));
  };
  return walk(schema, 0) as Record<string, unknown>;
}

export const ANTHROPIC_OPENING_USER_TURN = '.';

export function toAnthropicRequest(model: string, req: ToolCompletionRequest): Anthropic.Messages.MessageCreateParamsNonStreaming {
  const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  const out: Anthropic.Messages.MessageParam[] = [];
  const push = (role: 'user' | 'assistant', blocks: Anthropic.Messages.ContentBlockParam[]) => {
    const prev = out[out.length - 1];
    // consecutive turns of one role are merged (the API wants them alternating)
    if (prev && prev.role === role) (prev.content as Anthropic.Messages.ContentBlockParam[]).push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const m of req.messages) {
    if (m.role === 'system') continue;
    if (m.role === 'user') push('user', [{ type: 'text', text: m.content }]);
    else if (m.role === 'tool') push('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id, content: m.content, ...(m.is_error ? { is_error: true } : {}) }]);
    else {
      if (!out.length) out.push({ role: 'user', content: [{ type: 'text', text: ANTHROPIC_OPENING_USER_TURN }] });
      const blocks: Anthropic.Messages.ContentBlockParam[] = [];
      if (m.content) blocks.push({ type: 'text', text: m.content });
      for (const tc of m.tool_calls ?? []) {
        const parsed = parseToolArguments(tc.arguments);
        // a malformed call in the history is shown as what it was: its text under a key
        blocks.push({ type: 'tool_use', id: tc.id, name: tc.name, input: parsed.arguments ?? { _unparsed_arguments: tc.arguments } });
      }
      push('assistant', blocks);
    }
  }
  return {
    model,
    system: system || undefined,
    messages: out,
    tools: req.tools.map((t) => ({ name: t.function.name, description: t.function.description, input_schema: derefSchema(t.function.parameters) as Anthropic.Messages.Tool.InputSchema })),
    tool_choice: { type: 'auto', ...(req.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {}) },
    max_tokens: req.max_tokens ?? 1024,
    ...anthropicSampling(req), // one rule for temperature and top_p (Anthropic takes one of them)
  };
}

export function fromAnthropicResponse(res: Anthropic.Messages.Message, model: string, latency_ms: number): ToolCompletion {
  const text = res.content.filter((b): b is Anthropic.Messages.TextBlock => b.type === 'text').map((b) => b.text).join('');
  const tool_calls = res.content
    .filter((b): b is Anthropic.Messages.ToolUseBlock => b.type === 'tool_use')
    .map((b) => ({ id: b.id, name: b.name, arguments: JSON.stringify(b.input ?? {}) }));
  const usage = { prompt_tokens: res.usage.input_tokens + (res.usage.cache_read_input_tokens ?? 0) + (res.usage.cache_creation_input_tokens ?? 0), completion_tokens: res.usage.output_tokens };
  const finish = res.stop_reason === 'tool_use' ? 'tool_calls' : res.stop_reason === 'max_tokens' ? 'length' : 'stop';
  return { content: text || null, tool_calls, finish_reason: finish, usage, cost_usd: estimateCost(model, usage), model: res.model ?? model, latency_ms };
}

// ---------------------------------------------------------------- providers

class OpenAiToolProvider implements ToolCallingProvider {
  private client: OpenAI;
  constructor(
    readonly name: 'openai' | 'openai-compatible',
    readonly model: string,
    apiKey: string,
    baseURL: string | undefined,
    timeout: number,
  ) {
    this.client = openAiClient(apiKey, baseURL, timeout);
  }
  async completeWithTools(req: ToolCompletionRequest): Promise<ToolCompletion> {
    const t0 = Date.now();
    const res = await this.client.chat.completions.create(openAiToolRequest(this.model, req));
    return fromOpenAiResponse(res, this.model, this.name, Date.now() - t0);
  }
}

class AnthropicToolProvider implements ToolCallingProvider {
  readonly name = 'anthropic';
  private client: Anthropic;
  constructor(
    readonly model: string,
    apiKey: string,
    baseURL: string | undefined,
    timeout: number,
  ) {
    this.client = anthropicClient(apiKey, baseURL, timeout);
  }
  async completeWithTools(req: ToolCompletionRequest): Promise<ToolCompletion> {
    const t0 = Date.now();
    const res = await this.client.messages.create(toAnthropicRequest(this.model, req));
    return fromAnthropicResponse(res, this.model, Date.now() - t0);
  }
}

/** Tokens estimated at 4 characters a token (the scripted provider's rule, also used for cost estimates). */
export function estimateToolPromptTokens(req: Pick<ToolCompletionRequest, 'messages' | 'tools'>): number {
  const chars = req.messages.reduce((a, m) => a + (m.content?.length ?? 0) + (m.role === 'assistant' ? (m.tool_calls ?? []).reduce((b, t) => b + t.name.length + t.arguments.length, 0) : 0), 0);
  return Math.ceil((chars + JSON.stringify(req.tools).length) / 4);
}

/** provider=scripted's tool-calling factory: registered by test code only (test/helpers/scriptedProviders.ts). */
let scriptedToolFactory: ((model: string) => ToolCallingProvider) | null = null;
export function registerScriptedToolProvider(factory: (model: string) => ToolCallingProvider): void {
  scriptedToolFactory = factory;
}

export function createToolProvider(cfg: ProviderConfig, env: NodeJS.ProcessEnv = process.env): ToolCallingProvider {
  const timeout = cfg.timeout_ms ?? 120_000;
  const use = { keyNeededFor: ' to run a tool-calling agent', compatibleServerNote: '; the server must support tools (vLLM needs --enable-auto-tool-choice)' };
  switch (cfg.provider) {
    case 'openai':
    case 'openai-compatible': {
      const ep = endpointFor(cfg, env, use);
      return new OpenAiToolProvider(cfg.provider, cfg.model, ep.apiKey, ep.baseURL, timeout);
    }
    case 'anthropic': {
      const ep = endpointFor(cfg, env, use);
      return new AnthropicToolProvider(cfg.model, ep.apiKey, ep.baseURL, timeout);
    }
    case 'scripted':
      if (!scriptedToolFactory) throw scriptedNotRegistered('tool-calling');
      return scriptedToolFactory(cfg.model);
    case 'local':
      throw new ProviderConfigError(
        'the local provider cannot be a tool-calling agent: the local model (SmolLM2-135M on the project\'s server) has no tools API and cannot follow a tool protocol usefully; use provider=openai, anthropic or openai-compatible (a server with tool support) for the agent (the local model may still be the user simulator)',
      );
    default:
      throw unknownProviderError((cfg as ProviderConfig).provider, ' for a tool-calling agent');
  }
}
