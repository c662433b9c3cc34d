/**
 * bench/graders: checks per second for gsm8k and math grading, and the fraction of MATH-500 rows
 * whose own reference solution's final answer the grader accepts against the gold answer.
 * Run: npx jest -c bench/graders/jest.config.js   (or: make bench-graders)
 */
import { taskConfigSchema } from '../../src/config/task';
import { getTask, loadSplitsCached } from '../../src/tasks';

function rate(fn: () => void, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

test('grader throughput and MATH-500 self-consistency', async () => {
  const gsmCfg = taskConfigSchema.parse({ env: 'gsm8k' });
  const mathCfg = taskConfigSchema.parse({ env: 'math' });
  const gsm = getTask(gsmCfg);
  const math = getTask(mathCfg);
  const g = (await loadSplitsCached(gsmCfg)).test;
  const m = (await loadSplitsCached(mathCfg)).test;
  let i = 0;
  const gsmRate = rate(() => {
    const x = g[i++ % g.length];
    gsm.score(x, `${x.solution}`);
  }, 2000);
  i = 0;
  const mathRate = rate(() => {
    const x = m[i++ % m.length];
    math.score(x, String(x.solution));
  }, 1000);
  // wrong answers exercise the computer-algebra path (string equality does not short-circuit)
  i = 0;
  const mathWrongRate = rate(() => {
    const x = m[i++ % m.length];
    math.score(x, `\\boxed{${x.answer}+1}`);
  }, 500);
  const accepted = m.filter((x) => math.score(x, String(x.solution)).correct).length;
  console.log(
    [
      `gsm8k grading: ${gsmRate.toFixed(0)} checks/s`,
      `math grading (reference solutions): ${mathRate.toFixed(0)} checks/s`,
      `math grading (wrong answers, CAS path): ${mathWrongRate.toFixed(0)} checks/s`,
      `MATH-500 reference solutions accepted: ${accepted}/${m.length} = ${((100 * accepted) / m.length).toFixed(1)}%`,
    ].join('\n'),
  );
  expect(accepted).toBeGreaterThan(0);
});
