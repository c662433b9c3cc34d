/**
 * The hint leak check (DESIGN §5): does a teacher's hint contain the final answer in any of its
 * numeric forms (0.5, 1/2, 50%, one half, ...), as a whole token? Pure.
 */

const SMALL = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const SCALES: Array<[number, string]> = [[1e9, 'billion'], [1e6, 'million'], [1e3, 'thousand']];
/** denominators 2..12 as fraction words: [singular, plural] ("one third", "two thirds") */
const PARTS: Record<number, string[][]> = {
  2: [['half', 'halves']],
  3: [['third', 'thirds']],
  4: [['quarter', 'quarters'], ['fourth', 'fourths']],
  5: [['fifth', 'fifths']],
  6: [['sixth', 'sixths']],
  7: [['seventh', 'sevenths']],
  8: [['eighth', 'eighths']],
  9: [['ninth', 'ninths']],
  10: [['tenth', 'tenths']],
  11: [['eleventh', 'elevenths']],
  12: [['twelfth', 'twelfths']],
};

/**
 * Normalise for matching: lower case, no LaTeX wrappers, single spaces, no thousands commas, no $;
 * decimals without trailing zeros or a bare leading point (0.50 and .5 are 0.5, 25.0 is 25);
 * "50 percent" is 50%; hyphens between words are spaces (twenty-five is twenty five).
 */
export function normalizeForLeak(s: string): string {
  return s
    .toLowerCase()
    .replace(/\\boxed\{([^}]*)\}/g, '$1')
    .replace(/\\[dt]?frac\{([^}]*)\}\{([^}]*)\}/g, '$1/$2')
    .replace(/\\left|\\right|\\!|\\,|\$/g, '')
    .replace(/(\d),(?=\d{3}\b)/g, '$1')
    .replace(/(^|[^\w.])\.(\d)/g, (_m, before: string, digit: string) => `${before}0.${digit}`)
    .replace(/(\d)\.(\d*?)0+(?!\d)/g, (_m, int: string, frac: string) => (frac ? `${int}.${frac}` : int))
    .replace(/(\d)\s*(%|percent\b|per cent\b)/g, '$1%')
    .replace(/(\d)\s*\/\s*(\d)/g, '$1/$2')
    .replace(/([a-z])-(?=[a-z])/g, '$1 ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** 0 <= n < 1000 in words, with and without "and" after the hundreds. */
function hundredsWords(n: number): string[] {
  const below100 = (k: number): string => (k < 20 ? SMALL[k] : TENS[Math.floor(k / 10)] + (k % 10 ? ` ${SMALL[k % 10]}` : ''));
  if (n < 100) return [below100(n)];
  const h = `${SMALL[Math.floor(n / 100)]} hundred`;
  return n % 100 ? [`${h} ${below100(n % 100)}`, `${h} and ${below100(n % 100)}`] : [h];
}

/** A non-negative integer below 10^12 in words: every variant with or without "and". */
export function integerWords(n: number): string[] {
  if (!Number.isInteger(n) || n < 0 || n >= 1e12) return [];
  if (n < 1000) return hundredsWords(n);
  for (const [scale, name] of SCALES) {
    if (n < scale) continue;
    const head = integerWords(Math.floor(n / scale)).map((w) => `${w} ${name}`);
    const rest = n % scale;
    if (!rest) return head;
    const tails = integerWords(rest);
    // "two thousand and twenty-four" as well as "two thousand twenty-four"
    return head.flatMap((h) => tails.flatMap((t) => (rest < 100 ? [`${h} ${t}`, `${h} and ${t}`] : [`${h} ${t}`])));
  }
  return [];
}

/** n/d (d 2..12, 0 < n < d) in words: "one half", "two thirds", "three quarters". */
function fractionWords(n: number, d: number): string[] {
  return (PARTS[d] ?? []).flatMap(([one, many]) => integerWords(n).map((w) => `${w} ${n === 1 ? one : many}`).concat(n === 1 ? [`a ${one}`] : []));
}

/**
 * The answer and its numeric forms: 0.5 <-> 1/2 <-> 50% <-> one half, 1000 <-> 1,000, integers in
 * words (twenty-five), simple fractions and mixed numbers in words (two thirds, one and a half).
 * Decimals with trailing zeros need no form of their own: the normaliser strips the zeros.
 */
export function numericForms(answer: string): string[] {
  const a = normalizeForLeak(answer);
  const forms = new Set<string>([a]);
  let value: number | null = null;
  const frac = /^(-?\d+)\/(\d+)$/.exec(a);
  if (frac && Number(frac[2]) !== 0) value = Number(frac[1]) / Number(frac[2]);
  else if (/^-?\d+(\.\d+)?%?$/.test(a)) value = Number(a.replace('%', '')) / (a.endsWith('%') ? 100 : 1);
  if (value !== null && Number.isFinite(value)) {
    const sign = value < 0 ? ['minus ', 'negative '] : [''];
    const abs = Math.abs(value);
    const words: string[] = [];
    forms.add(String(value));
    forms.add(`${+(value * 100).toFixed(6)}%`);
    if (Number.isInteger(value)) {
      forms.add(value.toLocaleString('en-US'));
      words.push(...integerWords(abs));
    } else {
      for (let d = 2; d <= 12; d++) {
        const n = value * d;
        if (Math.abs(n - Math.round(n)) < 1e-9) {
          forms.add(`${Math.round(n)}/${d}`);
          const whole = Math.floor(abs);
          const part = fractionWords(Math.round(abs * d) - whole * d, d);
          if (whole === 0) words.push(...part.filter((w) => !w.startsWith('a ')));
          else for (const w of integerWords(whole)) words.push(...part.map((p) => `${w} and ${p}`));
          break;
        }
      }
    }
    for (const s of sign) for (const w of words) forms.add(s + w);
  }
  return [...forms].filter((f) => f.length > 0);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Does the hint contain the final answer in any of its forms, as a whole token? */
export function hintLeaks(hint: string, answerForms: readonly string[]): { leaks: boolean; matched?: string } {
  const h = normalizeForLeak(hint);
  for (const f of answerForms) {
    const form = normalizeForLeak(f);
    if (!form) continue;
    // whole-token match: "12" does not match inside "123" or "1.25"
    const re = new RegExp(`(^|[^\\w.])${escapeRe(form)}(?![\\w]|\\.\\d)`, 'i');
    if (re.test(h)) return { leaks: true, matched: f };
  }
  return { leaks: false };
}
