/** Tasks written in code: registered, selected by config, built and scored through the registry (issue 3, gaps 3 and 5). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseWorkflowInput } from '../../src/config';
import { knownTaskNames, taskConfigSchema, type TaskConfig } from '../../src/config/task';
import { buildPrompts, scoreRollouts } from '../../src/activities/tasks';
import { getTask, loadSplitsCached, registerTask, type Example, type Task } from '../../src/tasks';
import { FileBlobStore, readBlob } from '../../src/storage/blobs';
import type { RolloutsBlob } from '../../src/types';

/** A code task: "reverse the word"; scoring throws on a sentinel completion (a bug in user code). */
function reverseTask(cfg: TaskConfig): Task {
  const words = ['temporal', 'gepa', 'reward', 'policy', 'lora', 'grader'];
  const rows = (offset: number): Example[] => words.map((w, i) => ({ id: `rev-${offset + i}`, question: w, answer: [...w].reverse().join('') }));
  return {
    name: 'reverse',
    loadSplits: async () => ({ train: rows(0), val: rows(100).slice(0, 2), test: rows(200).slice(0, cfg.n_test ?? 3) }),
    render: (x) => [{ role: 'user', content: `Reverse the word "${x.question}".` }],
    score(x, completion) {
      if (completion === 'CRASH') throw new TypeError('cannot read properties of undefined');
      const ok = completion.trim() === x.answer;
      return { reward: ok ? 1 : 0, correct: ok, format_ok: true, extracted: completion.trim(), feedback: ok ? 'Correct.' : `Expected ${x.answer}.` };
    },
    answerForHint: (x) => x.answer,
  };
}

registerTask('reverse', reverseTask);

test('a registered code task is selectable by config and built and scored via the registry', async () => {
  expect(knownTaskNames()).toEqual(expect.arrayContaining(['arithmetic', 'gsm8k', 'jsonl', 'reverse']));
  const cfg = taskConfigSchema.parse({ env: 'reverse', n_test: 2 });
  expect(cfg.env).toBe('reverse');
  const task = getTask(cfg);
  const s = await loadSplitsCached(cfg);
  expect([s.train.length, s.val.length, s.test.length]).toEqual([6, 2, 2]);
  expect(task.score(s.test[0], 'laropmet')).toMatchObject({ reward: 1, correct: true });
  expect(task.score(s.test[0], 'temporal')).toMatchObject({ reward: 0, feedback: 'Expected laropmet.' });
  // through a whole workflow input, too
  const input = parseWorkflowInput<{ task: TaskConfig }>('rlTraining', { task: { env: 'reverse' } });
  expect(input.task.env).toBe('reverse');
});

const issues = (schema: typeof taskConfigSchema, o: unknown) => (schema.safeParse(o).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');

test('an unknown task name fails at parse time, listing the known tasks (registered ones included)', () => {
  expect(issues(taskConfigSchema, { env: 'revers' })).toMatch(/^env: unknown task "revers"; known tasks: arithmetic, gsm8k, math, aime, hotpotqa, jsonl, tau2-airline, reverse /);
  // with the registry loaded, code_task does not let an unregistered name through
  expect(issues(taskConfigSchema, { env: 'nothere', code_task: true })).toMatch(/unknown task "nothere".*registerTask/);
  expect(issues(taskConfigSchema, { env: '1 bad' })).toMatch(/a task name is letters/);
  expect(() => registerTask('no spaces allowed', reverseTask)).toThrow(/registerTask: a task name/);
  expect(() => getTask({ ...taskConfigSchema.parse({}), env: 'nothere' })).toThrow(/unknown task "nothere" \(known: .*reverse\)/);
});

test('without the registry (the workflow sandbox) a code task needs code_task: true; typos still fail', () => {
  jest.isolateModules(() => {
    // a fresh copy of the config module, as the workflow bundle has: no task registry bound
    const { taskConfigSchema: sandboxSchema } = require('../../src/config/task') as typeof import('../../src/config/task');
    expect(issues(sandboxSchema, { env: 'reverse' })).toMatch(/unknown task "reverse"; known tasks: arithmetic, gsm8k, math, aime, hotpotqa, jsonl, tau2-airline \(.*code_task: true\)/);
    expect(sandboxSchema.parse({ env: 'reverse', code_task: true }).env).toBe('reverse');
    expect(sandboxSchema.parse({ env: 'gsm8k' }).env).toBe('gsm8k');
    expect(issues(sandboxSchema, { env: 'gsm8kk' })).toMatch(/unknown task "gsm8kk"/);
  });
});

test('scoreRollouts: a code task whose score throws scores 0 with the error as feedback; the batch goes on', async () => {
  const cfg = taskConfigSchema.parse({ env: 'reverse' });
  const dir = mkdtempSync(path.join(tmpdir(), 'score-'));
  const { prompts_ref } = await buildPrompts({ task: cfg, split: 'train', indices: [0, 1], system_prompt: 'sys', blob_dir: dir });
  const rollout = (prompt_index: number, sample_index: number, text: string) => ({
    prompt_index,
    sample_index,
    prompt_token_ids: [1],
    token_ids: [1, 2, 3],
    logprobs: [0, 0, 0],
    text,
    stop_reason: 'stop' as const,
  });
  const blob: RolloutsBlob = {
    model: { backend: 'local', base_model: 'tiny-random', lora_rank: 0, lora_alpha: 0, lora_target_modules: [], sampler: 'torch' },
    checkpoint: null,
    rollouts: [rollout(0, 0, 'laropmet'), rollout(0, 1, 'CRASH'), rollout(1, 0, 'apeg')],
  };
  const rollouts_ref = await new FileBlobStore(dir).put(blob);
  const r = await scoreRollouts({ task: cfg, split: 'train', indices: [0, 1], prompts_ref, rollouts_ref, blob_dir: dir });
  expect(r.rewards_PG).toEqual([[1, 0], [1]]);
  expect(r.correct_PG).toEqual([[true, false], [true]]);
  const traces = await readBlob<Array<{ feedback: string; reward: number }>>(r.traces_ref);
  expect(traces[1]).toMatchObject({ reward: 0, feedback: 'Scoring failed in task reverse: TypeError: cannot read properties of undefined. Scored 0.' });
});
