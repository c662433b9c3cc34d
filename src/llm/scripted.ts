/**
 * Test stand-in for paid APIs: replies come from a function registered in-process (which may throw
 * an error carrying `status`/`headers` to imitate an HTTP error, or return a finish reason with
 * its text to imitate a reply cut off at max_tokens). Never a default.
 */
import { ProviderConfigError } from './errors';
import { estimateCost } from './prices';
import type { Completion, CompletionRequest, LlmProvider } from './types';

type ScriptFn = (req: CompletionRequest, call: number) => string | { text: string; finish_reason: string };
const scripts = new Map<string, { fn: ScriptFn; calls: number; prefill: boolean }>();

/** With `prefill`, the script imitates the local server: it writes the continuation of req.prefill. */
export function registerScriptedReplies(model: string, fn: ScriptFn, opts: { prefill?: boolean } = {}): void {
  scripts.set(model, { fn, calls: 0, prefill: opts.prefill ?? false });
}

export class ScriptedProvider implements LlmProvider {
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
