/** The dispatch: a provider built from its config and the worker's environment. */
import { AnthropicProvider } from './anthropic';
import { toActivityFailure } from './classify';
import { withDescribedFailures } from './describeFailure';
import { endpointFor } from './endpoints';
import { ProviderConfigError, scriptedNotRegistered } from './errors';
import { OpenAiProvider } from './openai';
import type { LlmProvider, ProviderConfig } from './types';

/** GEPA_RL_LLM_TIMEOUT_S: how long one provider call may wait for its reply (the worker's environment). */
function envTimeoutMs(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.GEPA_RL_LLM_TIMEOUT_S;
  if (raw === undefined || raw === '') return undefined;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0) throw new ProviderConfigError(`GEPA_RL_LLM_TIMEOUT_S must be a positive number of seconds (got ${JSON.stringify(raw)}); unset it for the defaults (120 s, 280 s for provider=local)`);
  return s * 1000;
}

/** provider=scripted's factory: registered by test code only (test/helpers/scriptedProviders.ts). */
let scriptedFactory: ((model: string) => LlmProvider) | null = null;
export function registerScriptedProvider(factory: (model: string) => LlmProvider): void {
  scriptedFactory = factory;
}

export function createProvider(cfg: ProviderConfig, env: NodeJS.ProcessEnv = process.env): LlmProvider {
  // A local model on CPU is slow, not unreachable; two calls (a reply and its fence repair) must
  // still fit in the activity's 10 minutes.
  const timeout = cfg.timeout_ms ?? envTimeoutMs(env) ?? (cfg.provider === 'local' ? 280_000 : 120_000);
  if (cfg.provider === 'scripted') {
    if (!scriptedFactory) throw scriptedNotRegistered('completion');
    return scriptedFactory(cfg.model);
  }
  const ep = endpointFor(cfg, env, { keyNeededFor: ' (or use provider=local)' });
  const provider = cfg.provider === 'anthropic' ? new AnthropicProvider(cfg.model, ep.apiKey, ep.baseURL, timeout) : new OpenAiProvider(cfg.provider, cfg.model, ep.apiKey, ep.baseURL, timeout);
  return withDescribedFailures(provider, { provider: cfg.provider, model: cfg.model, url: ep.url, keyEnv: ep.keyEnv, timeoutMs: timeout });
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
