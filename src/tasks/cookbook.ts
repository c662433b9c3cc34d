/**
 * `task.style=cookbook`: the gsm8k, math and arithmetic environments of tinker-cookbook's
 * recipes/math_rl (math_env.py, arithmetic_env.py, rl/problem_env.py), so that a cookbook number can
 * be reproduced here. Same data as our tasks; what changes is what the policy is shown and how it is
 * rewarded:
 * - prompt: the standard few-shot exchange, then the question. gsm8k and math (the cookbook's
 *   MathEnv) append " Write your answer in \boxed{} format." to both questions; arithmetic asks
 *   "What is a op b?" after the exchange "What is 4 + 5?" / "9", with no suffix.
 * - answer: gsm8k and math read the cookbook's \boxed rule (cookbookBoxed); arithmetic the last
 *   integer of the reply.
 * - reward: format_coef·(format − 1) + correct with format_coef 0.1, where format means the reply
 *   ended at a stop (not at max_tokens) and, for gsm8k and math, has a \boxed answer. So a correct
 *   reply cut at max_tokens earns 0.9, a reply without an answer −0.1.
 * - correct: gsm8k compares the boxed number with the gold after the cookbook's answer normalisation
 *   (units, $, %, thousands commas); math asks Math-Verify (the project's verifier, where the cookbook
 *   runs its sympy grader) and needs a boxed answer, as the cookbook's check_answer does.
 * Differences that remain are in docs/FAITHFULNESS.md; the default style (ours) is explained in
 * docs/TASKS.md.
 */
import type { ChatMessage, MathVerdict, ScoreResult } from '../types';
import { plainNumbersEqual, tail } from './extract';
import { MissingVerdict } from './mathVerify';
import type { Example, Task } from './types';

/** The weight of the format term (ProblemEnv's format_coef). */
export const COOKBOOK_FORMAT_COEF = 0.1;

/** ProblemEnv's reward: format_coef·(format − 1) + correct. */
export function cookbookReward(formatOk: boolean, correct: boolean): number {
  return COOKBOOK_FORMAT_COEF * (Number(formatOk) - 1) + Number(correct);
}

/** MathEnv's question suffix (math and gsm8k alike: the gsm8k dataset builds MathEnv environments). */
export const COOKBOOK_MATH_SUFFIX = ' Write your answer in \\boxed{} format.';

/** MathEnv's standard few-shot exchange (the builders' default convo_prefix "standard"). */
export const COOKBOOK_MATH_FEWSHOT: readonly ChatMessage[] = [
  { role: 'user', content: `How many r's are in strawberry?${COOKBOOK_MATH_SUFFIX}` },
  {
    role: 'assistant',
    content: "Let's spell the word out and number all the letters: 1) s 2) t 3) r 4) a 5) w 6) b 7) e 8) r 9) r 10) y. We have r's at positions 3, 8, and 9. \\boxed{3}",
  },
];

/** ArithmeticEnv's standard few-shot exchange. */
export const COOKBOOK_ARITHMETIC_FEWSHOT: readonly ChatMessage[] = [
  { role: 'user', content: 'What is 4 + 5?' },
  { role: 'assistant', content: '9' },
];

/**
 * The cookbook's boxed answer: braces are matched left to right; each pair whose "{" follows
 * "\boxed" is an answer, and the one that closes last wins (so an outer box beats one nested in
 * it). A "}" with no "{" open makes the reply unreadable (null), as the cookbook raises there.
 * Without any braced box, "\boxed 42" (letters and digits after a space) is read.
 */
export function cookbookBoxed(text: string): string | null {
  const t = tail(text);
  const open: number[] = [];
  let last: string | null = null;
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '{') open.push(i);
    else if (t[i] === '}') {
      const at = open.pop();
      if (at === undefined) return null;
      if (t.slice(0, at).endsWith('\\boxed')) last = t.slice(at + 1, i);
    }
  }
  if (last !== null) return last;
  return /\\boxed\s+([a-zA-Z0-9]+)/.exec(t)?.[1] ?? null;
}

const UNITS = ['degree', 'cm', 'centimeter', 'meter', 'mile', 'second', 'minute', 'hour', 'day', 'week', 'month', 'year', 'foot', 'feet', 'inch', 'yard'];

/**
 * A boxed GSM8K answer as the cookbook's normaliser leaves a number: an enclosing \text{} removed,
 * $ and % signs dropped, the unit words it knows removed, one pair of outer braces dropped, spaces
 * removed, thousands commas ("1,000") joined. The result is compared as a plain number.
 */
export function normaliseCookbookNumber(answer: string): string {
  let s = answer.trim();
  const text = /^\\text\{(.+?)\}$/.exec(s);
  if (text) s = text[1];
  s = s.replace(/\\%/g, '').replace(/\\\$/g, '').replace(/\$/g, '').replace(/%/g, '');
  for (const u of UNITS) s = s.replace(new RegExp(`${u}(es)?(s)? *(\\^[0-9]+)?`, 'g'), '');
  s = s.replace(/\^ *\\circ/g, '');
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  s = s.replace(/ /g, '');
  for (let prev = ''; prev !== s; ) {
    prev = s;
    s = s.replace(/(\d),(\d\d\d)($|\D)/, '$1$2$3');
  }
  return s;
}

type Stop = 'stop' | 'length' | undefined;

/** The reply ended at a stop sequence (an absent stop reason, e.g. `gepa-rl grade` on a whole reply, counts as one). */
const stoppedCleanly = (stop: Stop): boolean => stop !== 'length';

function scored(correct: boolean, formatOk: boolean, extracted: string | null, gold: string, stop: Stop): ScoreResult {
  const why = [
    extracted === null ? 'no answer found' : correct ? null : `wrong value ${JSON.stringify(extracted)}`,
    stoppedCleanly(stop) ? null : 'the reply was cut off at max_tokens',
  ].filter(Boolean);
  return {
    reward: cookbookReward(formatOk, correct),
    correct,
    format_ok: formatOk,
    extracted,
    feedback: correct && formatOk ? `Correct (expected ${gold}).` : `Expected ${gold}${why.length ? `; ${why.join('; ')}` : ''}.`,
  };
}

/** gsm8k's cookbook rows: the reference solutions end in \boxed{answer} instead of "#### answer", so SFT teaches the format this style rewards. */
function boxedSolution(x: Example): Example {
  if (typeof x.solution !== 'string') return x;
  return { ...x, solution: x.solution.replace(/####\s*(.+?)\s*$/, (_m, a: string) => `\\boxed{${a.replace(/,/g, '')}}`) };
}

/**
 * The cookbook style of one of our tasks (`base` supplies the data, the hint answer and
 * Math-Verify's gold); `env` names which cookbook environment it follows.
 */
export function cookbookStyle(base: Task, env: 'gsm8k' | 'math' | 'arithmetic'): Task {
  const math = env !== 'arithmetic';
  return {
    name: base.name,
    async loadSplits(cfg) {
      const s = await base.loadSplits(cfg);
      return env === 'gsm8k' ? { train: s.train.map(boxedSolution), val: s.val.map(boxedSolution), test: s.test.map(boxedSolution) } : s;
    },
    render(x) {
      if (!math) return [...COOKBOOK_ARITHMETIC_FEWSHOT, { role: 'user', content: `What is ${x.question}?` }];
      return [...COOKBOOK_MATH_FEWSHOT, { role: 'user', content: `${x.question}${COOKBOOK_MATH_SUFFIX}` }];
    },
    score(x, completion, verdict?: MathVerdict, stop?: Stop) {
      const gold = x.answer ?? '';
      const text = completion ?? '';
      if (!math) {
        // ArithmeticEnv: the last integer (commas dropped) is the answer; every reply has the format
        const ints = text.replace(/,/g, '').match(/-?\d+/g);
        const extracted = ints ? ints[ints.length - 1] : null;
        return scored(extracted !== null && Number(extracted) === Number(gold), stoppedCleanly(stop), extracted, gold, stop);
      }
      const boxed = cookbookBoxed(text);
      let correct = false;
      if (boxed !== null) {
        if (env === 'math') {
          if (!verdict) throw new MissingVerdict('math (style=cookbook) is decided by Math-Verify in the Python grader; this score call got no verdict');
          correct = verdict.correct;
        } else correct = plainNumbersEqual(normaliseCookbookNumber(boxed), gold);
      }
      return scored(correct, boxed !== null && stoppedCleanly(stop), boxed, gold, stop);
    },
    verifierGold: base.verifierGold,
    answerForHint: (x) => base.answerForHint(x),
  };
}
