/** The one provider interface (DESIGN §4.4): messages in; texts, finish reasons, usage and cost out. */
import type { ChatMessage } from '../types';
import type { ProviderName } from '../constants';

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
  /** A GBNF grammar (llama.cpp's) the reply must follow (only where `supportsGrammar`; with a prefill, it constrains the continuation). */
  grammar?: string;
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
  /** the local server constrains a reply with a GBNF grammar (other providers are never sent one) */
  readonly supportsGrammar: boolean;
  complete(req: CompletionRequest): Promise<Completion>;
}
