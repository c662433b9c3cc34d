/**
 * Math tasks in a run: the evaluation workflow's scoring goes to the real Python grader
 * (Math-Verify, queue gepa-rl-grader, polled by the trainer worker process), one call per sampled
 * chunk; that worker killed mid-batch is noticed by its heartbeat, the call is retried on a
 * grader-only worker and the run completes.
 * The policy is scripted (a stand-in for an API model) so the completions are known.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { TASK_QUEUE } from '../../src/constants';
import { registerScriptedReplies } from '../helpers/scriptedProviders';
import { evaluation } from '../../src/workflows/evaluation';
import { createTsWorker, startGraderWorker, startTrainerWorker, tmpRunsDir, useTestStack, type TrainerProcess } from '../helpers/stack';

jest.setTimeout(600_000);
const PENDING_ACTIVITY_STATE_STARTED = 2; // temporal.api.enums.v1.PendingActivityState

const stack = useTestStack();
const graders: TrainerProcess[] = [];

afterAll(async () => {
  for (const g of graders) await g.stop();
});

// gold, and the scripted completion for that problem
const PROBLEMS: Array<[gold: string, completion: string]> = [
  ['\\frac{1}{3}', 'so the answer is $\\frac13$'],
  ['3\\sqrt{13}', 'I get \\boxed{3}'],
  ['[0,1)', 'The set is \\boxed{[0,1)}'],
  ['5', 'maybe \\boxed{3^{3^{3^{17}}}}'], // Math-Verify's own 5 s limit: slow, then timed out
  ['1000', 'That is 1,000 in total.'],
  ['x \\geq 5', '\\boxed{x >= 5}'],
  ['12', 'no idea'],
  ['\\left( 3, \\frac{\\pi}{2} \\right)', '\\boxed{(3, \\pi/2)}'],
  ['0.5', 'the answer is 1/2'],
  ['7', '\\boxed{\\frac{}{}}'],
];
const EXPECTED_CORRECT = [true, false, true, false, true, true, false, true, true, false];

/** Rows of a CSV whose cells may be quoted (with "" for a quote). */
function csvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(cell), (cell = '');
    else if (ch === '\n') row.push(cell), rows.push(row), (row = []), (cell = '');
    else cell += ch;
  }
  return rows;
}

test('evaluation on a math JSONL task: Math-Verify decides; a grader killed mid-batch is retried and the run completes', async () => {
  const runsDir = tmpRunsDir();
  const file = path.join(runsDir, 'math.jsonl');
  // 10 rows: the jsonl split keeps 8 of them for train
  const rows = PROBLEMS.map(([answer], i) => ({ id: `p${i}`, question: `problem ${i}`, answer }));
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  registerScriptedReplies('scripted-math', (req) => {
    const user = req.messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n');
    const i = Number(/problem (\d+)/.exec(user)?.[1]);
    return PROBLEMS[i][1];
  });
  graders.push(await startTrainerWorker(stack.env.address)); // the trainer worker process polls the grader queue too
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const id = `math-eval-${Date.now()}`;
  const result = await worker.runUntil(async () => {
    const handle = await stack.env.client.workflow.start(evaluation, {
      taskQueue: TASK_QUEUE,
      workflowId: id,
      args: [
        {
          run: { run_id: 'math-eval', output_dir: runsDir, seed: 1 },
          task: { env: 'jsonl', jsonl_path: file, jsonl_grader: 'math' },
          policy: { backend: 'api', api_provider: 'scripted', api_model: 'scripted-math' },
          eval: { split: 'train' },
        },
      ],
    });
    // kill that worker (and with it its Math-Verify processes) once it holds the chunk's grading; a
    // grader-only worker takes the retry
    for (;;) {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      if (pending.some((a) => a.activityType?.name === 'math_verify_rollouts' && Number(a.state) === PENDING_ACTIVITY_STATE_STARTED)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    graders[0].proc.kill('SIGKILL');
    graders.push(await startGraderWorker(stack.env.address));
    const r = await handle.result();
    const history = await handle.fetchHistory();
    const attempts = (history.events ?? [])
      .filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
    return { r, attempts };
  });
  expect(result.r.n).toBe(8);
  expect(Math.max(...result.attempts)).toBeGreaterThanOrEqual(2); // the grading call was retried
  const csv = readFileSync(path.join(result.r.run_dir, 'evaluation.csv'), 'utf8');
  const [header, ...body] = csvRows(csv);
  const col = (name: string) => header.indexOf(name);
  const got = body.map((r) => [Number(r[col('id')].slice(1)), r[col('correct')] === 'true'] as const);
  expect(got).toHaveLength(8);
  for (const [i, correct] of got) expect([i, correct]).toEqual([i, EXPECTED_CORRECT[i]]);
  expect(result.r.accuracy).toBeCloseTo(got.filter(([, c]) => c).length / 8);
  expect(csv).toContain('Expected 3\\sqrt{13} (read as 3*sqrt(13)); extracted 3: not equivalent to the expected answer.');
  expect(csv).toContain('timed out in Math-Verify');
  expect(csv).toContain('Expected 12; extracted nothing: Math-Verify found no answer');
});
