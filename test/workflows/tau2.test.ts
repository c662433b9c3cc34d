/**
 * env=tau2-airline through the real workflows on the Temporal dev server, with scripted agent, user
 * and reflector (test/helpers/tau2Scripted.ts): evaluation with k trials reports pass^k, the
 * per-task table and the refusal floor; GEPA on the policy raises the train score, with records
 * only from failed episodes.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TASK_QUEUE } from '../../src/constants';
import { airlinePolicy } from '../../src/tasks/tau2/data';
import { evaluation } from '../../src/workflows/evaluation';
import { gepaOptimization } from '../../src/workflows/gepaOptimization';
import { createTsWorker, tmpRunsDir, useTestStack } from '../helpers/stack';
import { agentCalls, registerScriptedTau2Agent, registerScriptedTau2Reflector, registerScriptedTau2User, RULE, tau2ReflectionPrompts } from '../helpers/tau2Scripted';
import { readJsonlFile } from '../helpers/io';

const stack = useTestStack({
  before: () => {
    registerScriptedTau2Agent();
    registerScriptedTau2Agent('scripted-tau2-agent-503', { failAtCall: { n: 3, times: 1 } });
    // priced like gpt-4.1 (the scripted provider prices a model named after a real one)
    registerScriptedTau2Agent('gpt-4.1-scripted-tau2');
    registerScriptedTau2User();
    registerScriptedTau2Reflector();
  },
});

const task = (over: Record<string, unknown> = {}) => ({ env: 'tau2-airline', tau2_user_provider: 'scripted', tau2_user_model: 'scripted-tau2-user', ...over });
const policy = { backend: 'api', api_provider: 'scripted', api_model: 'scripted-tau2-agent', temperature: 0 };

test('evaluate: k trials, pass^1 and pass^k, per-task table, refusal floor; the agent at temperature 0 by default', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const callsBefore = agentCalls.length;
  const r = await worker.runUntil(
    stack.env.client.workflow.execute(evaluation, {
      taskQueue: TASK_QUEUE,
      workflowId: `tau2-eval-${Date.now()}`,
      // the seed policy (the default prompt stands for policy.md): the scripted agent never writes
      args: [{ run: { run_id: 'e1', output_dir: runs }, task: task({ n_test: 6 }), policy: { ...policy, temperature: undefined }, eval: { split: 'test', trials: 2, parallelism: 3 } }],
    }),
  );
  // test tasks 2 6 8 13 16 18: 2, 6, 13 make no DB change and have nothing to communicate
  expect(r.tau2).toMatchObject({ n_tasks: 6, trials: 2, pass_hat: { 'pass^1': 0.5, 'pass^2': 0.5 }, refusal_floor: 0.5, pass1_db_changing: 0, pass1_no_change: 1 });
  expect(r.tau2!.per_task.map((p) => [p.task_id, p.successes, p.trials, p.db_changing])).toEqual([
    ['2', 2, 2, false],
    ['6', 2, 2, false],
    ['8', 0, 2, true],
    ['13', 2, 2, false],
    ['16', 0, 2, true],
    ['18', 0, 2, true],
  ]);
  expect(r.tau2!.usage.agent.calls).toBe(12);
  expect(r.tau2!.usage.user.calls).toBe(24);
  // no policy.temperature given: the agent samples at 0, tau2-bench's default
  const calls = agentCalls.slice(callsBefore).filter((c) => c.model === 'scripted-tau2-agent');
  expect(calls).toHaveLength(12);
  expect(calls.every((c) => c.temperature === 0)).toBe(true);
  expect(r.accuracy).toBe(0.5);
  const file = JSON.parse(readFileSync(path.join(runs, 'e1/tau2_evaluation.json'), 'utf8'));
  expect(file.pass_hat['pass^2']).toBe(0.5);
});

test('GEPA on the policy, started with no seed prompt (as `temporal workflow start` does): it evolves policy.md; a reflector that adds the rule raises the train score; records only from failures', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  tau2ReflectionPrompts.length = 0;
  const seed = airlinePolicy();
  const r = await worker.runUntil(
    stack.env.client.workflow.execute(gepaOptimization, {
      taskQueue: TASK_QUEUE,
      workflowId: `tau2-gepa-${Date.now()}`,
      args: [
        {
          run: { run_id: 'g1', output_dir: runs, seed: 3 },
          task: task({ n_train: 6, n_val: 6 }),
          policy,
          reflection: { provider: 'scripted', model: 'scripted-tau2-reflector' },
          // no seed_prompt: the task seeds GEPA with policy.md (the rule lives in the workflow, not the CLI)
          gepa: { max_metric_calls: 40, minibatch_size: 3, parallelism: 3, eval_test: true },
          n_eval: 6,
        },
      ],
    }),
  );
  // train 0 1 3 4 5 7: the never-writing seed passes 0 1 4 5; with the rule all six pass
  expect(r.seed_val_score).toBeCloseTo(4 / 6, 6);
  expect(r.best_val_score).toBe(1);
  // eval_test: the seed and the best policy on the first 6 test tasks (episodes as on train); the rule helps there too
  expect(r.n_test).toBe(6);
  expect(r.seed_test_score).toBeLessThan(1);
  expect(r.test_score).toBeGreaterThan(r.seed_test_score!);
  expect(r.best_prompt).toContain(RULE);
  expect(r.best_prompt.startsWith(seed)).toBe(true);
  // the seed candidate is policy.md itself, and the reflector was shown policy.md to rewrite
  const prompts = readJsonlFile(path.join(runs, 'g1/prompts.jsonl'));
  expect(prompts[0]).toMatchObject({ candidate_id: 0, text: seed });
  expect(tau2ReflectionPrompts[0]).toContain(seed.slice(0, 200));
  expect(tau2ReflectionPrompts.length).toBeGreaterThan(0);
  for (const p of tau2ReflectionPrompts) {
    expect(p).not.toMatch(/Task completed successfully/);
    expect(p).toMatch(/Agent failed to take any actions|The agent never told the user/);
  }
});

test('an episode whose provider fails mid-way is retried by Temporal and resumes from its last heartbeat', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const model = 'scripted-tau2-agent-503';
  const r = await worker.runUntil(
    stack.env.client.workflow.execute(evaluation, {
      taskQueue: TASK_QUEUE,
      workflowId: `tau2-retry-${Date.now()}`,
      // test index 2 is task 8: 4 gold actions (a booking), so 5 agent calls in an uninterrupted episode
      args: [{ run: { run_id: 'r1', output_dir: runs }, task: task({ n_test: 3 }), policy: { ...policy, api_model: model }, system_prompt: `${airlinePolicy()}\n${RULE}`, eval: { split: 'test' } }],
    }),
  );
  expect(r.tau2!.per_task.map((p) => p.successes)).toEqual([1, 1, 1]);
  // test index 0 is task 2 (3 reads): its 3rd agent call failed once; the retry resumed after step 0
  expect(r.tau2!.per_task[0]).toMatchObject({ task_id: '2', attempts: [2] });
  expect(r.tau2!.per_task[0].resumed_from_steps[0]).toBeGreaterThan(0);
  expect(r.tau2!.per_task.slice(1).map((p) => p.attempts)).toEqual([[1], [1]]);
  // the agent calls made: every call once, plus the one that failed
  const calls = agentCalls.filter((c) => c.model === model).length;
  const perTask = r.tau2!.usage.agent.calls;
  expect(calls).toBe(perTask + 1);
  const blobs = JSON.parse(readFileSync(path.join(runs, 'r1/tau2_evaluation.json'), 'utf8'));
  expect(blobs.usage.agent.calls).toBe(perTask);
});

test('GEPA max_cost_usd: stops before an iteration would push the spend past the budget', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const args = (max: number) => ({
    run: { run_id: `c${max}`, output_dir: runs, seed: 3 },
    task: task({ n_train: 6, n_val: 6 }),
    policy: { ...policy, api_model: 'gpt-4.1-scripted-tau2' },
    reflection: { provider: 'scripted', model: 'scripted-tau2-reflector' },
    gepa: { max_metric_calls: 40, minibatch_size: 3, parallelism: 3, seed_prompt: airlinePolicy(), max_cost_usd: max },
  });
  const r = await worker.runUntil(stack.env.client.workflow.execute(gepaOptimization, { taskQueue: TASK_QUEUE, workflowId: `tau2-cost-${Date.now()}`, args: [args(0.6)] }));
  expect(r.stop_reason).toMatch(/^cost budget: spent \$[0-9.]+ of max_cost_usd \$0.6; the next iteration/);
  const spent = Number(/spent \$([0-9.]+)/.exec(r.stop_reason!)![1]);
  const next = Number(/~\$([0-9.]+)/.exec(r.stop_reason!)![1]);
  expect(spent).toBeGreaterThan(0);
  expect(spent).toBeLessThanOrEqual(0.6);
  expect(spent + next).toBeGreaterThan(0.6);
  expect(r.metric_calls).toBeLessThan(40);
});

test('an episode that cannot read the airline DB fails the run at once: DatasetError is not retried (the one non-retryable list)', async () => {
  // a data folder whose db.json lacks its tables; every other file is the real one
  const data = mkdtempSync(path.join(tmpdir(), 'tau2-data-'));
  cpSync(path.resolve(__dirname, '../../data/tau2_airline'), path.join(data, 'tau2_airline'), { recursive: true, filter: (f) => !f.endsWith('db.json') });
  writeFileSync(path.join(data, 'tau2_airline/db.json'), '{"flights": {}}');
  const before = process.env.GEPA_RL_DATA_DIR;
  process.env.GEPA_RL_DATA_DIR = data;
  try {
    const runs = tmpRunsDir();
    const worker = await createTsWorker(stack.env, TASK_QUEUE);
    const failure = await worker.runUntil(async () => {
      const h = await stack.env.client.workflow.start(evaluation, {
        taskQueue: TASK_QUEUE,
        workflowId: `tau2-baddb-${Date.now()}`,
        args: [{ run: { run_id: 'd1', output_dir: runs }, task: task({ n_test: 1 }), policy, eval: { split: 'test' } }],
      });
      const err = await h.result().then(() => null, (e: Error) => e);
      const history = (await h.fetchHistory()).events ?? [];
      return { err, history };
    });
    const chain: string[] = [];
    for (let f: any = failure.err; f; f = f.cause) chain.push(`${f.type ?? f.name}: ${f.message}`);
    expect(chain.join(' <- ')).toMatch(/DatasetError: airline db: missing table "users"/);
    const started = failure.history.filter((e) => e.activityTaskStartedEventAttributes && /tau2Episode/.test(JSON.stringify(failure.history.find((s) => Number(s.eventId) === Number(e.activityTaskStartedEventAttributes!.scheduledEventId))?.activityTaskScheduledEventAttributes?.activityType)));
    expect(started.map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([1]);
  } finally {
    if (before === undefined) delete process.env.GEPA_RL_DATA_DIR;
    else process.env.GEPA_RL_DATA_DIR = before;
  }
}, 120_000);
