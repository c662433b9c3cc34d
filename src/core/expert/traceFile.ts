/**
 * The file `sft source=traces traces_file=` names, in either of two layouts: the sft_examples.json
 * traceGeneration writes (a JSON array of {messages, completion}), or the seeds' trace JSONL
 * (generate_traces.py: one {"question", "answer"} per line, the answer a worked solution ending in
 * `#### <number>`, as GSM8K's). Pure: the activity reads the file and renders each question with the
 * task's own prompt.
 */
import type { SftExample } from '../../types';

/** One row of the seeds' trace JSONL. */
export interface QuestionAnswer {
  question: string;
  answer: string;
}

export type TracesFile = { layout: 'sft_examples'; examples: SftExample[] } | { layout: 'question_answer'; rows: QuestionAnswer[] };

/** A worked solution ending in `#### <number>` (GSM8K's layout, the seeds' answer field). */
const FINAL_NUMBER = /####\s*[-+]?[\d,]*\.?\d+\s*$/;

/** Parse a traces file's text; throws an Error naming the file, the line or element, and what it held. */
export function parseTracesFile(text: string, file: string): TracesFile {
  if (text.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
    }
    const arr = parsed as Array<Record<string, unknown> | null>;
    const bad = arr.findIndex((x) => !x || typeof x.completion !== 'string' || !Array.isArray(x.messages));
    if (bad !== -1) throw new Error(`${file}: expected a JSON array of {messages, completion} (element ${bad} is ${JSON.stringify(arr[bad])?.slice(0, 120)})`);
    return { layout: 'sft_examples', examples: arr as unknown as SftExample[] };
  }
  const rows: QuestionAnswer[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const where = `${file} line ${i + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new Error(`${where}: expected a JSON array of {messages, completion} (sft_examples.json) or JSONL rows {"question", "answer"}; not valid JSON (${(e as Error).message})`);
    }
    const r = row as Record<string, unknown> | null;
    if (!r || typeof r !== 'object' || typeof r.question !== 'string' || typeof r.answer !== 'string') {
      throw new Error(`${where}: expected {"question": string, "answer": string}, got ${line.slice(0, 120)}`);
    }
    if (!FINAL_NUMBER.test(r.answer)) throw new Error(`${where}: the answer must end in "#### <number>" (reasoning, then the final number, as GSM8K), got ${JSON.stringify(r.answer.slice(-80))}`);
    rows.push({ question: r.question, answer: r.answer });
  }
  if (!rows.length) throw new Error(`${file}: no rows (expected sft_examples.json or JSONL rows {"question", "answer"})`);
  return { layout: 'question_answer', rows };
}

/** The gold number of a seed row's answer (what follows ####, commas dropped). */
export function finalNumber(answer: string): string {
  return answer.slice(answer.lastIndexOf('####') + 4).trim().replace(/,/g, '');
}
