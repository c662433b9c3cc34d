/** Final-answer extraction from completions. Each task says which forms it accepts. */

const MAX_SCAN = 20_000; // only the tail of a huge completion can hold its final answer

export function tail(text: string): string {
  return text.length > MAX_SCAN ? text.slice(text.length - MAX_SCAN) : text;
}

/**
 * Plain numbers read as Math-Verify reads them (its plain-expression number rule, math_verify/parser.py
 * at the version pinned in trainer/requirements.lock), so `numeric` agrees with `math` on numbers:
 * thousands separated by "," or " " in groups of three ("1,000" = "1 000" = 1000), else a decimal
 * point or comma ("1000,99" = 1000.99, "1,22" = 1.22), ".4", or an integer. In text a number starts
 * the text or follows a space or "=" (then maybe "**" and a currency sign): "AZYUK2A" holds none.
 */
const NUMBER_SRC = '(?:-?[1-9]\\d{0,2}(?:[ ,]\\d{3})+(?:\\.\\d+)?|-?\\d+[.,]\\d+|\\.\\d+|-?\\d+)';
const CURRENCY = '$€£¥₹₽₪₩₫฿';
const NUMBER_IN_TEXT_RE = new RegExp(`(?<=^|[\\s=])(?:\\*\\*)?[${CURRENCY}]?(?<!\\d)(${NUMBER_SRC})`, 'g');
const ONE_NUMBER_RE = new RegExp(`^${NUMBER_SRC}$`);

/** A number as Math-Verify writes it: separators dropped, decimal comma as a point ("1,000.50" -> "1000.50"). */
function canonical(m: string): string {
  return /^-?[1-9]\d{0,2}(?:[ ,]\d{3})+/.test(m) ? m.replace(/[ ,]/g, '') : m.replace(',', '.');
}

/** The last number in the text ("1,234" -> "1234"), or null. */
export function lastNumber(text: string): string | null {
  let last: string | null = null;
  for (const m of tail(text).matchAll(NUMBER_IN_TEXT_RE)) last = m[1];
  return last === null ? null : canonical(last);
}

/**
 * Plain numbers equal as Math-Verify's defaults decide: exactly when both are integers, else after
 * rounding to 6 decimals (its float_rounding). "1,000" = "1000" = "1000.0"; a non-number is unequal.
 */
export function plainNumbersEqual(a: string, b: string): boolean {
  const x = toNumber(a);
  const y = toNumber(b);
  if (x === null || y === null) return false;
  if (Number.isInteger(x) && Number.isInteger(y)) return x === y;
  return Math.abs(x - y) < 1e-12 || x.toFixed(6) === y.toFixed(6);
}

/** Content of the last \boxed{...} (balanced braces), or null. */
export function lastBoxed(text: string): string | null {
  const t = tail(text);
  const at = Math.max(t.lastIndexOf('\\boxed{'), t.lastIndexOf('\\fbox{'));
  if (at < 0) return null;
  let i = t.indexOf('{', at) + 1;
  let depth = 1;
  const start = i;
  for (; i < t.length && depth > 0; i++) {
    if (t[i] === '{') depth++;
    else if (t[i] === '}') depth--;
  }
  return depth === 0 ? t.slice(start, i - 1).trim() : null;
}

/** Text after the last "####" marker (GSM8K style), up to the end of its line. */
export function afterHashes(text: string): string | null {
  const t = tail(text);
  const at = t.lastIndexOf('####');
  if (at < 0) return null;
  return t.slice(at + 4).split('\n')[0].trim() || null;
}

/** Text after the last "the answer is". */
export function afterAnswerIs(text: string): string | null {
  const t = tail(text);
  const m = [...t.matchAll(/the (?:final )?answer is[:\s]*([^\n]+)/gi)];
  if (!m.length) return null;
  return m[m.length - 1][1].replace(/[.\s]+$/, '').trim() || null;
}

/** Parse one plain number by the rule above ("1,234", "1 234", "-3.50", "1,5", "$5", "50%": the sign and unit are dropped), or null. */
export function toNumber(s: string): number | null {
  const t = s.trim().replace(/^\\?\$\s*/, '').replace(/\s*\\?%$/, '');
  if (!ONE_NUMBER_RE.test(t)) return null;
  return Number(canonical(t));
}
