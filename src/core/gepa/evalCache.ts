/**
 * The evaluation cache (gepa.cache_evaluation, as gepa-ai/gepa's `cache_evaluation`): a val score
 * of a candidate text already measured is not sampled or paid again. Only for a deterministic
 * policy (temperature 0), where sampling the same prompt again gives the same reply; on by default
 * there, refused above it. As the reference, it serves val-set evaluations only (a merge's
 * subsample, an accepted child's val set, a candidate whose text was scored before); the reflective
 * minibatches are always sampled, since the reflector reads their traces. Keys: the rendered system
 * prompt's hash and the val row; values: the row's score (the mean over its rollouts).
 */
export type EvalCache = Record<string, Record<string, number>>;

/** Whether the run caches: the setting when given, else on exactly at temperature 0. On above 0 is refused. */
export function evalCacheEnabled(setting: boolean | undefined, temperature: number): boolean {
  if (setting === true && temperature > 0) {
    throw new Error(
      `gepa.cache_evaluation=true needs a deterministic policy (policy.temperature=0; got ${temperature}): a sampled reply differs from one draw to the next, so a cached score would stand in for a draw never made. Set policy.temperature=0 or leave gepa.cache_evaluation unset`,
    );
  }
  return setting ?? temperature === 0;
}

/** A 53-bit hash of the prompt text (cyrb53), with its length: a key that needs no crypto in the workflow sandbox. */
export function promptKey(text: string): string {
  let h1 = 0xdeadbeef ^ 0;
  let h2 = 0x41c6ce57 ^ 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `${(4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36)}.${text.length}`;
}

/** The rows of `indices` still to sample (in order), and the cached score of each row (null: not cached). */
export function lookupCached(cache: EvalCache, key: string, indices: readonly number[]): { cached: Array<number | null>; missing: number[] } {
  const entry = cache[key] ?? {};
  const cached = indices.map((i) => (String(i) in entry ? entry[String(i)] : null));
  return { cached, missing: indices.filter((_, j) => cached[j] === null) };
}

/** Every row's score: cached ones where there are, the sampled ones (for `missing`, in order) elsewhere. */
export function fillScores(cached: ReadonlyArray<number | null>, sampled: readonly number[]): number[] {
  let k = 0;
  const out = cached.map((c) => (c === null ? sampled[k++] : c));
  if (k !== sampled.length) throw new Error(`the cache had ${cached.length - k} of ${cached.length} rows, so ${k} sampled scores were expected; got ${sampled.length}`);
  return out;
}

export function storeScores(cache: EvalCache, key: string, indices: readonly number[], scores: readonly number[]): void {
  if (indices.length !== scores.length) throw new Error(`storing ${indices.length} rows needs as many scores; got ${scores.length}`);
  const entry = (cache[key] ??= {});
  indices.forEach((i, j) => (entry[String(i)] = scores[j]));
}
