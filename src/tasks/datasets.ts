/**
 * Dataset tasks on the local copies in data/ (see data/SOURCES.md): gsm8k, math (MATH-500 test,
 * MATH train from the DeepScaleR copy), aime (2024), hotpotqa (distractor setting), and user
 * tasks declared by a JSONL file + grader. Loaders fail on a malformed row naming file and line.
 *
 * Splits where the source has none (all deterministic, seeded by data_seed):
 *   gsm8k   train/test as published; val = 100 rows carved from train (removed from train).
 *   math    test = MATH-500; val = 100 rows carved from the DeepScaleR MATH train copy.
 *   aime    30 problems only: test = all 30; train = val = the same 30 (document: no held-out set exists).
 *   hotpotqa 500 dev rows: train 300 / val 100 / test 100.
 *   jsonl   80% / 10% / 10% (at least one row each when there are >= 3 rows).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TaskConfig } from '../config/task';
import { seededShuffle } from '../core/rng';
import { datasetSplitSeed } from '../core/seeds';
import { parseJsonlLines } from '../storage/jsonl';
import type { MathVerdict, ScoreResult } from '../types';
import { afterHashes, lastBoxed, toNumber } from './extract';
import { grade, normalizeText, tokenF1, type GraderName } from './graders';
import { scoreFromVerdict } from './mathVerify';
import type { Example, Splits, Task } from './types';
import { FAILURE } from '../failures';

export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'data'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

export const dataPath = (...p: string[]) => path.join(process.env.GEPA_RL_DATA_DIR ?? path.join(repoRoot(), 'data'), ...p);

/** A dataset that is missing, unreadable or malformed: never retried (src/failure-types.json). */
export class DatasetError extends Error {
  override name = FAILURE.DatasetError;
}

/** One parsed row and where it came from ("file:line", or "file: row N" in a JSON array), for errors. */
export interface SourcedRow {
  row: Record<string, unknown>;
  where: string;
}

/** Parse JSON lines; a malformed row is an error naming the file and line (blank lines count). */
export function readJsonlRecords(file: string): SourcedRow[] {
  if (!existsSync(file)) throw new DatasetError(`dataset file ${file} does not exist`);
  return parseJsonlLines(readFileSync(file, 'utf8')).map((l) => {
    if (!l.ok) {
      // a malformed last line without its newline: the file ends mid-row
      const cut = l.isLast ? '; the file ends in the middle of this row, so it was cut short (an interrupted download or copy): restore the file or download it again' : '';
      throw new DatasetError(`${file}:${l.lineNo}: malformed row (${l.error.message}): ${l.text.slice(0, 120)}${cut}`);
    }
    const v = l.value;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new DatasetError(`${file}:${l.lineNo}: expected a JSON object, got ${l.text.slice(0, 120)}`);
    return { row: v as Record<string, unknown>, where: `${file}:${l.lineNo}` };
  });
}

export function readJsonlRows(file: string): Array<Record<string, unknown>> {
  return readJsonlRecords(file).map((r) => r.row);
}

/** Rows of a file holding one JSON array; positions are reported as "row N" (1-based), not lines. */
export function readJsonArrayRecords(file: string): SourcedRow[] {
  if (!existsSync(file)) throw new DatasetError(`dataset file ${file} does not exist`);
  let arr: unknown;
  try {
    arr = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DatasetError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(arr)) throw new DatasetError(`${file}: expected a JSON array of objects, got ${arr === null ? 'null' : typeof arr}`);
  return arr.map((v: unknown, i) => {
    const where = `${file}: row ${i + 1} of the JSON array`;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new DatasetError(`${where}: expected a JSON object, got ${JSON.stringify(v)?.slice(0, 120)}`);
    return { row: v as Record<string, unknown>, where };
  });
}

function need({ row, where }: SourcedRow, field: string): string {
  const v = row[field];
  if (typeof v !== 'string' && typeof v !== 'number') throw new DatasetError(`${where}: field "${field}" missing or not a string (got ${JSON.stringify(v)?.slice(0, 80)})`);
  return String(v);
}

function cap(s: Splits, cfg: TaskConfig): Splits {
  return {
    train: cfg.n_train ? s.train.slice(0, cfg.n_train) : s.train,
    val: cfg.n_val ? s.val.slice(0, cfg.n_val) : s.val,
    test: cfg.n_test ? s.test.slice(0, cfg.n_test) : s.test,
  };
}

function carve(train: Example[], nVal: number, seed: number): { train: Example[]; val: Example[] } {
  const order = seededShuffle(train, datasetSplitSeed(seed));
  return { val: order.slice(0, nVal), train: order.slice(nVal) };
}

const fail = (gold: string, extracted: string | null, why: string): ScoreResult => ({
  reward: 0,
  correct: false,
  format_ok: extracted !== null,
  extracted,
  feedback: `Expected ${gold}; extracted ${extracted === null ? 'nothing' : JSON.stringify(extracted)}: ${why}.`,
});
const pass = (gold: string, extracted: string): ScoreResult => ({ reward: 1, correct: true, format_ok: true, extracted, feedback: `Correct: ${gold}.` });

// ------------------------------------------------------------------------------------------ gsm8k
function gsm8kRows(file: string, split: string): Example[] {
  return readJsonlRecords(file).map((r, i) => {
    const answer = need(r, 'answer');
    const final = afterHashes(answer);
    if (final === null) throw new DatasetError(`${r.where}: answer has no "####" final answer (got ${JSON.stringify(answer.slice(-80))})`);
    return { id: `gsm8k-${split}-${i}`, question: need(r, 'question'), answer: final.replace(/,/g, ''), solution: answer.replace(/<<[^>]*>>/g, '') };
  });
}

export const gsm8kTask: Task = {
  name: 'gsm8k',
  async loadSplits(cfg) {
    const { train, val } = carve(gsm8kRows(dataPath('gsm8k/train.jsonl'), 'train'), 100, cfg.data_seed);
    return cap({ train, val, test: gsm8kRows(dataPath('gsm8k/test.jsonl'), 'test') }, cfg);
  },
  render: (x) => [{ role: 'user', content: `${x.question}\nSolve step by step, then write the final answer on its own line as "#### <number>".` }],
  score(x, completion) {
    const gold = x.answer ?? '';
    // accepted forms: "#### n", "the answer is n", else the last number
    const s = grade('numeric', gold, completion ?? '');
    const viaHashes = afterHashes(completion ?? '') !== null;
    return { ...s, format_ok: viaHashes, feedback: s.correct ? s.feedback : `${s.feedback}${viaHashes ? '' : ' (format: no "####" line)'}` };
  },
  answerForHint: (x) => x.answer,
};

// ------------------------------------------------------------------------------------------ math / aime
/**
 * math and aime: Math-Verify decides (its extraction from the whole completion: last \\boxed{}, "the
 * answer is", $...$, plain expressions; its equivalence), so "025" equals 25 and \\frac13 equals 1/3.
 * Only a \\boxed{} answer counts as the requested format.
 */
export function scoreBoxedMath(completion: string, verdict: MathVerdict | undefined): ScoreResult {
  return scoreFromVerdict(verdict, { formatOk: lastBoxed(completion ?? '') !== null, formatHint: 'no \\boxed{} answer' });
}

/** MATH train (DeepScaleR JSON array). Rows whose answer is null (a few) cannot be rewarded: skipped. */
export function mathTrainRows(file: string): Example[] {
  return readJsonArrayRecords(file)
    .map((r, i): Example | null => (r.row.answer === null ? null : { id: `math-train-${i}`, question: need(r, 'problem'), answer: need(r, 'answer') }))
    .filter((x): x is Example => x !== null);
}

const boxedInstruction = 'Reason step by step, and put your final answer within \\boxed{}.';

export const mathTask: Task = {
  name: 'math',
  async loadSplits(cfg) {
    const trainAll = mathTrainRows(dataPath('math/math_train_deepscaler.json'));
    const test = readJsonlRecords(dataPath('math/math500_test.jsonl')).map((r, i) => ({
      id: String(r.row.unique_id ?? `math500-${i}`),
      question: need(r, 'problem'),
      answer: need(r, 'answer'),
      solution: typeof r.row.solution === 'string' ? r.row.solution : undefined,
    }));
    const { train, val } = carve(trainAll, 100, cfg.data_seed);
    return cap({ train, val, test }, cfg);
  },
  render: (x) => [{ role: 'user', content: `${x.question}\n${boxedInstruction}` }],
  score: (_x, c, verdict) => scoreBoxedMath(c, verdict),
  // MATH answers are the contents of the solutions' \\boxed{}: bare LaTeX, read as such
  verifierGold: (x) => (x.answer === null ? null : `\\boxed{${x.answer}}`),
  answerForHint: (x) => x.answer,
};

/** AIME rows; the answer must be an integer ("025" is stored as 25). */
export function aimeRows(file: string): Example[] {
  return readJsonlRecords(file).map((r) => {
    const raw = need(r, 'answer');
    const n = toNumber(raw);
    if (n === null || !Number.isInteger(n)) throw new DatasetError(`${r.where}: field "answer" must be an integer (got ${JSON.stringify(raw).slice(0, 80)})`);
    return { id: `aime24-${need(r, 'id')}`, question: need(r, 'problem'), answer: String(n) };
  });
}

export const aimeTask: Task = {
  name: 'aime',
  async loadSplits(cfg) {
    const all = aimeRows(dataPath('aime/aime24.jsonl'));
    return cap({ train: all, val: all, test: all }, cfg);
  },
  render: (x) => [{ role: 'user', content: `${x.question}\nThe answer is an integer from 0 to 999. ${boxedInstruction}` }],
  score: (_x, c, verdict) => scoreBoxedMath(c, verdict),
  answerForHint: (x) => x.answer,
};

// ------------------------------------------------------------------------------------------ hotpotqa
/** HotpotQA distractor rows: context is a list of [title, [sentence, ...]]. */
export function hotpotqaRows(file: string): Example[] {
  return readJsonlRecords(file).map((r, i) => {
    const ctx = r.row.context;
    if (!Array.isArray(ctx)) throw new DatasetError(`${r.where}: field "context" must be a list of [title, sentences] (got ${JSON.stringify(ctx)?.slice(0, 80)})`);
    const paragraphs = ctx.map((p: unknown, k) => {
      if (!Array.isArray(p) || typeof p[0] !== 'string' || !Array.isArray(p[1]) || !p[1].every((x) => typeof x === 'string')) {
        throw new DatasetError(`${r.where}: context[${k}] must be [title, [sentence, ...]] (got ${JSON.stringify(p)?.slice(0, 80)})`);
      }
      return `${p[0]}: ${(p[1] as string[]).join('')}`;
    });
    return { id: String(r.row._id ?? `hotpot-${i}`), question: need(r, 'question'), answer: need(r, 'answer'), paragraphs };
  });
}

export const hotpotqaTask: Task = {
  name: 'hotpotqa',
  async loadSplits(cfg) {
    const all = hotpotqaRows(dataPath('hotpotqa/dev_distractor_500_amor.jsonl'));
    const order = seededShuffle(all, datasetSplitSeed(cfg.data_seed));
    return cap({ train: order.slice(0, 300), val: order.slice(300, 400), test: order.slice(400) }, cfg);
  },
  render: (x) => [
    { role: 'user', content: `${(x.paragraphs as string[]).join('\n\n')}\n\nQuestion: ${x.question}\nAnswer with a short phrase on the last line as "Answer: <answer>".` },
  ],
  score(x, completion) {
    const gold = x.answer ?? '';
    const text = completion ?? '';
    const m = [...text.matchAll(/answer:\s*([^\n]+)/gi)];
    const ex = m.length ? m[m.length - 1][1].trim() : text.trim().split('\n').pop()?.trim() || null;
    if (!ex) return fail(gold, null, 'the completion is empty');
    if (normalizeText(ex) === normalizeText(gold)) return { ...pass(gold, ex), format_ok: m.length > 0 };
    const f1 = tokenF1(ex, gold);
    return { reward: f1, correct: false, format_ok: m.length > 0, extracted: ex, feedback: `Expected "${gold}"; answered "${ex.slice(0, 200)}": partial credit token F1 ${f1.toFixed(2)}.` };
  },
  answerForHint: (x) => x.answer,
};

// ------------------------------------------------------------------------------------------ jsonl (user)
export function jsonlTask(cfg: TaskConfig): Task {
  const grader = cfg.jsonl_grader as GraderName;
  return {
    name: 'jsonl',
    async loadSplits(c) {
      const file = path.resolve(c.jsonl_path!);
      const rows = readJsonlRecords(file).map((r, i) => {
        const answer = need(r, c.jsonl_answer_field);
        // an empty gold would make `contains` match everything and `exact` reward empty output
        if (!answer.trim()) throw new DatasetError(`${r.where}: field "${c.jsonl_answer_field}" (the gold answer) is empty; every row needs one`);
        return { id: String(r.row.id ?? `row-${i + 1}`), question: need(r, c.jsonl_prompt_field), answer };
      });
      const order = seededShuffle(rows, datasetSplitSeed(c.data_seed));
      const nTest = rows.length >= 3 ? Math.max(1, Math.round(rows.length * 0.1)) : 0;
      const nVal = rows.length >= 3 ? Math.max(1, Math.round(rows.length * 0.1)) : 0;
      return cap({ test: order.slice(0, nTest), val: order.slice(nTest, nTest + nVal), train: order.slice(nTest + nVal) }, c);
    },
    render: (x) => [{ role: 'user', content: x.question }],
    score: (x, c, verdict) => grade(grader, x.answer ?? '', c ?? '', { verdict }),
    answerForHint: (x) => x.answer,
  };
}
