/**
 * The project's two seeded PRNGs, each written once. `createRng`/`nextFloat`: a PRNG whose whole state is plain JSON (sfc32 seeded through splitmix32), so workflow
 * state carries it across continue-as-new and replay: a resumed run continues the same sequence.
 */
export interface RngState {
  s: [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function createRng(seed: number): RngState {
  const next = splitmix32(seed);
  const st: RngState = { s: [next(), next(), next(), next()] };
  for (let i = 0; i < 12; i++) nextFloat(st); // discard the warm-up outputs
  return st;
}

/** Uniform in [0, 1). Advances `st` in place. */
export function nextFloat(st: RngState): number {
  let [a, b, c, d] = st.s;
  const t = (((a + b) >>> 0) + d) >>> 0;
  d = (d + 1) >>> 0;
  a = b ^ (b >>> 9);
  b = (c + (c << 3)) >>> 0;
  c = ((c << 21) | (c >>> 11)) >>> 0;
  c = (c + t) >>> 0;
  st.s = [a >>> 0, b >>> 0, c, d];
  return t / 4294967296;
}

export function randInt(st: RngState, n: number): number {
  return Math.floor(nextFloat(st) * n);
}

export function shuffle<T>(st: RngState, xs: readonly T[]): T[] {
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randInt(st, i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Index i with probability weights[i] / sum(weights). */
export function weightedChoice(st: RngState, weights: readonly number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new Error(`weightedChoice needs a positive total weight (got ${total})`);
  let r = nextFloat(st) * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return weights.length - 1;
}

/**
 * mulberry32: a tiny stateless-to-the-caller stream for pure functions that draw a whole sequence at
 * once (dataset splits, generated problems, the train order). Not for workflow state (use createRng).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of a copy of `xs` with a mulberry32 stream of `seed`. */
export function seededShuffle<T>(xs: readonly T[], seed: number): T[] {
  const rand = mulberry32(seed);
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
