/**
 * Provider errors that workflows need to recognise. No imports but the failure names, so workflow
 * code can use it without pulling the SDK clients into the workflow bundle.
 */
import { FAILURE } from '../failures';

/**
 * A provider that cannot be built from its config (a missing key or base URL, an unknown provider,
 * an unregistered scripted model). Never retried: no retry can fix the worker's environment.
 */
export class ProviderConfigError extends Error {
  override name = 'ProviderConfigError';
}

/**
 * provider=scripted where no test registered it: the stand-in for paid APIs lives in test code
 * (test/helpers/scriptedProviders.ts), so a user's worker never builds it.
 */
export function scriptedNotRegistered(kind: 'completion' | 'tool-calling'): ProviderConfigError {
  return new ProviderConfigError(
    `provider=scripted is the test suite's stand-in for paid APIs; test code registers it (no ${kind} stand-in is registered in this process). Use provider=openai, anthropic, openai-compatible or local`,
  );
}

/** A provider whose API key is not in the worker's environment. */
export class MissingKeyError extends ProviderConfigError {
  override name = 'MissingKeyError';
}

/** The ApplicationFailure type of a provider config error (workflows match on it). */
export const PROVIDER_CONFIG_FAILURE = FAILURE.ProviderConfig;

/**
 * A provider reply that is not what its API promises (a body that is not JSON, an HTML page from a
 * proxy, a chat completion without choices). Retryable: such replies come from a gateway or an
 * overloaded server far more often than from a model that will always answer so.
 */
export class ProviderResponseError extends Error {
  override name = 'ProviderResponseError';
}

/** At most 200 characters of a reply, quoted, for the message of a ProviderResponseError. */
export function replyExcerpt(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body) ?? String(body);
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
}

/** The ApplicationFailure type of a malformed provider reply. */
export const PROVIDER_BAD_RESPONSE_FAILURE = FAILURE.ProviderBadResponse;

/**
 * A failed provider call described for its user: which provider, model and endpoint, what came back,
 * and, for a rejected key or model, what to change. Keeps the HTTP status and headers (retry-after).
 */
export class ProviderCallError extends Error {
  override name = 'ProviderCallError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly headers: unknown,
    readonly badResponse: boolean,
  ) {
    super(message);
  }
}
