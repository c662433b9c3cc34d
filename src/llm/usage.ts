/**
 * Token counts of the texts of one completion call, from the provider's own usage (never estimated
 * from characters): its per-completion counts where it reports them (Anthropic, one call each; an
 * OpenAI-style reply with one choice); else its total for the call, split over the texts in
 * proportion to their length (largest remainder, so the counts add up to the provider's total).
 */
import type { Completion } from './types';

export function completionTokensPerText(c: Pick<Completion, 'texts' | 'usage' | 'completion_tokens_per_text'>): number[] {
  const own = c.completion_tokens_per_text;
  if (own && own.length === c.texts.length) return [...own];
  const total = c.usage.completion_tokens;
  const n = c.texts.length;
  if (n === 0) return [];
  const chars = c.texts.map((t) => t.length);
  const sum = chars.reduce((a, b) => a + b, 0);
  const share = chars.map((k) => (sum > 0 ? (total * k) / sum : total / n));
  const out = share.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = share.map((s, i) => [s - Math.floor(s), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    out[i]++;
    left--;
  }
  return out;
}
