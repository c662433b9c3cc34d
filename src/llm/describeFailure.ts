/**
 * A failed provider call said for its user: the provider, model and endpoint, what came back (a
 * status, a malformed reply, no reply in time, no connection) and, for a rejected key or model,
 * the fix. Whether Temporal retries it is decided afterwards, by ./classify.ts.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { ProviderCallError, ProviderConfigError, ProviderResponseError } from './errors';
import type { ProviderName } from '../constants';
import type { CompletionRequest, LlmProvider } from './types';

export interface CallContext {
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
export function withDescribedFailures<P extends LlmProvider>(p: P, ctx: CallContext): P {
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
