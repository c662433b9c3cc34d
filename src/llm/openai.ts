/**
 * The OpenAI Chat Completions client behind three providers: `openai`, `openai-compatible` (vLLM,
 * SGLang, Ollama, llama.cpp …) and `local` (the project's server, src/llm/localServer.ts), which
 * differ only in their endpoint (./endpoints.ts); `local` alone continues a prefilled reply and
 * takes a GBNF grammar.
 */
import type OpenAI from 'openai';
import { openAiClient } from './clients';
import { ProviderResponseError, replyExcerpt } from './errors';
import { estimateCost } from './prices';
import type { Completion, CompletionRequest, LlmProvider } from './types';

export class OpenAiProvider implements LlmProvider {
  private client: OpenAI;
  constructor(
    readonly name: 'openai' | 'openai-compatible' | 'local',
    readonly model: string,
    apiKey: string,
    baseURL: string | undefined,
    timeout: number,
  ) {
    this.client = openAiClient(apiKey, baseURL, timeout);
  }
  get supportsPrefill(): boolean {
    return this.name === 'local';
  }
  /** the project's server takes llama.cpp's `grammar` field; an arbitrary OpenAI-compatible server may not */
  get supportsGrammar(): boolean {
    return this.name === 'local';
  }
  async complete(req: CompletionRequest): Promise<Completion> {
    const t0 = Date.now();
    const prefill = this.supportsPrefill && req.prefill ? req.prefill : '';
    const body = {
      model: this.model,
      messages: prefill ? [...req.messages, { role: 'assistant' as const, content: prefill }] : req.messages,
      max_tokens: req.max_tokens,
      temperature: req.temperature,
      top_p: req.top_p,
      n: req.n,
      seed: req.seed,
      stop: req.stop,
      // the local server's (and vLLM's) switch: a stop string that ended the reply stays in it
      ...(prefill ? { include_stop_str_in_output: true } : {}),
      ...(this.supportsGrammar && req.grammar ? { grammar: req.grammar } : {}),
    };
    const res = chatCompletionOrThrow(await this.client.chat.completions.create(body as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming));
    const usage = { prompt_tokens: res.usage?.prompt_tokens ?? 0, completion_tokens: res.usage?.completion_tokens ?? 0 };
    return {
      texts: res.choices.map((c) => prefill + (c.message?.content ?? '')),
      finish_reasons: res.choices.map((c) => c.finish_reason ?? 'stop'),
      usage,
      // the chat completions API counts tokens per response, not per choice: exact for one choice
      completion_tokens_per_text: res.choices.length === 1 && res.usage ? [res.usage.completion_tokens] : undefined,
      cost_usd: this.name === 'local' ? null : estimateCost(this.model, usage),
      model: res.model ?? this.model,
      latency_ms: Date.now() - t0,
    };
  }
}

/** A 200 reply that is a chat completion with at least one choice (an HTML page or `[]` choices is not). */
function chatCompletionOrThrow(res: unknown): OpenAI.Chat.ChatCompletion {
  const choices = (res as { choices?: unknown } | null)?.choices;
  if (typeof res !== 'object' || !Array.isArray(choices) || choices.some((c) => !c || typeof c !== 'object')) {
    throw new ProviderResponseError(`expected a chat completion (a JSON object with a choices list), got ${replyExcerpt(res)}`);
  }
  if (choices.length === 0) throw new ProviderResponseError('a chat completion with an empty choices list');
  return res as OpenAI.Chat.ChatCompletion;
}
