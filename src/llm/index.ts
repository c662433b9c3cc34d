/**
 * LLM providers for reflection, teacher hints and API-model sampling (DESIGN §4.4): openai,
 * anthropic, openai-compatible and local (the trainer package's OpenAI-compatible server), all
 * through the official clients. Temporal owns retries: the SDKs' own retries are off, 429/5xx are
 * retryable honouring retry-after, other 4xx are not. Keys come from the worker's environment only
 * and never appear in messages or results.
 *
 * The public entry; one file per job:
 *   providers.ts   the provider names (PROVIDERS), used by the config schemas
 *   types.ts       the provider interface (requests, completions)
 *   endpoints.ts   each provider's base URL and key, from config and environment
 *   openai.ts      the Chat Completions client (openai, openai-compatible, local)
 *   anthropic.ts   the Messages client and its sampling-parameter rule
 *   prices.ts      cost per call
 *   describeFailure.ts  a failed call said for its user
 *   classify.ts    retryable or not, and the activity failure
 *   errors.ts      the error classes workflows recognise (no SDK imports)
 *   create.ts      the dispatch (createProvider, providerForActivity; provider=scripted is
 *                  registered by test code, test/helpers/scriptedProviders.ts)
 *   tools.ts       tool calling; usage.ts per-text token counts; localServer.ts the local server
 */
export { PROVIDERS, type ProviderName } from '../constants';
export type { Completion, CompletionRequest, LlmProvider, ProviderConfig } from './types';
export { MissingKeyError, PROVIDER_BAD_RESPONSE_FAILURE, PROVIDER_CONFIG_FAILURE, ProviderConfigError } from './errors';
export { estimateCost } from './prices';
export { anthropicSampling } from './anthropic';
export { classifyProviderError, toActivityFailure, type ErrorClass } from './classify';
export { createProvider, providerForActivity } from './create';
