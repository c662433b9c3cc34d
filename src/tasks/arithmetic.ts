/**
 * arithmetic: a seeded generator of a OP b problems (digits and operators configurable). Splits are
 * disjoint draws from one seeded stream: 200 train, 50 val, 100 test by default (n_* caps apply).
 * Reward 1 when the last number in the completion equals the exact integer result.
 */
import type { TaskConfig } from '../config/task';
import { mulberry32 } from '../core/rng';
import { arithmeticDataSeed } from '../core/seeds';
import { lastNumber, toNumber } from './extract';
import type { Example, Splits, Task } from './types';

export function generateProblems(cfg: Pick<TaskConfig, 'data_seed' | 'arithmetic_digits' | 'arithmetic_operators'>, n: number): Example[] {
  const rand = mulberry32(arithmeticDataSeed(cfg.data_seed));
  const ops = [...cfg.arithmetic_operators];
  const lo = cfg.arithmetic_digits === 1 ? 0 : 10 ** (cfg.arithmetic_digits - 1);
  const hi = 10 ** cfg.arithmetic_digits - 1;
  const seen = new Set<string>();
  const out: Example[] = [];
  for (let tries = 0; out.length < n && tries < n * 50; tries++) {
    const a = lo + Math.floor(rand() * (hi - lo + 1));
    const b = lo + Math.floor(rand() * (hi - lo + 1));
    const op = ops[Math.floor(rand() * ops.length)];
    const question = `${a} ${op} ${b}`;
    if (seen.has(question)) continue;
    seen.add(question);
    const value = op === '+' ? a + b : op === '-' ? a - b : a * b;
    out.push({ id: `arith-${out.length}`, question, answer: String(value) });
  }
  return out;
}

export const DEFAULT_SIZES = { train: 200, val: 50, test: 100 };

export const arithmeticTask: Task = {
  name: 'arithmetic',
  async loadSplits(cfg: TaskConfig): Promise<Splits> {
    const n = { train: cfg.n_train ?? DEFAULT_SIZES.train, val: cfg.n_val ?? DEFAULT_SIZES.val, test: cfg.n_test ?? DEFAULT_SIZES.test };
    // test and val first, so a small problem space (1 digit, one operator) shortens only train
    const all = generateProblems(cfg, n.train + n.val + n.test);
    if (all.length < n.test + n.val + 1) {
      throw new Error(
        `arithmetic with ${cfg.arithmetic_digits} digit(s) and operators "${cfg.arithmetic_operators}" has only ${all.length} distinct problems; ` +
          `n_test=${n.test} + n_val=${n.val} leave none for training. Use more digits or operators, or smaller n_test/n_val.`,
      );
    }
    return {
      test: all.slice(0, n.test),
      val: all.slice(n.test, n.test + n.val),
      train: all.slice(n.test + n.val, n.test + n.val + n.train),
    };
  },
  render(x) {
    return [{ role: 'user', content: `What is ${x.question}? Answer with just the number.` }];
  },
  score(x, completion) {
    const gold = x.answer ?? '';
    const extracted = lastNumber(completion ?? '');
    if (extracted === null) {
      return { reward: 0, correct: false, format_ok: false, extracted: null, feedback: `Expected ${gold}; no number found in the answer.` };
    }
    const value = toNumber(extracted);
    const correct = value !== null && Number.isInteger(value) && String(value) === gold;
    return {
      reward: correct ? 1 : 0,
      correct,
      format_ok: true,
      extracted,
      feedback: correct ? `Correct: ${x.question} = ${gold}.` : `Wrong value: ${x.question} = ${gold}, but the answer was ${extracted}.`,
    };
  },
  answerForHint: (x) => x.answer,
};
