/**
 * Declarative graders for user tasks and the `grade` command: exact, numeric, math, contains,
 * regex, f1. Each returns a ScoreResult with feedback; none throws on bad input. `math` is decided
 * by Math-Verify in the Python grader: here it only turns that verdict into a score.
 */
import type { GRADER_NAMES } from '../config/task';
import type { MathVerdict, ScoreResult } from '../types';
import { afterAnswerIs, afterHashes, lastBoxed, lastNumber, plainNumbersEqual, tail } from './extract';
import { scoreFromVerdict } from './mathVerify';

export type GraderName = (typeof GRADER_NAMES)[number];

export function normalizeText(s: string): string {
  return s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\b(a|an|the)\b/g, ' ')
    .replace(/[\p{P}\p{S}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function tokenF1(pred: string, gold: string): number {
  const p = normalizeText(pred).split(' ').filter(Boolean);
  const g = normalizeText(gold).split(' ').filter(Boolean);
  if (!p.length || !g.length) return p.length === g.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      common++;
      counts.set(t, c - 1);
    }
  }
  if (common === 0) return 0;
  const prec = common / p.length;
  const rec = common / g.length;
  return (2 * prec * rec) / (prec + rec);
}

function result(correct: boolean, extracted: string | null, gold: string, why: string, reward = correct ? 1 : 0): ScoreResult {
  return {
    reward,
    correct,
    format_ok: extracted !== null,
    extracted,
    feedback: correct ? `Correct (expected ${gold}).` : `Expected ${gold}; extracted ${extracted === null ? 'nothing' : JSON.stringify(extracted)}: ${why}.`,
  };
}

export function grade(grader: GraderName, gold: string, completion: string, opts: { pattern?: string; verdict?: MathVerdict } = {}): ScoreResult {
  const text = typeof completion === 'string' ? completion : '';
  if (grader === 'math') return scoreFromVerdict(opts.verdict, { formatOk: opts.verdict?.extracted != null });
  if (!text.trim()) return result(false, null, gold, 'the completion is empty');
  switch (grader) {
    case 'exact': {
      const ex = tail(text).trim();
      return result(normalizeText(ex) === normalizeText(gold), ex.slice(0, 200), gold, 'wrong value');
    }
    case 'contains': {
      const ok = normalizeText(tail(text)).includes(normalizeText(gold));
      return result(ok, ok ? gold : null, gold, 'the expected answer does not appear');
    }
    case 'numeric': {
      const ex = afterHashes(text) ?? afterAnswerIs(text) ?? lastBoxed(text) ?? text;
      const num = lastNumber(ex);
      if (num === null) return result(false, null, gold, 'no number found');
      return result(plainNumbersEqual(num, gold), num, gold, 'wrong value');
    }
    case 'regex': {
      let re: RegExp;
      try {
        re = new RegExp(opts.pattern ?? gold, 'i');
      } catch (e) {
        return result(false, null, gold, `invalid regex: ${(e as Error).message}`);
      }
      const m = re.exec(tail(text));
      return result(m !== null, m ? m[0] : null, gold, 'the pattern does not match');
    }
    case 'f1': {
      const ex = (afterAnswerIs(text) ?? tail(text).trim().split('\n').pop() ?? '').trim();
      const exact = normalizeText(ex) === normalizeText(gold);
      const f1 = exact ? 1 : tokenF1(ex, gold);
      return result(exact, ex.slice(0, 200), gold, `token F1 ${f1.toFixed(2)}`, f1);
    }
  }
}
