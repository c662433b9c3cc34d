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
import { PROVIDER_BAD_RESPONSE_FAILURE, PROVIDER_CONFIG_FAILURE, ProviderCallError, ProviderConfigError, ProviderResponseError } from './errors';

export { PROVIDER_BAD_RESPONSE_FAILURE, PROVIDER_CONFIG_FAILURE, ProviderConfigError };

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
  /** completion tokens of each text, where the provider counts them per completion (see src/llm/usage.ts) */
  completion_tokens_per_text?: number[];
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
    const res = chatCompletionOrThrow(await this.client.chat.completions.create(body as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming));
    const usage = { prompt_tokens: res.usage?.prompt_tokens ?? 0, completion_tokens: res.usage?.completion_tokens ?? 0 };
    return {
      texts: res.choices.map((c) => prefill + (c.message?.content ?? '')),
      finish_reasons: res.choices.map((c) => c.finish_reason ?? 'stop'),
      usage,
      // the chat completions API counts tokens per response, not per choice: exact for one choice
      completion_tokens_per_text: res.choices.length === 1 && res.usage ? [res.usage.completion_tokens] : undefined,
      cost_usd: this.name === 'local' ? null : estimateCost(this.model, usage),
      model: res.model ?? this.model,
      latency_ms: Date.now() - t0,
    };
  }
}

/**
 * Anthropic's sampling parameters: its current models take temperature or top_p, not both (a 400
 * "cannot both be specified for this model"; the docs: alter one, not both). A top_p of 1 and a
 * temperature of 1 are Anthropic's defaults, so the one left at its default is not sent; changing
 * both is refused before any call, saying which to reset.
 */
export function anthropicSampling(req: Pick<CompletionRequest, 'temperature' | 'top_p'>): { temperature?: number; top_p?: number } {
  const topP = req.top_p !== undefined && req.top_p < 1 ? req.top_p : undefined;
  if (topP === undefined) return req.temperature === undefined ? {} : { temperature: req.temperature };
  if (req.temperature === undefined || req.temperature === 1) return { top_p: topP };
  throw new ProviderConfigError(
    `the anthropic provider takes temperature or top_p, not both (got temperature=${req.temperature}, top_p=${req.top_p}); set top_p=1 to sample at that temperature, or temperature=1 for nucleus sampling`,
  );
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
    const perText: number[] = [];
    const usage = { prompt_tokens: 0, completion_tokens: 0 };
    const sampling = anthropicSampling(req);
    for (let i = 0; i < (req.n ?? 1); i++) {
      const res = anthropicMessageOrThrow(
        await this.client.messages.create({
          model: this.model,
          system: system || undefined,
          messages,
          max_tokens: req.max_tokens ?? 1024,
          stop_sequences: req.stop,
          ...sampling,
        }),
      );
      texts.push(res.content.map((b) => (b.type === 'text' ? b.text : '')).join(''));
      finish.push(res.stop_reason === 'max_tokens' ? 'length' : 'stop');
      usage.prompt_tokens += res.usage.input_tokens;
      usage.completion_tokens += res.usage.output_tokens;
      perText.push(res.usage.output_tokens);
    }
    return { texts, finish_reasons: finish, usage, completion_tokens_per_text: perText, cost_usd: estimateCost(this.model, usage), model: this.model, latency_ms: Date.now() - t0 };
  }
}

function excerpt(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body) ?? String(body);
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
}

/** A 200 reply that is a chat completion with at least one choice (an HTML page or `[]` choices is not). */
function chatCompletionOrThrow(res: unknown): OpenAI.Chat.ChatCompletion {
  const choices = (res as { choices?: unknown } | null)?.choices;
  if (typeof res !== 'object' || !Array.isArray(choices) || choices.some((c) => !c || typeof c !== 'object')) {
    throw new ProviderResponseError(`expected a chat completion (a JSON object with a choices list), got ${excerpt(res)}`);
  }
  if (choices.length === 0) throw new ProviderResponseError('a chat completion with an empty choices list');
  return res as OpenAI.Chat.ChatCompletion;
}

/** A 200 reply that is an Anthropic message (a content list and usage; an empty content list is a valid empty reply). */
function anthropicMessageOrThrow(res: Anthropic.Message): Anthropic.Message {
  const r = res as unknown as { content?: unknown; usage?: unknown } | null;
  if (typeof r !== 'object' || !Array.isArray(r?.content) || typeof r?.usage !== 'object' || r.usage === null) {
    throw new ProviderResponseError(`expected an Anthropic message (a JSON object with content and usage), got ${excerpt(res)}`);
  }
  return res;
}

interface CallContext {
  provider: ProviderName;
  model: string;
  url: string;
  /** the environment variable the key comes from (none for the local server) */
  keyEnv?: string;
  timeoutMs: number;
}

/** What to change when a provider rejects the key (401), the access (403) or the model (404). */
function fixFor(status: number, ctx: CallContext): string | undefined {
  if (status === 401) {
    return ctx.keyEnv
      ? `the key was rejected: set a valid ${ctx.keyEnv} in the TS worker's environment and restart the worker`
      : `the server asks for an API key, which provider=${ctx.provider} never sends: use provider=openai-compatible with OPENAI_API_KEY set in the TS worker's environment`;
  }
  if (status === 403) return `the key${ctx.keyEnv ? ` in ${ctx.keyEnv}` : ''} may not use model ${JSON.stringify(ctx.model)} or this endpoint: use a key whose account has access to it, or another model`;
  if (status === 404) return `there is no model ${JSON.stringify(ctx.model)} or no such endpoint under ${ctx.url}: check the model name and base_url`;
  return undefined;
}

function causeChain(e: unknown): string {
  const parts: string[] = [];
  for (let c = (e as { cause?: unknown })?.cause, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    const { code, message } = c as { code?: string; message?: string };
    const part = [code, message].filter(Boolean).join(' ');
    if (part && part !== '{}') parts.push(part);
  }
  return parts.length ? ` (${parts.join(': ')})` : '';
}

/**
 * A failed call said for its user: the provider, model and endpoint, what came back (a status, a
 * malformed reply, no reply in time, no connection) and, for a rejected key or model, the fix.
 */
function describeCallFailure(e: unknown, ctx: CallContext, elapsedMs: number): unknown {
  if (e instanceof ProviderConfigError || e instanceof ProviderCallError) return e;
  const who = `the ${ctx.provider} provider (model ${JSON.stringify(ctx.model)} at ${ctx.url})`;
  const err = e as { status?: unknown; headers?: unknown; message?: string; name?: string };
  if (e instanceof ProviderResponseError) return new ProviderCallError(`${who} sent a malformed reply: ${e.message}`, undefined, undefined, true);
  // the SDKs parse a body declared as JSON themselves: a SyntaxError (of whichever realm parsed it) is that body
  if (err?.name === 'SyntaxError') return new ProviderCallError(`${who} sent a reply whose body is not JSON (${err.message})`, undefined, undefined, true);
  if (typeof err?.status === 'number') {
    const fix = fixFor(err.status, ctx);
    // the API's own error message where its body has one (Anthropic's SDK puts the whole body in `message`)
    const body = (e as { error?: { error?: { message?: unknown }; message?: unknown } }).error;
    const apiMessage = body?.error?.message ?? body?.message;
    const said = typeof apiMessage === 'string' ? `${err.status} ${apiMessage}` : (err.message ?? String(err.status));
    return new ProviderCallError(`${who} answered ${said}${fix ? `; ${fix}` : ''}`, err.status, err.headers, false);
  }
  if (e instanceof OpenAI.APIConnectionError || e instanceof Anthropic.APIConnectionError) {
    const timedOut = /timeout/i.test(err.name ?? '') || (e as object).constructor.name.includes('Timeout') || elapsedMs >= ctx.timeoutMs;
    return new ProviderCallError(
      timedOut
        ? `${who} did not answer within ${ctx.timeoutMs / 1000} s (GEPA_RL_LLM_TIMEOUT_S in the TS worker's environment sets how long to wait)`
        : `${who} could not be reached: ${err.message}${causeChain(e)}`,
      undefined,
      undefined,
      false,
    );
  }
  return e;
}

/**
 * The provider with its call failures described (describeCallFailure); every other member is the
 * provider's own (the prototype), so members added to LlmProvider pass through unchanged.
 */
function withDescribedFailures<P extends LlmProvider>(p: P, ctx: CallContext): P {
  const described = Object.create(p) as P;
  described.complete = async (req: CompletionRequest) => {
    const t0 = Date.now();
    try {
      return await p.complete(req);
    } catch (e) {
      throw describeCallFailure(e, ctx, Date.now() - t0);
    }
  };
  return described;
}

/** GEPA_RL_LLM_TIMEOUT_S: how long one provider call may wait for its reply (the worker's environment). */
function envTimeoutMs(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.GEPA_RL_LLM_TIMEOUT_S;
  if (raw === undefined || raw === '') return undefined;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0) throw new ProviderConfigError(`GEPA_RL_LLM_TIMEOUT_S must be a positive number of seconds (got ${JSON.stringify(raw)}); unset it for the defaults (120 s, 280 s for provider=local)`);
  return s * 1000;
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
    const perText = texts.map((t) => Math.ceil(t.length / 4));
    const usage = { prompt_tokens: Math.ceil(chars / 4) * texts.length, completion_tokens: perText.reduce((a, b) => a + b, 0) };
    return { texts, finish_reasons: replies.map((r) => r.finish_reason), usage, completion_tokens_per_text: perText, cost_usd: estimateCost(this.model, usage), model: this.model, latency_ms: 0 };
  }
}

export function createProvider(cfg: ProviderConfig, env: NodeJS.ProcessEnv = process.env): LlmProvider {
  // A local model on CPU is slow, not unreachable; two calls (a reply and its fence repair) must
  // still fit in the activity's 10 minutes.
  const timeout = cfg.timeout_ms ?? envTimeoutMs(env) ?? (cfg.provider === 'local' ? 280_000 : 120_000);
  const described = <P extends LlmProvider>(p: P, url: string, keyEnv?: string) => withDescribedFailures(p, { provider: cfg.provider, model: cfg.model, url, keyEnv, timeoutMs: timeout });
  switch (cfg.provider) {
    case 'openai': {
      const base = cfg.base_url ?? env.OPENAI_BASE_URL;
      return described(new OpenAiProvider('openai', cfg.model, requireKey(env, 'OPENAI_API_KEY', 'openai'), base, timeout), base ?? 'https://api.openai.com/v1', 'OPENAI_API_KEY');
    }
    case 'openai-compatible': {
      const base = cfg.base_url ?? env.OPENAI_BASE_URL;
      if (!base) throw new ProviderConfigError('the openai-compatible provider needs base_url (or OPENAI_BASE_URL in the worker\'s environment), e.g. http://localhost:8000/v1');
      return described(new OpenAiProvider('openai-compatible', cfg.model, env.OPENAI_API_KEY ?? 'not-needed', base, timeout), base, 'OPENAI_API_KEY');
    }
    case 'local': {
      const base = cfg.base_url ?? env.GEPA_RL_LOCAL_LM_URL ?? DEFAULT_LOCAL_LM_URL;
      return described(new OpenAiProvider('local', cfg.model, 'not-needed', base, timeout), base);
    }
    case 'anthropic': {
      const base = cfg.base_url ?? env.ANTHROPIC_BASE_URL;
      return described(new AnthropicProvider(cfg.model, requireKey(env, 'ANTHROPIC_API_KEY', 'anthropic'), base, timeout), base ?? 'https://api.anthropic.com', 'ANTHROPIC_API_KEY');
    }
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
  /** a reply that is not what the API promises (not JSON, no choices) */
  badResponse?: boolean;
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

/** 429, 5xx, network errors and malformed replies are retryable (honouring retry-after); other 4xx are not. */
export function classifyProviderError(err: unknown): ErrorClass {
  const e = err as { status?: number; headers?: unknown; message?: string; name?: string };
  const message = String(e?.message ?? err);
  if (err instanceof ProviderConfigError) return { retryable: false, config: true, message };
  if (err instanceof ProviderResponseError || (err instanceof ProviderCallError && err.badResponse)) return { retryable: true, badResponse: true, message };
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
    type: c.config ? PROVIDER_CONFIG_FAILURE : c.badResponse ? PROVIDER_BAD_RESPONSE_FAILURE : c.status ? `ProviderHttp${c.status}` : 'ProviderError',
    // a described call failure names the provider and its status already
    message: c.status && !(err instanceof ProviderCallError) ? `provider returned ${c.status}: ${c.message}` : c.message,
    nonRetryable: !c.retryable,
    nextRetryDelay: c.retryAfterMs !== undefined ? Math.max(1, Math.round(c.retryAfterMs)) : undefined,
  });
}
