/** Final-answer extraction from completions. Each task says which forms it accepts. */

const MAX_SCAN = 20_000; // only the tail of a huge completion can hold its final answer

export function tail(text: string): string {
  return text.length > MAX_SCAN ? text.slice(text.length - MAX_SCAN) : text;
}

// thousands separators only in groups of three: "1,234" is one number, "1,2" is two
const NUMBER_RE = /-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?|-?\.\d+/g;

/** The last number in the text ("1,234" -> "1234"), or null. */
export function lastNumber(text: string): string | null {
  const m = tail(text).match(NUMBER_RE);
  if (!m) return null;
  return m[m.length - 1].replace(/,/g, '');
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

/** Parse a plain numeric string ("1,234", "-3.50", "$5", "50%") to a number, or null ("1,2" is not one). */
export function toNumber(s: string): number | null {
  const t = s.trim().replace(/^\\?\$\s*/, '').replace(/\s*\\?%$/, '');
  if (!/^-?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)$/.test(t)) return null;
  return Number(t.replace(/,/g, ''));
}
