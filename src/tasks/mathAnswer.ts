/**
 * Math final answers: which forms are extracted from a completion, how an answer is normalised,
 * and when two answers are equivalent. The one place for these rules (math grader, math and aime
 * tasks, the `grade` command).
 *
 * Normalisation (both sides, before any comparison):
 * - LaTeX noise: `$`, `\left`/`\right`, spacing (`\,` `\;` `\!` `\quad` `~`), `\displaystyle`,
 *   `\dfrac`/`\tfrac` -> `\frac`, `{,}` thousands separators, `\$`, a trailing period.
 * - units and words: a trailing `\text{...}`/`\mathrm{...}`/`\mbox{...}` word after a number is a
 *   unit and dropped (`5\text{ cm}` = 5), as is a trailing common unit word after a space (`5 cm`, `12 inches`,
 *   `3 square units`; `5m` stays 5 times m); `\text{five}`/`five` (zero to ninety-nine, hundred, thousand) = 5.
 * - `x = 3` = 3: a leading single-variable assignment is dropped.
 * - degrees: `30^\circ` = 30 (the marker dropped; gold answers often omit it) and also = `\pi/6`
 *   (the same angle). Without a marker on either side, 30 and `\pi/6` differ.
 * - percentages: `50\%` = 50 (the sign dropped) and also = 0.5 (its value). A bare 50 does not
 *   equal 0.5.
 * Then: identical strings are equal; two plain numbers compare strictly (integers exactly, no
 * tolerance); anything else goes to the compute engine (cas.ts) under the per-check time limit.
 * Intervals, tuples, sets and matrices are compared by the engine structurally.
 */
import { casCompare, MATH_CHECK_TIME_LIMIT_MS, type CasVerdict } from './cas';
import { afterAnswerIs, afterHashes, lastBoxed, lastNumber, toNumber } from './extract';

export const MAX_LATEX = 400; // longer answers are compared as normalised strings only

/**
 * The final answer of a math completion: the last `\boxed{}`, else the text after the last
 * `####`, else after the last "the answer is", else the last number. `boxed` says whether the
 * answer came in the requested `\boxed{}` format.
 */
export function extractMathAnswer(text: string): { answer: string | null; boxed: boolean } {
  const boxed = lastBoxed(text);
  if (boxed !== null) return { answer: boxed, boxed: true };
  return { answer: afterHashes(text) ?? afterAnswerIs(text) ?? lastNumber(text), boxed: false };
}

const NUMBER_WORDS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19,
  twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90, hundred: 100, thousand: 1000,
};

/** "five" -> 5, "twenty-one" -> 21, "one hundred" -> 100; anything else -> null. */
export function numberWord(s: string): number | null {
  const words = s.toLowerCase().trim().split(/[\s-]+/).filter((w) => w && w !== 'and');
  if (!words.length || words.some((w) => !(w in NUMBER_WORDS))) return null;
  let total = 0;
  let current = 0;
  for (const w of words) {
    const v = NUMBER_WORDS[w];
    if (v === 100 || v === 1000) current = (current || 1) * v;
    else current += v;
    if (v === 1000) {
      total += current;
      current = 0;
    }
  }
  return total + current;
}

const TEXT_CMD = String.raw`\\(?:text|textrm|textnormal|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*`;
const UNIT_WORDS =
  'cm|mm|km|m|meters?|metres?|centimeters?|centimetres?|millimeters?|kilometers?|in|inch|inches|ft|feet|foot|yd|yards?|miles?|mi|' +
  'units?|sq|square|cubic|degrees?|radians?|dollars?|cents?|hours?|hrs?|minutes?|mins?|seconds?|secs?|days?|weeks?|months?|years?|' +
  'kg|g|grams?|kilograms?|lbs?|pounds?|ounces?|oz|liters?|litres?|ml|gallons?|mph|km/h|students?|people|persons?|ways|points?';
// a number (or closing brace/paren of one) followed by unit words: the unit is dropped
const TRAILING_TEXT_UNIT = new RegExp(String.raw`([\d})])\s*${TEXT_CMD}\{\s*[A-Za-z][A-Za-z .\-/]*\}(?:\s*\^\s*\{?[23]\}?)?\s*$`);
const TRAILING_UNIT_WORD = new RegExp(String.raw`(\d)(?:\s+(?:${UNIT_WORDS})\.?(?:\s*\^\s*\{?[23]\}?)?)+\s*$`, 'i');
const DEGREE = /\s*(?:\^\s*\{?\s*\\circ\s*\}?|°|\\degree)\s*$/;
const PERCENT = /\s*\\?%\s*$/;
const ASSIGNMENT = /^(?:[A-Za-z]|\\[A-Za-z]+)(?:_(?:\{[A-Za-z0-9]+\}|[A-Za-z0-9]))?\s*=\s*(?=[^=]+$)/;

/** The answer's alternative normal forms (more than one for percentages and degrees). */
export function normalizeMathAnswer(s: string): string[] {
  let t = s
    .normalize('NFKC')
    .replace(/\\\$/g, '')
    .replace(/\$/g, '')
    .replace(/\\(?:left|right|displaystyle)\b/g, '')
    .replace(/\\[,;:! ]|\\q?quad\b|~/g, ' ')
    .replace(/\\[dt]frac/g, '\\frac')
    .replace(/\{,\}/g, ',')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\.$/, '')
    .trim();
  t = t.replace(ASSIGNMENT, '');
  t = t.replace(TRAILING_TEXT_UNIT, '$1').trim();
  t = t.replace(new RegExp(`${TEXT_CMD}\\{([^{}]*)\\}`, 'g'), ' $1 ').replace(/\s+/g, ' ').trim();
  t = t.replace(TRAILING_UNIT_WORD, '$1').trim();
  const word = numberWord(t);
  if (word !== null) t = String(word);
  let degree = false;
  let percent = false;
  if (DEGREE.test(t)) {
    degree = true;
    t = t.replace(DEGREE, '').trim();
  }
  if (PERCENT.test(t)) {
    percent = true;
    t = t.replace(PERCENT, '').trim();
  }
  const forms = [t];
  if (degree) forms.push(`\\frac{${t}}{180}\\pi`);
  if (percent) {
    const n = toNumber(t);
    const value = n === null ? '' : String(n / 100);
    forms.push(/^-?\d+(?:\.\d+)?$/.test(value) ? value : `\\frac{${t}}{100}`);
  }
  return forms;
}

export interface MathVerdict {
  equal: boolean;
  /** why not equal, in words for the feedback; absent when equal */
  reason?: string;
  timedOut: boolean;
}

/** Are two final answers equivalent? Never throws; a check over its time limit is not equal. */
export function mathEquivalence(pred: string, gold: string, opts: { timeLimitMs?: number } = {}): MathVerdict {
  const timeLimitMs = opts.timeLimitMs ?? MATH_CHECK_TIME_LIMIT_MS;
  const ps = normalizeMathAnswer(pred);
  const gs = normalizeMathAnswer(gold);
  const casPairs: Array<[string, string]> = [];
  let tooLong = false;
  for (const p of ps)
    for (const g of gs) {
      if (p === g) return { equal: true, timedOut: false };
      const np = toNumber(p);
      const ng = toNumber(g);
      if (np !== null && ng !== null) {
        if (np === ng) return { equal: true, timedOut: false };
        continue; // two plain numbers compare strictly
      }
      if (p.length > MAX_LATEX || g.length > MAX_LATEX) tooLong = true;
      else casPairs.push([p, g]);
    }
  let verdict: CasVerdict;
  try {
    verdict = casPairs.length ? casCompare(casPairs, timeLimitMs) : 'different';
  } catch (e) {
    return { equal: false, timedOut: false, reason: `wrong value (the algebra check failed: ${(e as Error).message})` };
  }
  switch (verdict) {
    case 'equal':
      return { equal: true, timedOut: false };
    case 'timeout':
      return { equal: false, timedOut: true, reason: `the equivalence check timed out (limit ${timeLimitMs} ms), scored as wrong` };
    case 'unparseable':
      return { equal: false, timedOut: false, reason: 'wrong value (the answer does not parse as math)' };
    default:
      return { equal: false, timedOut: false, reason: tooLong && !casPairs.length ? `wrong value (answers over ${MAX_LATEX} characters compare as text only)` : 'wrong value' };
  }
}

/** Boolean form of mathEquivalence. */
export function mathEquivalent(pred: string, gold: string): boolean {
  return mathEquivalence(pred, gold).equal;
}
