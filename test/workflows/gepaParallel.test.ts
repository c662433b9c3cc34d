/**
 * gepa.parallel_proposals and gepa.cache_evaluation on the real Temporal dev server (docs/GEPA.md):
 * iterations in flight at once never push the metric calls past max_metric_calls, a worker stopped
 * with iterations in flight loses none and pays none twice, and at temperature 0 a val row already
 * scored for a candidate text is not sampled or paid again. The policy and reflector are scripted
 * stand-ins for paid APIs (test/helpers/scripted.ts).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUE } from '../../src/constants';
import { parseWorkflowInput, ConfigError } from '../../src/config';
import { gepaOptimization } from '../../src/workflows/gepaOptimization';
import { createTsWorker, tmpRunsDir, useTestStack } from '../helpers/stack';
import { registerScriptedReplies } from '../helpers/scriptedProviders';
import { registerScriptedPolicy, registerScriptedReflector, registerTipsPolicy } from '../helpers/scripted';
import { readJsonlFile as jsonl } from '../helpers/io';

const stack = useTestStack({
  before: () => {
    registerScriptedPolicy();
    registerScriptedReflector();
  },
});


function input(runsDir: string, runId: string, gepa: Record<string, unknown>, policy: Record<string, unknown> = {}) {
  return {
    run: { run_id: runId, output_dir: runsDir, seed: 11 },
    task: { env: 'arithmetic', n_train: 12, n_val: 6, n_test: 4 },
    policy: { backend: 'api', api_provider: 'scripted', api_model: 'scripted-policy', ...policy },
    reflection: { provider: 'scripted', model: 'scripted-reflector' },
    gepa: { minibatch_size: 3, parallelism: 1, seed_prompt: 'Answer the question.', ...gepa },
  };
}

type History = Awaited<ReturnType<ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>['fetchHistory']>>;

/**
 * What the history says was sampled: problems per buildPrompts activity (each problem one metric
 * call at rollouts_per_problem 1); and the most activities outstanding at once (with
 * gepa.parallelism=1 a single iteration runs one at a time, while the dispatcher schedules the
 * first activity of every iteration it dispatches in one workflow task).
 */
function fromHistory(h: History): { sampled: number; maxOutstanding: number } {
  let sampled = 0;
  let outstanding = 0;
  let maxOutstanding = 0;
  const samples = new Set<string>();
  for (const e of h.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name === 'buildPrompts') {
      const req = JSON.parse(Buffer.from(s.input!.payloads![0].data!).toString('utf8'));
      if (req.split !== 'test') sampled += (req.indices as number[]).length;
    }
    if (s) {
      samples.add(String(e.eventId));
      maxOutstanding = Math.max(maxOutstanding, ++outstanding);
    }
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (done && samples.has(String(done.scheduledEventId))) outstanding -= 1;
  }
  return { sampled, maxOutstanding };
}

/** The run's status, or {} before its first workflow task has registered the query. */
async function statusOf(h: { query: (name: string) => Promise<unknown> }): Promise<{ metric_calls?: number }> {
  const s = await h.query('status').catch((e: Error) => {
    if (/did not register a handler/.test(String(e))) return {};
    throw e; // a failed run answers no query: say so instead of waiting
  });
  return (s ?? {}) as { metric_calls?: number };
}

/** Each iteration 1..n has exactly one event row in metrics.jsonl (none lost, none twice). */
/** Each candidate's prompts.jsonl row, by id: rows of iterations in flight together land in the order they complete (the report sorts them). */
function candidateRows(runDir: string): number[] {
  return jsonl(path.join(runDir, 'prompts.jsonl'))
    .map((p) => p.candidate_id)
    .sort((a, b) => a - b);
}

function iterationRows(runDir: string): number[] {
  return jsonl(path.join(runDir, 'metrics.jsonl'))
    .filter((m) => !['seed', 'final'].includes(m['gepa/event']))
    .map((m) => m['gepa/iteration'])
    .sort((a, b) => a - b);
}

test('P=4 with a budget that runs out while iterations are in flight: never past max_metric_calls, every paid call counted once', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  // seed 6 + 3 reservations of 12 fit in 50, a 4th does not: the run starts with 3 in flight and ends with some still running
  const { r, h } = await worker.runUntil(async () => {
    const handle = await stack.env.client.workflow.start(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-p4-${Date.now()}`, args: [input(runs, 'p4', { max_metric_calls: 50, parallel_proposals: 4 })] });
    return { r: await handle.result(), h: await handle.fetchHistory() };
  });
  const seen = fromHistory(h);
  expect(seen.maxOutstanding).toBeGreaterThan(1); // iterations overlapped (gepa.parallelism=1: one chunk per evaluation)
  expect(r.metric_calls).toBeLessThanOrEqual(50);
  expect(seen.sampled).toBe(r.metric_calls); // the budget is exactly what was sampled
  expect(r.stop_reason).toMatch(/^budget: \d+\/50 metric calls used; the next iteration could need 12$/);
  expect(r.metric_calls + 12).toBeGreaterThan(50);
  const metrics = jsonl(path.join(runs, 'p4/metrics.jsonl'));
  expect(metrics.every((m) => m['gepa/metric_calls'] <= 50)).toBe(true);
  expect(iterationRows(path.join(runs, 'p4'))).toEqual(Array.from({ length: r.iteration }, (_, i) => i + 1));
  expect(r.best_val_score).toBe(1);
  const run = JSON.parse(readFileSync(path.join(runs, 'p4/run.json'), 'utf8'));
  expect(run.summary).toMatchObject({ parallel_proposals: 4, metric_calls: r.metric_calls });
});

test('P=1 keeps one iteration at a time (the sequential loop)', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const { r, h } = await worker.runUntil(async () => {
    const handle = await stack.env.client.workflow.start(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-p1-${Date.now()}`, args: [input(runs, 'p1', { max_metric_calls: 50 })] });
    return { r: await handle.result(), h: await handle.fetchHistory() };
  });
  const seen = fromHistory(h);
  expect(seen.maxOutstanding).toBe(1);
  expect(seen.sampled).toBe(r.metric_calls);
  expect(iterationRows(path.join(runs, 'p1'))).toEqual(Array.from({ length: r.iteration }, (_, i) => i + 1));
});

test('a worker stopped with P=3 iterations in flight and resumed: nothing lost, nothing paid twice, never past the budget', async () => {
  const runs = tmpRunsDir();
  const h = await stack.env.client.workflow.start(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-p3-${Date.now()}`, args: [input(runs, 'p3', { max_metric_calls: 80, parallel_proposals: 3 })] });
  const w1 = await createTsWorker(stack.env, TASK_QUEUE);
  await w1.runUntil(async () => {
    for (;;) {
      const s = await statusOf(h);
      if ((s.metric_calls ?? 0) >= 12) return;
      await new Promise((res) => setTimeout(res, 20));
    }
  });
  const w2 = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await w2.runUntil(h.result());
  const seen = fromHistory(await h.fetchHistory());
  expect(seen.maxOutstanding).toBeGreaterThan(1);
  expect(r.metric_calls).toBeLessThanOrEqual(80);
  expect(seen.sampled).toBe(r.metric_calls);
  expect(iterationRows(path.join(runs, 'p3'))).toEqual(Array.from({ length: r.iteration }, (_, i) => i + 1));
  expect(candidateRows(path.join(runs, 'p3'))).toEqual(r.candidates.map((c) => c.id));
});

test('temperature 0: the evaluation cache serves a merged child its subsample rows on the val set; only sampled rows are paid; result, metrics and run.json count the hits', async () => {
  // the merge run of gepa.test.ts (two siblings each fixing one component, then merged), at max_iterations 4
  registerTipsPolicy('tips-policy-c');
  registerScriptedReplies('tips-reflector-c', (req) => {
    const p = req.messages[0].content;
    const cur = /```\n([\s\S]*?)\n```/.exec(p)?.[1] ?? '';
    const tip = p.startsWith('SUB') ? 'subtract carefully' : p.startsWith('MUL') ? 'multiply carefully' : null;
    return !tip || cur.includes(tip) ? `No change needed:\n\`\`\`\n${cur}\n\`\`\`` : `\`\`\`\n${cur} ${tip}\n\`\`\``;
  });
  const runs = tmpRunsDir();
  const cfg = (id: string, cache: boolean | undefined) => ({
    run: { run_id: id, output_dir: runs, seed: 7 },
    task: { env: 'arithmetic', n_train: 12, n_val: 6, n_test: 4, arithmetic_operators: '+-*' },
    policy: { backend: 'api', api_provider: 'scripted', api_model: 'tips-policy-c', temperature: 0 },
    reflection: { provider: 'scripted', model: 'tips-reflector-c' },
    gepa: {
      max_metric_calls: 200,
      max_iterations: 4,
      minibatch_size: 3,
      parallelism: 2,
      use_merge: true,
      components: { system_prompt: 'Answer the question.', sub: 'Subtraction:', mul: 'Multiplication:' },
      reflection_prompts: { sub: 'SUB\n```\n{current_text}\n```\n{examples}', mul: 'MUL\n```\n{current_text}\n```\n{examples}' },
      ...(cache === undefined ? {} : { cache_evaluation: cache }),
    },
  });
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const [on, off] = await worker.runUntil(async () => {
    const a = await stack.env.client.workflow.start(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-cache-on-${Date.now()}`, args: [cfg('on', undefined)] });
    const b = await stack.env.client.workflow.start(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-cache-off-${Date.now()}`, args: [cfg('off', false)] });
    return [{ r: await a.result(), h: await a.fetchHistory() }, { r: await b.result(), h: await b.fetchHistory() }];
  });
  // same decisions; the merge was tested and accepted in both
  expect(on.r.candidates).toEqual(off.r.candidates);
  expect(on.r.merges).toEqual({ tested: 1, accepted: 1 });
  const sub = jsonl(path.join(runs, 'on/proposals.jsonl')).find((p) => p.component === 'merge').subsample as number[];
  // the merged child's val set re-used its subsample rows: those were neither sampled nor paid
  expect(on.r.counters.cache_hits).toBe(sub.length);
  expect(off.r.counters.cache_hits).toBe(0);
  expect(off.r.metric_calls - on.r.metric_calls).toBe(sub.length);
  expect(fromHistory(on.h).sampled).toBe(on.r.metric_calls);
  expect(fromHistory(off.h).sampled).toBe(off.r.metric_calls);
  expect(jsonl(path.join(runs, 'on/metrics.jsonl')).pop()).toMatchObject({ 'gepa/cache_hits': sub.length });
  expect(JSON.parse(readFileSync(path.join(runs, 'on/run.json'), 'utf8')).summary).toMatchObject({ cache_hits: sub.length });
  expect(JSON.parse(readFileSync(path.join(runs, 'off/run.json'), 'utf8')).summary).toMatchObject({ cache_hits: null }); // null: the run kept no cache
});

test('P=3 with use_merge, stopped by the stop signal while iterations are in flight: they land, then the run ends; never past the budget', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const { r, h } = await worker.runUntil(async () => {
    const handle = await stack.env.client.workflow.start(gepaOptimization, {
      taskQueue: TASK_QUEUE,
      workflowId: `gepa-p3-merge-${Date.now()}`,
      args: [input(runs, 'p3m', { max_metric_calls: 200, parallel_proposals: 3, use_merge: true, components: { style: 'Be brief.' } })],
    });
    // stop once a few iterations have landed
    for (;;) {
      const s = await statusOf(handle);
      if ((s.metric_calls ?? 0) >= 40) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    await handle.signal('stop');
    return { r: await handle.result(), h: await handle.fetchHistory() };
  });
  expect(r.stop_reason).toBe('stop_signal');
  expect(r.metric_calls).toBeLessThanOrEqual(200);
  expect(fromHistory(h).sampled).toBe(r.metric_calls);
  // every iteration dispatched before the stop landed and wrote its one row
  expect(iterationRows(path.join(runs, 'p3m'))).toEqual(Array.from({ length: r.iteration }, (_, i) => i + 1));
  expect(candidateRows(path.join(runs, 'p3m'))).toEqual(r.candidates.map((c) => c.id));
});

test('cache_evaluation=true is refused at a temperature above 0, naming what was received; a value the temperature already implies too', () => {
  const err = (() => {
    try {
      parseWorkflowInput('gepaOptimization', input('/tmp', 'x', { cache_evaluation: true }, { temperature: 0.7 }));
    } catch (e) {
      return e as ConfigError;
    }
    return null;
  })();
  expect(err).toBeInstanceOf(ConfigError);
  expect(err!.message).toMatch(/gepa.cache_evaluation.*true needs a deterministic policy \(policy.temperature=0, got 0.7\).*got true/);
  // accepted only where it changes what runs: false at temperature 0; the value a temperature already implies is refused
  expect(() => parseWorkflowInput('gepaOptimization', input('/tmp', 'x', { cache_evaluation: false }, { temperature: 0 }))).not.toThrow();
  expect(() => parseWorkflowInput('gepaOptimization', input('/tmp', 'x', { cache_evaluation: false }, { temperature: 0.7 }))).toThrow(/false is what runs at policy.temperature=0.7 already/);
  expect(() => parseWorkflowInput('gepaOptimization', input('/tmp', 'x', { cache_evaluation: true }, { temperature: 0 }))).toThrow(/true is what runs at policy.temperature=0 already/);
});
