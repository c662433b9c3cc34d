/**
 * Fresh copies of the datasets for users with a network (this machine has none: the tests run the
 * parsing half on the local copies in data/). Rows come from the Hugging Face datasets-server
 * `/rows` API and are written in the same JSONL shape the loaders read.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export interface HfSource {
  dataset: string;
  config: string;
  split: string;
  file: string; // relative to data/
  /** map one HF row to the local row shape */
  toRow: (r: Record<string, unknown>) => Record<string, unknown>;
}

export const SOURCES: Record<string, HfSource[]> = {
  gsm8k: [
    { dataset: 'openai/gsm8k', config: 'main', split: 'train', file: 'gsm8k/train.jsonl', toRow: (r) => ({ question: r.question, answer: r.answer }) },
    { dataset: 'openai/gsm8k', config: 'main', split: 'test', file: 'gsm8k/test.jsonl', toRow: (r) => ({ question: r.question, answer: r.answer }) },
  ],
  math: [
    {
      dataset: 'HuggingFaceH4/MATH-500',
      config: 'default',
      split: 'test',
      file: 'math/math500_test.jsonl',
      toRow: (r) => ({ problem: r.problem, solution: r.solution, answer: r.answer, subject: r.subject, level: r.level, unique_id: r.unique_id }),
    },
  ],
  aime: [{ dataset: 'HuggingFaceH4/aime_2024', config: 'default', split: 'train', file: 'aime/aime24.jsonl', toRow: (r) => ({ id: r.id, problem: r.problem, answer: String(r.answer), solution: r.solution }) }],
};

/** Turn one datasets-server page into JSONL lines (tested offline on local-shaped fixtures). */
export function pageToJsonl(page: { rows?: Array<{ row: Record<string, unknown> }> }, src: HfSource): string[] {
  if (!page || !Array.isArray(page.rows)) throw new Error(`unexpected datasets-server response for ${src.dataset}: no "rows" array`);
  return page.rows.map((r) => JSON.stringify(src.toRow(r.row)));
}

export async function downloadTask(task: keyof typeof SOURCES, dataDir: string, fetchImpl: typeof fetch = fetch): Promise<string[]> {
  const written: string[] = [];
  for (const src of SOURCES[task]) {
    const lines: string[] = [];
    for (let offset = 0; ; offset += 100) {
      const url = `https://datasets-server.huggingface.co/rows?dataset=${encodeURIComponent(src.dataset)}&config=${src.config}&split=${src.split}&offset=${offset}&length=100`;
      const res = await fetchImpl(url);
      if (!res.ok) throw new Error(`GET ${url} failed: HTTP ${res.status}`);
      const page = (await res.json()) as { rows?: Array<{ row: Record<string, unknown> }>; num_rows_total?: number };
      lines.push(...pageToJsonl(page, src));
      if (!page.rows?.length || lines.length >= (page.num_rows_total ?? 0)) break;
    }
    const file = path.join(dataDir, src.file);
    mkdirSync(path.dirname(file), { recursive: true });
    // whole or not at all: an interrupted write must not leave a file cut mid-row for the loaders
    writeFileSync(`${file}.tmp-${process.pid}`, lines.join('\n') + '\n');
    renameSync(`${file}.tmp-${process.pid}`, file);
    written.push(file);
  }
  return written;
}
