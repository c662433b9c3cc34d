/** USD per 1M tokens [input, output]; unknown and local models cost null. */
const PRICES: Record<string, [number, number]> = {
  'gpt-4o': [2.5, 10],
  'gpt-4o-mini': [0.15, 0.6],
  'gpt-4.1': [2, 8],
  'gpt-4.1-mini': [0.4, 1.6],
  'gpt-5': [1.25, 10],
  'gpt-5-mini': [0.25, 2],
  'claude-sonnet-4-5': [3, 15],
  'claude-opus-4-1': [15, 75],
  'claude-haiku-4-5': [1, 5],
};

/** The price of a call by the longest priced name the model is (or starts with, as in `gpt-4o-2024-08-06`). */
export function estimateCost(model: string, usage: { prompt_tokens: number; completion_tokens: number }): number | null {
  const key = Object.keys(PRICES)
    .filter((k) => model === k || model.startsWith(`${k}-`))
    .sort((a, b) => b.length - a.length)[0];
  if (!key) return null;
  const [inp, out] = PRICES[key];
  return (usage.prompt_tokens * inp + usage.completion_tokens * out) / 1e6;
}
