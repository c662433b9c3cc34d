/**
 * `sft source=traces traces_file=` reads the seeds' trace JSONL (generate_traces.py: one
 * {"question", "answer"} a line, the answer reasoning then `#### <number>`) as well as the
 * sft_examples.json traceGeneration writes (issue 23): each question is rendered by the task under
 * the run's system prompt, the answer is the completion; a bad row fails naming its line.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { sftFromReference } from '../../src/activities/expert';
import { taskConfigSchema } from '../../src/config/task';
import { readBlob } from '../../src/storage/blobs';
import type { SftExample } from '../../src/types';
import { tmpRunsDir } from '../helpers/stack';

const dir = tmpRunsDir();
const task = taskConfigSchema.parse({ env: 'gsm8k' });

test("the seeds' {question, answer} JSONL becomes SFT examples: the task's prompt for the question, the answer as completion", async () => {
  const file = path.join(dir, 'grpo_traces_train.jsonl');
  const rows = [
    { question: 'Tom has 2 apples and buys 3. How many?', answer: 'He has 2 + 3 = 5 apples.\n\n#### 5' },
    { question: 'A box holds 12 eggs. How many in 2 boxes?', answer: '12 * 2 = 24\n#### 24' },
    { question: 'Unused: n caps the examples', answer: 'x\n#### 1' },
  ];
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const out = await sftFromReference({ task, system_prompt: 'Be exact.', n: 2, batch_size: 8, blob_dir: path.join(dir, 'blobs'), file });
  expect(out.n).toBe(2);
  const examples = (await Promise.all(out.batches.map((b) => readBlob<SftExample[]>(b)))).flat();
  expect(examples).toEqual([
    { messages: [{ role: 'system', content: 'Be exact.' }, { role: 'user', content: `${rows[0].question}\nSolve step by step, then write the final answer on its own line as "#### <number>".` }], completion: rows[0].answer },
    { messages: [{ role: 'system', content: 'Be exact.' }, { role: 'user', content: `${rows[1].question}\nSolve step by step, then write the final answer on its own line as "#### <number>".` }], completion: rows[1].answer },
  ]);
});

test('sft_examples.json is read as before; a JSONL row without a final number fails, naming the line, without a retry', async () => {
  const json = path.join(dir, 'sft_examples.json');
  const ex: SftExample[] = [{ messages: [{ role: 'user', content: 'q' }], completion: 'c' }];
  writeFileSync(json, JSON.stringify(ex));
  const out = await sftFromReference({ task, system_prompt: 'S', n: 5, batch_size: 8, blob_dir: path.join(dir, 'blobs'), file: json });
  expect(await readBlob(out.batches[0])).toEqual(ex);
  const bad = path.join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"question": "q", "answer": "#### 3"}\n{"question": "q", "answer": "three"}\n');
  await expect(sftFromReference({ task, system_prompt: 'S', n: 5, batch_size: 8, blob_dir: path.join(dir, 'blobs'), file: bad })).rejects.toMatchObject({
    nonRetryable: true,
    type: 'InvalidSftExamples',
    message: expect.stringContaining('bad.jsonl line 2: the answer must end in "#### <number>"'),
  });
});
