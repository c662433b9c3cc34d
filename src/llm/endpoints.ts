/**
 * Where each real provider is reached and with which key, from its config and the worker's
 * environment: one rule for the completion providers (./create.ts) and the tool-calling ones
 * (./tools.ts). Keys are read here and nowhere else; they never enter inputs, messages or results.
 */
import { DEFAULT_LOCAL_LM_URL, PROVIDERS } from '../constants';
import { MissingKeyError, ProviderConfigError } from './errors';
import type { ProviderConfig } from './types';

export interface Endpoint {
  /** the base URL handed to the SDK client (undefined: the SDK's default) */
  baseURL: string | undefined;
  /** the endpoint as said in failure messages */
  url: string;
  apiKey: string;
  /** the environment variable the key comes from (none for the local server) */
  keyEnv?: string;
}

/** What a missing key or base URL is needed for, said at the end of the error. */
export interface EndpointUse {
  /** after "…needs it in the worker's environment" */
  keyNeededFor: string;
  /** after the openai-compatible base URL example */
  compatibleServerNote?: string;
}

function requireKey(env: NodeJS.ProcessEnv, name: string, provider: string, use: EndpointUse): string {
  const v = env[name];
  if (!v) throw new MissingKeyError(`${name} is not set; the ${provider} provider needs it in the worker's environment${use.keyNeededFor}`);
  return v;
}

export function unknownProviderError(provider: unknown, what = ''): ProviderConfigError {
  return new ProviderConfigError(`unknown provider ${JSON.stringify(provider)}${what} (expected ${PROVIDERS.join(', ')})`);
}

/** The endpoint of an openai, openai-compatible, local or anthropic provider (not the scripted stand-in). */
export function endpointFor(cfg: ProviderConfig, env: NodeJS.ProcessEnv, use: EndpointUse): Endpoint {
  switch (cfg.provider) {
    case 'openai': {
      const base = cfg.base_url ?? env.OPENAI_BASE_URL;
      return { baseURL: base, url: base ?? 'https://api.openai.com/v1', apiKey: requireKey(env, 'OPENAI_API_KEY', 'openai', use), keyEnv: 'OPENAI_API_KEY' };
    }
    case 'openai-compatible': {
      const base = cfg.base_url ?? env.OPENAI_BASE_URL;
      if (!base) throw new ProviderConfigError(`the openai-compatible provider needs base_url (or OPENAI_BASE_URL in the worker's environment), e.g. http://localhost:8000/v1${use.compatibleServerNote ?? ''}`);
      return { baseURL: base, url: base, apiKey: env.OPENAI_API_KEY ?? 'not-needed', keyEnv: 'OPENAI_API_KEY' };
    }
    case 'local': {
      const base = cfg.base_url ?? env.GEPA_RL_LOCAL_LM_URL ?? DEFAULT_LOCAL_LM_URL;
      return { baseURL: base, url: base, apiKey: 'not-needed' };
    }
    case 'anthropic': {
      const base = cfg.base_url ?? env.ANTHROPIC_BASE_URL;
      return { baseURL: base, url: base ?? 'https://api.anthropic.com', apiKey: requireKey(env, 'ANTHROPIC_API_KEY', 'anthropic', use), keyEnv: 'ANTHROPIC_API_KEY' };
    }
    default:
      throw unknownProviderError(cfg.provider);
  }
}
