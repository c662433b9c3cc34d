/**
 * The LLM providers a config may name, written once: the config schemas build their enums from it
 * and the provider factories dispatch on it. No imports, so the config (and through it the workflow
 * bundle) can use it without pulling in the SDK clients.
 */
export const PROVIDERS = ['openai', 'anthropic', 'openai-compatible', 'local', 'scripted'] as const;

/** `scripted` is the in-process test stand-in for paid APIs (src/llm/scripted.ts), never a default. */
export type ProviderName = (typeof PROVIDERS)[number];
