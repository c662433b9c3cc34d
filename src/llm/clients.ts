/**
 * The SDK clients every provider class uses (completion and tool-calling alike), built one way: the
 * SDK never retries on its own (maxRetries 0) — a failed call goes back to Temporal, whose retry
 * policy and the provider's Retry-After decide (./classify.ts) — and it waits at most `timeout` ms.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

export const openAiClient = (apiKey: string, baseURL: string | undefined, timeout: number): OpenAI => new OpenAI({ apiKey, baseURL, maxRetries: 0, timeout });

export const anthropicClient = (apiKey: string, baseURL: string | undefined, timeout: number): Anthropic => new Anthropic({ apiKey, baseURL, maxRetries: 0, timeout });
