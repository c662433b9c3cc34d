import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TASK_QUEUE } from '../../src/constants';
import { FENCE_REPAIR_PROMPT } from '../../src/core/gepa';
import { gepaOptimization } from '../../src/workflows/gepaOptimization';
import { createTsWorker, ROOT, tmpRunsDir, useTestStack } from '../helpers/stack';
import { registerScriptedReplies } from '../helpers/scriptedProviders';
import { reflectionPrompts, registerScriptedPolicy, registerScriptedReflector, registerTipsPolicy } from '../helpers/scripted';
import { readJsonlFile as jsonl } from '../helpers/io';

const stack = useTestStack({
  before: () => {
    registerScriptedPolicy();
    registerScriptedReflector();
  },
});

function input(runsDir: string, runId: string, over: Record<string, unknown> = {}, reflector = 'scripted-reflector') {
  return {
    run: { run_id: runId, output_dir: runsDir, seed: 11 },
    task: { env: 'arithmetic', n_train: 12, n_val: 6, n_test: 4 },
    policy: { backend: 'api', api_provider: 'scripted', api_model: 'scripted-policy' },
    // the debug reflector calls no LM, so a reflection section would be refused
    ...(over.debug ? {} : { reflection: { provider: 'scripted', model: reflector } }),
    gepa: { max_metric_calls: 40 as number | undefined, minibatch_size: 3, parallelism: 2, seed_prompt: 'Answer the question.', ...over },
  };
}


test('GEPA improves the prompt, never exceeds the budget, rejects unchanged replies and records everything', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-${Date.now()}`, args: [input(runs, 'g1')] });
    const res = await h.result();
    expect(await h.query('status')).toMatchObject({ phase: 'done' });
    return res;
  });
  expect(r.metric_calls).toBeLessThanOrEqual(40);
  expect(r.n_candidates).toBe(2);
  expect(r.best_prompt).toMatch(/step by step/);
  expect(r.best_val_score).toBe(1);
  expect(r.seed_val_score).toBeLessThan(1);
  expect(r.stop_reason).toMatch(/budget/);
  const prompts = jsonl(path.join(runs, 'g1/prompts.jsonl'));
  expect(prompts.map((p) => p.candidate_id)).toEqual([0, 1]);
  expect(prompts[1].parent_ids).toEqual([0]);
  const metrics = jsonl(path.join(runs, 'g1/metrics.jsonl'));
  expect(metrics.every((m) => m['gepa/metric_calls'] <= 40)).toBe(true);
  expect(metrics[metrics.length - 1]['gepa/best_val_score']).toBe(1);
});

test('a truncated reflection reply is rejected and remembered, never adopted; no repair call by default', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await worker.runUntil(
    stack.env.client.workflow.execute(gepaOptimization, {
      taskQueue: TASK_QUEUE,
      workflowId: `gepa-junk-${Date.now()}`,
      args: [input(runs, 'g2', { seed_prompt: 'JUNK: answer the question.', max_metric_calls: 30 })],
    }),
  );
  expect(r.counters.rejected_unfenced).toBeGreaterThan(1);
  expect(r.n_candidates).toBe(1);
  expect(r.best_prompt).toBe('JUNK: answer the question.');
  // the rejected reply is shown back to the reflector on the next iteration
  const turns = reflectionPrompts.filter((p) => p.includes('JUNK: answer the question.'));
  expect(turns.some((p) => p.includes(FENCE_REPAIR_PROMPT))).toBe(false);
  expect(turns.length).toBeGreaterThan(1);
  expect(turns[1]).toMatch(/rejected[\s\S]*\(truncated\) Sure! Think step by step and answer/);
  const proposals = jsonl(path.join(runs, 'g2/proposals.jsonl'));
  expect(proposals.length).toBe(r.counters.rejected);
  for (const p of proposals) {
    expect(p).toMatchObject({ component: 'system_prompt', ok: false, reason: 'truncated', first_reply_unfenced: false, reflection_calls: 1, outcome: 'rejected_reflection' });
  }
});

test('a complete reply without a fence is adopted whole, as the reference does', async () => {
  registerScriptedReplies('prose-reflector', (req) => {
    const current = /```\n([\s\S]*?)\n```/.exec(req.messages[0].content)?.[1] ?? '';
    return /step by step/.test(current) ? current : `${current} Think step by step.`;
  });
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await worker.runUntil(
    stack.env.client.workflow.execute(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-prose-${Date.now()}`, args: [input(runs, 'g9', {}, 'prose-reflector')] }),
  );
  expect(r.best_prompt).toBe('Answer the question. Think step by step.');
  expect(r.best_val_score).toBe(1);
  expect(jsonl(path.join(runs, 'g9/proposals.jsonl'))[0]).toMatchObject({ ok: true, reflection_calls: 1, outcome: 'accepted as candidate 1' });
});

test('with the default budget a run scores a val subset that fits it and iterates; eval_test scores seed and best on test; result, status, metrics and run.json say so', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const cfg = { ...input(runs, 'g10', { max_metric_calls: undefined, eval_test: true }), n_eval: 9 };
  cfg.task = { env: 'arithmetic', n_train: 40, n_val: 50, n_test: 12 };
  const { r, status } = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-default-${Date.now()}`, args: [cfg] });
    const res = await h.result();
    return { r: res, status: (await h.query('status')) as Record<string, unknown> };
  });
  expect(r.val_size).toBe(33); // 50 val rows, budget 150, minibatch 3: seed + 3 full iterations fit
  expect(r.max_metric_calls).toBe(150);
  expect(r.iteration).toBeGreaterThanOrEqual(3);
  expect(r.metric_calls).toBeLessThanOrEqual(150);
  expect(r.stop_reason).toMatch(/^budget: \d+\/150 metric calls used/);
  expect(r.n_test).toBe(9);
  expect(r.test_score).toBe(1);
  expect(r.seed_test_score).toBeLessThan(1);
  expect(status).toMatchObject({ phase: 'done', test_score: r.test_score, seed_test_score: r.seed_test_score, seed_val_score: r.seed_val_score, best_val_score: r.best_val_score });
  const last = jsonl(path.join(runs, 'g10/metrics.jsonl')).pop();
  expect(last).toMatchObject({ 'final/best_score': r.best_val_score, 'final/test_score': r.test_score, 'final/seed_test_score': r.seed_test_score, 'gepa/metric_calls': r.metric_calls });
  // and under tinker-cookbook's GEPA recipe names, with its best_prompt.txt in the run directory
  expect(last).toMatchObject({ 'final/num_candidates': r.candidates.length, 'final/total_metric_calls': r.metric_calls });
  expect(readFileSync(path.join(runs, 'g10/best_prompt.txt'), 'utf8')).toBe(`=== system_prompt ===\n${r.best_prompt}\n\n`);
  const run = JSON.parse(readFileSync(path.join(runs, 'g10/run.json'), 'utf8'));
  expect(run.summary).toMatchObject({ metric_calls: r.metric_calls, max_metric_calls: 150, stop_reason: r.stop_reason, best_val_score: r.best_val_score, seed_val_score: r.seed_val_score, test_score: 1, seed_test_score: r.seed_test_score });
});

test('debug reflector, rollouts_per_problem and pool_size in a run: no LM call, every sample a metric call, at most pool_size live candidates', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await worker.runUntil(
    stack.env.client.workflow.execute(gepaOptimization, {
      taskQueue: TASK_QUEUE,
      workflowId: `gepa-debug-${Date.now()}`,
      args: [input(runs, 'g11', { debug: true, rollouts_per_problem: 2, pool_size: 1, max_metric_calls: 80 }, 'nobody-registered-this')],
    }),
  );
  expect(r.reflection_usage.calls).toBe(0);
  expect(r.n_live_candidates).toBeLessThanOrEqual(1);
  const metrics = jsonl(path.join(runs, 'g11/metrics.jsonl'));
  expect(metrics[0]).toMatchObject({ 'gepa/event': 'seed', 'gepa/metric_calls': 12 }); // 6 val rows x 2 samples
  const proposals = jsonl(path.join(runs, 'g11/proposals.jsonl'));
  expect(proposals[0]).toMatchObject({ ok: true, reflection_calls: 0 });
  expect(proposals[0].text).toMatch(/^Answer the question\.\nNote: /);
  expect(r.metric_calls).toBeLessThanOrEqual(80);
});

test("budget_rule=reference runs iterations until the limit is reached, as gepa-ai/gepa; strict stops before an iteration could pass it", async () => {
  // val 6, minibatch 3: an iteration costs 6 (rejected child) or 12 (accepted); budget 21 pays the seed (6) plus one worst case
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const run = (id: string, budget_rule: string) =>
    stack.env.client.workflow.execute(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-rule-${id}-${Date.now()}`, args: [input(runs, id, { debug: true, max_metric_calls: 21, budget_rule }, 'nobody-registered-this')] });
  const [strict, reference] = await worker.runUntil(Promise.all([run('g12', 'strict'), run('g13', 'reference')]));
  expect(strict.counters.iterations).toBe(1); // 12 or 18 used: the next could need 12 > what is left
  expect(strict.metric_calls).toBeLessThanOrEqual(21);
  expect(strict.stop_reason).toMatch(/the next iteration could need 12/);
  expect(reference.counters.iterations).toBeGreaterThanOrEqual(2); // 12 or 18 < 21: one more
  expect(reference.metric_calls).toBeGreaterThanOrEqual(21);
  expect(reference.stop_reason).toMatch(/budget: \d+\/21 metric calls used; the limit is reached \(gepa.budget_rule=reference/);
});

test('a reflection LM that still fails after its retries is a rejected proposal, and the run goes on; usage is recorded per call', async () => {
  // 5 failing calls = every attempt of the first reflection activity; fast retries via retry-after-ms
  registerScriptedReplies('gpt-4o-mini-flaky', (req, call) => {
    if (call < 5) throw Object.assign(new Error('the server is overloaded'), { status: 503, headers: { 'retry-after-ms': '10' } });
    const current = /```\n([\s\S]*?)\n```/.exec(req.messages[0].content)?.[1] ?? '';
    return /step by step/.test(current) ? `\`\`\`\n${current}\n\`\`\`` : `\`\`\`\n${current}\nThink step by step.\n\`\`\``;
  });
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await worker.runUntil(
    stack.env.client.workflow.execute(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-flaky-${Date.now()}`, args: [input(runs, 'g5', {}, 'gpt-4o-mini-flaky')] }),
  );
  expect(r.counters.reflection_errors).toBe(1);
  expect(r.n_candidates).toBe(2);
  expect(r.best_prompt).toMatch(/step by step/);
  const proposals = jsonl(path.join(runs, 'g5/proposals.jsonl'));
  expect(proposals[0]).toMatchObject({ ok: false, reason: 'reflection error', reflection_calls: 0, outcome: 'rejected_reflection' });
  expect(proposals[0].text).toMatch(/^reflection error: .*overloaded/);
  expect(proposals[1]).toMatchObject({ ok: true, outcome: 'accepted as candidate 1' });
  // tokens and cost: per call in proposals.jsonl, cumulative in metrics rows and totals in the result
  const sum = (k: string) => proposals.reduce((a, p) => a + p[k], 0);
  expect(r.reflection_usage.calls).toBe(sum('reflection_calls'));
  expect(r.reflection_usage.tokens_in).toBe(sum('tokens_in'));
  expect(r.reflection_usage.tokens_out).toBe(sum('tokens_out'));
  expect(r.reflection_usage.tokens_in).toBeGreaterThan(0);
  expect(r.reflection_usage.cost_usd).toBeCloseTo((r.reflection_usage.tokens_in * 0.15 + r.reflection_usage.tokens_out * 0.6) / 1e6, 12);
  const metrics = jsonl(path.join(runs, 'g5/metrics.jsonl'));
  const last = metrics[metrics.length - 1];
  expect(last['gepa/reflection_tokens_in']).toBe(r.reflection_usage.tokens_in);
  expect(last['gepa/reflection_tokens_out']).toBe(r.reflection_usage.tokens_out);
  expect(last['gepa/reflection_cost_usd']).toBeCloseTo(r.reflection_usage.cost_usd!, 12);
  const ins = metrics.map((m) => m['gepa/reflection_tokens_in']);
  expect(ins).toEqual([...ins].sort((a, b) => a - b)); // cumulative
});

test('a reflection LM that cannot be built fails the run at once, saying what is missing', async () => {
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const err = await worker.runUntil(
    stack.env.client.workflow
      .execute(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-nokey-${Date.now()}`, args: [input(tmpRunsDir(), 'g6', {}, 'nobody-registered-this')] })
      .catch((e) => e),
  );
  expect(String(err.cause?.message)).toMatch(
    /the reflection LM \(provider=scripted, model=nobody-registered-this\) cannot be used: no scripted replies registered for model "nobody-registered-this"/,
  );
});

test('the stop signal ends the run between steps with stop_reason stop_signal', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-stop-${Date.now()}`, args: [input(runs, 'g7')] });
    await h.signal('stop');
    return h.result();
  });
  expect(r.stop_reason).toBe('stop_signal');
  expect(r.iteration).toBe(0);
  expect(r.n_candidates).toBe(1); // the seed is still evaluated: the signal is honoured between steps
});

test('a budget that cannot pay for the seed plus one iteration is refused before anything is spent, with the minimum', async () => {
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const err = await worker.runUntil(
    stack.env.client.workflow
      .execute(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-budget-${Date.now()}`, args: [input(tmpRunsDir(), 'g3', { max_metric_calls: 5 })] })
      .catch((e) => e),
  );
  expect(String(err.cause?.message)).toMatch(/max_metric_calls=5 cannot pay for the seed evaluation on 6 val rows plus one iteration .*it needs at least 18/);
  expect(err.cause?.nonRetryable).toBe(true);
});

test('a run whose worker is stopped mid-run and resumed ends with exactly the candidates of an uninterrupted run', async () => {
  const runs = tmpRunsDir();
  const cfg = (id: string) => input(runs, id, { max_metric_calls: 60 });
  const w1 = await createTsWorker(stack.env, TASK_QUEUE);
  const straight = await w1.runUntil(stack.env.client.workflow.execute(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-a-${Date.now()}`, args: [cfg('a')] }));

  const h = await stack.env.client.workflow.start(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `gepa-b-${Date.now()}`, args: [cfg('b')] });
  const w2 = await createTsWorker(stack.env, TASK_QUEUE);
  await w2.runUntil(async () => {
    // stop the worker once the run is part-way through
    for (;;) {
      const s = (await h.query('status')) as { metric_calls?: number };
      if ((s.metric_calls ?? 0) >= 12) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  const w3 = await createTsWorker(stack.env, TASK_QUEUE);
  const resumed = await w3.runUntil(h.result());
  expect(resumed.candidates).toEqual(straight.candidates);
  expect(resumed.best_prompt).toEqual(straight.best_prompt);
  expect(resumed.metric_calls).toEqual(straight.metric_calls);
  expect(resumed.counters).toEqual(straight.counters);
});

test('multi-component candidates with per-component reflection prompts; two siblings that fixed different components are merged', async () => {
  registerTipsPolicy();
  // reflector: the sub/mul templates start with SUB/MUL; it adds that tip once; anything else is left alone
  const seen: string[] = [];
  registerScriptedReplies('tips-reflector', (req) => {
    const p = req.messages[0].content;
    if (req.messages.length === 1) seen.push(p);
    const cur = /```\n([\s\S]*?)\n```/.exec(p)?.[1] ?? '';
    const tip = p.startsWith('SUB') ? 'subtract carefully' : p.startsWith('MUL') ? 'multiply carefully' : null;
    return !tip || cur.includes(tip) ? `No change needed:\n\`\`\`\n${cur}\n\`\`\`` : `\`\`\`\n${cur} ${tip}\n\`\`\``;
  });
  const runs = tmpRunsDir();
  const components = { system_prompt: 'Answer the question.', sub: 'Subtraction:', mul: 'Multiplication:' };
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  // the committed history of gepaOptimization (UPDATE_HISTORIES=1): this run takes every branch of
  // the loop (seed, reflection accepted and rejected, merge, test evaluation, final)
  const r = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(gepaOptimization, {
      taskQueue: TASK_QUEUE,
      workflowId: `gepa-merge-${Date.now()}`,
      args: [
        {
          run: { run_id: 'g8', output_dir: runs, seed: 7 },
          task: { env: 'arithmetic', n_train: 12, n_val: 6, n_test: 4, arithmetic_operators: '+-*' },
          policy: { backend: 'api', api_provider: 'scripted', api_model: 'tips-policy' },
          reflection: { provider: 'scripted', model: 'tips-reflector' },
          gepa: {
            max_metric_calls: 90,
            minibatch_size: 3,
            parallelism: 2,
            use_merge: true,
            components,
            reflection_prompts: { sub: 'SUB\n```\n{current_text}\n```\n{examples}', mul: 'MUL\n```\n{current_text}\n```\n{examples}' },
            eval_test: true,
          },
        },
      ],
    });
    const res = await h.result();
    if (process.env.UPDATE_HISTORIES) writeFileSync(path.join(ROOT, 'test/histories/gepaOptimization.json'), historyToJSON(await h.fetchHistory()));
    return res;
  });
  // per-component templates; system_prompt falls back to the default template
  expect(seen.some((p) => p.startsWith('SUB'))).toBe(true);
  expect(seen.some((p) => p.startsWith('MUL'))).toBe(true);
  expect(seen.some((p) => p.includes('## Current instructions (system_prompt)'))).toBe(true);
  // c1 and c2 are siblings from the seed, each fixing one component; c3 merges them
  expect(r.candidates.map((c) => c.parents)).toEqual([[], [0], [0], [1, 2]]);
  expect(r.merges).toEqual({ tested: 1, accepted: 1 });
  expect(r.best_val_score).toBe(1);
  expect(r.best_components).toEqual({ system_prompt: 'Answer the question.', sub: 'Subtraction: subtract carefully', mul: 'Multiplication: multiply carefully' });
  expect(r.best_prompt).toBe('Answer the question.\n\nSubtraction: subtract carefully\n\nMultiplication: multiply carefully');
  expect(r.metric_calls).toBeLessThanOrEqual(90);
  const prompts = jsonl(path.join(runs, 'g8/prompts.jsonl'));
  expect(prompts[1].components).toEqual({ ...components, sub: 'Subtraction: subtract carefully' });
  expect(prompts[2].components).toEqual({ ...components, mul: 'Multiplication: multiply carefully' });
  const merge = jsonl(path.join(runs, 'g8/proposals.jsonl')).find((p) => p.component === 'merge');
  expect(merge).toMatchObject({ parent_ids: [1, 2], ancestor: 0, sources: [1, 1, 2], ok: true, outcome: 'accepted as candidate 3' });
  expect(merge.child_sum).toBeGreaterThanOrEqual(Math.max(...merge.parent_sums));
  const metrics = jsonl(path.join(runs, 'g8/metrics.jsonl'));
  expect(metrics.filter((m) => m['gepa/event'] === 'accepted_merge')).toHaveLength(1);
  // the branches this run (the committed history) takes
  const events = new Set(metrics.map((m) => m['gepa/event']));
  for (const e of ['seed', 'accepted', 'rejected_reflection', 'accepted_merge', 'final']) expect(events).toContain(e);
  expect(r.n_test).toBe(4);
});
