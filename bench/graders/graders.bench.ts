/**
 * bench/graders (TS): gsm8k grading checks per second (the `numeric` plain-number rule, goal >= 20k/s).
 * Math answers are graded by Math-Verify in Python: bench/graders/math_verify_bench.py.
 * Run: npx jest -c bench/graders/jest.config.js   (or: make bench-graders, which runs both)
 */
import { taskConfigSchema } from '../../src/config/task';
import { getTask, loadSplitsCached } from '../../src/tasks';

function rate(fn: () => void, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

test('gsm8k grading throughput', async () => {
  const gsmCfg = taskConfigSchema.parse({ env: 'gsm8k' });
  const gsm = getTask(gsmCfg);
  const g = (await loadSplitsCached(gsmCfg)).test;
  let i = 0;
  let correct = 0;
  // reference solutions (end in "#### n") and wrong answers in prose (the last-number path)
  const gsmRate = rate(() => {
    const x = g[i++ % g.length];
    correct += gsm.score(x, i % 2 ? `${x.solution}` : `About 3 boxes, so I think it is ${Number(x.answer) + 1} in total.`).correct ? 1 : 0;
  }, 20_000);
  console.log(`gsm8k grading: ${gsmRate.toFixed(0)} checks/s (goal >= 20000); ${correct} of 20000 accepted (the 10000 reference solutions)`);
  expect(correct).toBe(10_000);
});
