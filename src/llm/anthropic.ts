/** The Anthropic Messages provider: one call per sample (the API has no `n`), system as a top-level field. */
import type Anthropic from '@anthropic-ai/sdk';
import { anthropicClient } from './clients';
import { ProviderConfigError, ProviderResponseError, replyExcerpt } from './errors';
import { estimateCost } from './prices';
import type { Completion, CompletionRequest, LlmProvider } from './types';

/**
 * Anthropic's sampling parameters: its current models take temperature or top_p, not both (a 400
 * "cannot both be specified for this model"; the docs: alter one, not both). A top_p of 1 and a
 * temperature of 1 are Anthropic's defaults, so the one left at its default is not sent; changing
 * both is refused before any call, saying which to reset.
 */
export function anthropicSampling(req: Pick<CompletionRequest, 'temperature' | 'top_p'>): { temperature?: number; top_p?: number } {
  const topP = req.top_p !== undefined && req.top_p < 1 ? req.top_p : undefined;
  if (topP === undefined) return req.temperature === undefined ? {} : { temperature: req.temperature };
  if (req.temperature === undefined || req.temperature === 1) return { top_p: topP };
  throw new ProviderConfigError(
    `the anthropic provider takes temperature or top_p, not both (got temperature=${req.temperature}, top_p=${req.top_p}); set top_p=1 to sample at that temperature, or temperature=1 for nucleus sampling`,
  );
}

export class AnthropicProvider implements LlmProvider {
  readonly name = 'anthropic' as const;
  readonly supportsPrefill = false;
  readonly supportsGrammar = false;
  private client: Anthropic;
  constructor(
    readonly model: string,
    apiKey: string,
    baseURL: string | undefined,
    timeout: number,
  ) {
    this.client = anthropicClient(apiKey, baseURL, timeout);
  }
  async complete(req: CompletionRequest): Promise<Completion> {
    const t0 = Date.now();
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    const messages = req.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content }));
    const texts: string[] = [];
    const finish: string[] = [];
    const perText: number[] = [];
    const usage = { prompt_tokens: 0, completion_tokens: 0 };
    const sampling = anthropicSampling(req);
    for (let i = 0; i < (req.n ?? 1); i++) {
      const res = anthropicMessageOrThrow(
        await this.client.messages.create({
          model: this.model,
          system: system || undefined,
          messages,
          max_tokens: req.max_tokens ?? 1024,
          stop_sequences: req.stop,
          ...sampling,
        }),
      );
      texts.push(res.content.map((b) => (b.type === 'text' ? b.text : '')).join(''));
      finish.push(res.stop_reason === 'max_tokens' ? 'length' : 'stop');
      usage.prompt_tokens += res.usage.input_tokens;
      usage.completion_tokens += res.usage.output_tokens;
      perText.push(res.usage.output_tokens);
    }
    return { texts, finish_reasons: finish, usage, completion_tokens_per_text: perText, cost_usd: estimateCost(this.model, usage), model: this.model, latency_ms: Date.now() - t0 };
  }
}

/** A 200 reply that is an Anthropic message (a content list and usage; an empty content list is a valid empty reply). */
function anthropicMessageOrThrow(res: Anthropic.Message): Anthropic.Message {
  const r = res as unknown as { content?: unknown; usage?: unknown } | null;
  if (typeof r !== 'object' || !Array.isArray(r?.content) || typeof r?.usage !== 'object' || r.usage === null) {
    throw new ProviderResponseError(`expected an Anthropic message (a JSON object with content and usage), got ${replyExcerpt(res)}`);
  }
  return res;
}
