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

/** The ApplicationFailure type of a provider config error (workflows match on it). */
export const PROVIDER_CONFIG_FAILURE = FAILURE.ProviderConfig;
