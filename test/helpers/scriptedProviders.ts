/**
 * provider=scripted, the test suite's stand-in for paid APIs: replies come from a function
 * registered in-process (which may throw an error carrying `status`/`headers` to imitate an HTTP
 * error, or return a finish reason with its text to imitate a reply cut off at max_tokens). It lives
 * in test code: importing this module registers both factories with src/llm (createProvider,
 * createToolProvider); a user's worker never imports it, so there provider=scripted fails at once.
 */
import { registerScriptedProvider } from '../../src/llm/create';
import { ProviderConfigError } from '../../src/llm/errors';
import { estimateCost } from '../../src/llm/prices';
import { estimateToolPromptTokens, registerScriptedToolProvider, type ToolCallingProvider, type ToolCompletion, type ToolCompletionRequest } from '../../src/llm/tools';
import type { Completion, CompletionRequest, LlmProvider } from '../../src/llm/types';

type ScriptFn = (req: CompletionRequest, call: number) => string | { text: string; finish_reason: string };
const scripts = new Map<string, { fn: ScriptFn; calls: number; prefill: boolean }>();

/** With `prefill`, the script imitates the local server: it writes the continuation of req.prefill. */
export function registerScriptedReplies(model: string, fn: ScriptFn, opts: { prefill?: boolean } = {}): void {
  scripts.set(model, { fn, calls: 0, prefill: opts.prefill ?? false });
}

class ScriptedProvider implements LlmProvider {
  readonly name = 'scripted' as const;
  constructor(readonly model: string) {}
  get supportsPrefill(): boolean {
    return scripts.get(this.model)?.prefill ?? false;
  }
  readonly supportsGrammar = false;
  async complete(req: CompletionRequest): Promise<Completion> {
    const s = scripts.get(this.model);
    if (!s) throw new ProviderConfigError(`no scripted replies registered for model ${JSON.stringify(this.model)} (scripted is a test stand-in)`);
    const prefill = s.prefill && req.prefill ? req.prefill : '';
    const replies = Array.from({ length: req.n ?? 1 }, () => s.fn(req, s.calls++)).map((r) => (typeof r === 'string' ? { text: r, finish_reason: 'stop' } : r));
    const texts = replies.map((r) => prefill + r.text);
    // usage estimated at 4 characters a token, priced like the real model it is named after (if any)
    const chars = req.messages.reduce((a, m) => a + m.content.length, 0);
    const perText = texts.map((t) => Math.ceil(t.length / 4));
    const usage = { prompt_tokens: Math.ceil(chars / 4) * texts.length, completion_tokens: perText.reduce((a, b) => a + b, 0) };
    return { texts, finish_reasons: replies.map((r) => r.finish_reason), usage, completion_tokens_per_text: perText, cost_usd: estimateCost(this.model, usage), model: this.model, latency_ms: 0 };
  }
}

export type ScriptedToolReply = { content?: string | null; tool_calls?: { id?: string; name: string; arguments: string | Record<string, unknown> }[] };
type ToolScriptFn = (req: ToolCompletionRequest, call: number) => ScriptedToolReply;
const toolScripts = new Map<string, { fn: ToolScriptFn; calls: number }>();

/** Register a scripted tool-calling model (tests only): the function sees the request, returns text and/or calls. */
export function registerScriptedToolReplies(model: string, fn: ToolScriptFn): void {
  toolScripts.set(model, { fn, calls: 0 });
}

class ScriptedToolProvider implements ToolCallingProvider {
  readonly name = 'scripted';
  constructor(readonly model: string) {}
  async completeWithTools(req: ToolCompletionRequest): Promise<ToolCompletion> {
    const s = toolScripts.get(this.model);
    if (!s) throw new ProviderConfigError(`no scripted tool replies registered for model ${JSON.stringify(this.model)} (scripted is a test stand-in)`);
    const call = s.calls++;
    const r = s.fn(req, call);
    const tool_calls = (r.tool_calls ?? []).map((tc, i) => ({ id: tc.id ?? `call_${call}_${i}`, name: tc.name, arguments: typeof tc.arguments === 'string' ? tc.arguments : JSON.stringify(tc.arguments) }));
    const outChars = (r.content?.length ?? 0) + tool_calls.reduce((a, t) => a + t.name.length + t.arguments.length, 0);
    const usage = { prompt_tokens: estimateToolPromptTokens(req), completion_tokens: Math.ceil(outChars / 4) };
    return { content: r.content ?? null, tool_calls, finish_reason: tool_calls.length ? 'tool_calls' : 'stop', usage, cost_usd: estimateCost(this.model, usage), model: this.model, latency_ms: 0 };
  }
}

registerScriptedProvider((model) => new ScriptedProvider(model));
registerScriptedToolProvider((model) => new ScriptedToolProvider(model));
