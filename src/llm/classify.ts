/**
 * Failure classification: whether Temporal retries a provider error, after how long, and the
 * ApplicationFailure an activity raises for it (DESIGN §4.4).
 */
import { ApplicationFailure } from '@temporalio/common';
import { PROVIDER_BAD_RESPONSE_FAILURE, PROVIDER_CONFIG_FAILURE, ProviderCallError, ProviderConfigError, ProviderResponseError } from './errors';

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
