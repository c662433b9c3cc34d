/**
 * LLM providers for reflection, teacher hints and API-model sampling (DESIGN §4.4): openai,
 * anthropic, openai-compatible and local (the trainer package's OpenAI-compatible server), all
 * through the official clients. Temporal owns retries: the SDKs' own retries are off, 429/5xx are
 * retryable honouring retry-after, other 4xx are not. Keys come from the worker's environment only
 * and never appear in messages or results.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { ApplicationFailure } from '@temporalio/common';
import { DEFAULT_LOCAL_LM_URL } from '../constants';
import type { ChatMessage } from '../types';
import { PROVIDER_CONFIG_FAILURE, ProviderConfigError } from './errors';

export { PROVIDER_CONFIG_FAILURE, ProviderConfigError };

export type ProviderName = 'openai' | 'anthropic' | 'openai-compatible' | 'local' | 'scripted';

export interface ProviderConfig {
  provider: ProviderName;
  model: string;
  base_url?: string;
  timeout_ms?: number;
}

export interface CompletionRequest {
  messages: ChatMessage[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  n?: number;
  seed?: number;
  stop?: string[];
  /**
   * Start the reply with this text, which the model continues (only where `supportsPrefill`); the
   * returned texts begin with it, and a stop string that ended a reply is kept at its end.
   */
  prefill?: string;
}

export interface Completion {
  texts: string[];
  finish_reasons: string[];
  usage: { prompt_tokens: number; completion_tokens: number };
  cost_usd: number | null;
  model: string;
  latency_ms: number;
}

export interface LlmProvider {
  readonly name: ProviderName;
  readonly model: string;
  /** the local server continues a trailing assistant message (other providers ignore `prefill`) */
  readonly supportsPrefill: boolean;
  complete(req: CompletionRequest): Promise<Completion>;
}

/** USD per 1M tokens [input, output]; unknown and local models cost null. */
const PRICES: Record<string, [number, number]> = {
  'gpt-4o': [2.5, 10],
  'gpt-4o-mini': [0.15, 0.6],
  'gpt-4.1': [2, 8],
  'gpt-4.1-mini': [0.4, 1.6],
  'gpt-5': [1.25, 10],
  'gpt-5-mini': [0.25, 2],
  'claude-sonnet-4-5': [3, 15],
  'claude-opus-4-1': [15, 75],
  'claude-haiku-4-5': [1, 5],
};

export function estimateCost(model: string, usage: { prompt_tokens: number; completion_tokens: number }): number | null {
  const key = Object.keys(PRICES)
    .filter((k) => model === k || model.startsWith(`${k}-`))
    .sort((a, b) => b.length - a.length)[0];
  if (!key) return null;
  const [inp, out] = PRICES[key];
  return (usage.prompt_tokens * inp + usage.completion_tokens * out) / 1e6;
}

export class MissingKeyError extends ProviderConfigError {
  override name = 'MissingKeyError';
}

function requireKey(env: NodeJS.ProcessEnv, name: string, provider: string): string {
  const v = env[name];
  if (!v) throw new MissingKeyError(`${name} is not set; the ${provider} provider needs it in the worker's environment (or use provider=local)`);
  return v;
}

class OpenAiProvider implements LlmProvider {
  private client: OpenAI;
  constructor(
    readonly name: ProviderName,
    readonly model: string,
    apiKey: string,
    baseURL: string | undefined,
    timeout: number,
  ) {
    this.client = new OpenAI({ apiKey, baseURL, maxRetries: 0, timeout });
  }
  get supportsPrefill(): boolean {
    return this.name === 'local';
  }
  async complete(req: CompletionRequest): Promise<Completion> {
    const t0 = Date.now();
    const prefill = this.supportsPrefill && req.prefill ? req.prefill : '';
    const body = {
      model: this.model,
      messages: prefill ? [...req.messages, { role: 'assistant' as const, content: prefill }] : req.messages,
      max_tokens: req.max_tokens,
      temperature: req.temperature,
      top_p: req.top_p,
      n: req.n,
      seed: req.seed,
      stop: req.stop,
      // the local server's (and vLLM's) switch: a stop string that ended the reply stays in it
      ...(prefill ? { include_stop_str_in_output: true } : {}),
    };
    const res = await this.client.chat.completions.create(body as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    const usage = { prompt_tokens: res.usage?.prompt_tokens ?? 0, completion_tokens: res.usage?.completion_tokens ?? 0 };
    return {
      texts: res.choices.map((c) => prefill + (c.message?.content ?? '')),
      finish_reasons: res.choices.map((c) => c.finish_reason ?? 'stop'),
      usage,
      cost_usd: this.name === 'local' ? null : estimateCost(this.model, usage),
      model: res.model ?? this.model,
      latency_ms: Date.now() - t0,
    };
  }
}

class AnthropicProvider implements LlmProvider {
  readonly name = 'anthropic' as const;
  readonly supportsPrefill = false;
  private client: Anthropic;
  constructor(
    readonly model: string,
    apiKey: string,
    baseURL: string | undefined,
    timeout: number,
  ) {
    this.client = new Anthropic({ apiKey, baseURL, maxRetries: 0, timeout });
  }
  async complete(req: CompletionRequest): Promise<Completion> {
    const t0 = Date.now();
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    const messages = req.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content }));
    const texts: string[] = [];
    const finish: string[] = [];
    const usage = { prompt_tokens: 0, completion_tokens: 0 };
    for (let i = 0; i < (req.n ?? 1); i++) {
      const res = await this.client.messages.create({
        model: this.model,
        system: system || undefined,
        messages,
        max_tokens: req.max_tokens ?? 1024,
        stop_sequences: req.stop,
      });
      texts.push(res.content.map((b) => (b.type === 'text' ? b.text : '')).join(''));
      finish.push(res.stop_reason === 'max_tokens' ? 'length' : 'stop');
      usage.prompt_tokens += res.usage.input_tokens;
      usage.completion_tokens += res.usage.output_tokens;
    }
    return { texts, finish_reasons: finish, usage, cost_usd: estimateCost(this.model, usage), model: this.model, latency_ms: Date.now() - t0 };
  }
}

/**
 * Test stand-in for paid APIs: replies come from a function registered in-process (which may throw
 * an error carrying `status`/`headers` to imitate an HTTP error, or return a finish reason with
 * its text to imitate a reply cut off at max_tokens). Never a default.
 */
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
  async complete(req: CompletionRequest): Promise<Completion> {
    const s = scripts.get(this.model);
    if (!s) throw new ProviderConfigError(`no scripted replies registered for model ${JSON.stringify(this.model)} (scripted is a test stand-in)`);
    const prefill = s.prefill && req.prefill ? req.prefill : '';
    const replies = Array.from({ length: req.n ?? 1 }, () => s.fn(req, s.calls++)).map((r) => (typeof r === 'string' ? { text: r, finish_reason: 'stop' } : r));
    const texts = replies.map((r) => prefill + r.text);
    // usage estimated at 4 characters a token, priced like the real model it is named after (if any)
    const chars = req.messages.reduce((a, m) => a + m.content.length, 0);
    const usage = { prompt_tokens: Math.ceil(chars / 4) * texts.length, completion_tokens: texts.reduce((a, t) => a + Math.ceil(t.length / 4), 0) };
    return { texts, finish_reasons: replies.map((r) => r.finish_reason), usage, cost_usd: estimateCost(this.model, usage), model: this.model, latency_ms: 0 };
  }
}

export function createProvider(cfg: ProviderConfig, env: NodeJS.ProcessEnv = process.env): LlmProvider {
  // A local model on CPU is slow, not unreachable; two calls (a reply and its fence repair) must
  // still fit in the activity's 10 minutes.
  const timeout = cfg.timeout_ms ?? (cfg.provider === 'local' ? 280_000 : 120_000);
  switch (cfg.provider) {
    case 'openai':
      return new OpenAiProvider('openai', cfg.model, requireKey(env, 'OPENAI_API_KEY', 'openai'), cfg.base_url ?? env.OPENAI_BASE_URL, timeout);
    case 'openai-compatible': {
      const base = cfg.base_url ?? env.OPENAI_BASE_URL;
      if (!base) throw new ProviderConfigError('the openai-compatible provider needs base_url (or OPENAI_BASE_URL in the worker\'s environment), e.g. http://localhost:8000/v1');
      return new OpenAiProvider('openai-compatible', cfg.model, env.OPENAI_API_KEY ?? 'not-needed', base, timeout);
    }
    case 'local':
      return new OpenAiProvider('local', cfg.model, 'not-needed', cfg.base_url ?? env.GEPA_RL_LOCAL_LM_URL ?? DEFAULT_LOCAL_LM_URL, timeout);
    case 'anthropic':
      return new AnthropicProvider(cfg.model, requireKey(env, 'ANTHROPIC_API_KEY', 'anthropic'), cfg.base_url ?? env.ANTHROPIC_BASE_URL, timeout);
    case 'scripted':
      return new ScriptedProvider(cfg.model);
    default:
      throw new ProviderConfigError(`unknown provider ${JSON.stringify((cfg as ProviderConfig).provider)} (expected openai, anthropic, openai-compatible, local)`);
  }
}

/**
 * createProvider for activities: a config error becomes a non-retryable ApplicationFailure of type
 * PROVIDER_CONFIG_FAILURE naming what is missing, instead of a plain Error Temporal would retry.
 */
export function providerForActivity(cfg: ProviderConfig, env: NodeJS.ProcessEnv = process.env): LlmProvider {
  try {
    return createProvider(cfg, env);
  } catch (e) {
    throw toActivityFailure(e);
  }
}

export interface ErrorClass {
  retryable: boolean;
  /** the provider could not be built (missing key / base URL ...), not an error of a call */
  config?: boolean;
  retryAfterMs?: number;
  status?: number;
  message: string;
}

function retryAfterMs(headers: unknown): number | undefined {
  const get = (k: string): string | null | undefined => {
    if (!headers) return undefined;
    if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(k);
    return (headers as Record<string, string>)[k];
  };
  const ms = get('retry-after-ms');
  if (ms && !Number.isNaN(Number(ms))) return Number(ms);
  const ra = get('retry-after');
  if (!ra) return undefined;
  if (!Number.isNaN(Number(ra))) return Number(ra) * 1000;
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** 429, 5xx and network errors are retryable (honouring retry-after); other 4xx are not. */
export function classifyProviderError(err: unknown): ErrorClass {
  const e = err as { status?: number; headers?: unknown; message?: string; name?: string };
  const message = String(e?.message ?? err);
  if (err instanceof ProviderConfigError) return { retryable: false, config: true, message };
  const status = typeof e?.status === 'number' ? e.status : undefined;
  if (status === undefined) return { retryable: true, message };
  if (status === 429 || status >= 500) return { retryable: true, status, retryAfterMs: retryAfterMs(e.headers), message };
  // a bad key (401), no access (403) or an unknown model (404) fails every later call the same way:
  // a configuration error, so a run stops at once instead of spending its budget on rejected calls
  if (status === 401 || status === 403 || status === 404) return { retryable: false, config: true, status, message };
  return { retryable: false, status, message };
}

export function toActivityFailure(err: unknown): ApplicationFailure {
  const c = classifyProviderError(err);
  return ApplicationFailure.create({
    type: c.config ? PROVIDER_CONFIG_FAILURE : c.status ? `ProviderHttp${c.status}` : 'ProviderError',
    message: c.status ? `provider returned ${c.status}: ${c.message}` : c.message,
    nonRetryable: !c.retryable,
    nextRetryDelay: c.retryAfterMs !== undefined ? Math.max(1, Math.round(c.retryAfterMs)) : undefined,
  });
}
