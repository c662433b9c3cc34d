/**
 * fastSlowTraining against the real dev server and the real Python trainer worker (tiny random
 * model; the deterministic reflector, fast_slow.debug, so no LM is needed). A user JSONL task with a
 * regex grader gives rewards that vary between samples, so the front, the trial and the train steps
 * all have something to work on.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TASK_QUEUE } from '../../src/constants';
import { fastSlowTraining } from '../../src/workflows/fastSlowTraining';
import { setPromptUpdate, statusQueries } from '../../src/workflows/messages';
import { loadReportData, renderReport } from '../../src/report';
import { createTsWorker, ROOT, tmpRunsDir, useTestStack, writeVowelsTask } from '../helpers/stack';
import { readJsonlFile as jsonl } from '../helpers/io';

const stack = useTestStack({ trainer: true });
const vowels = writeVowelsTask();

function input(runs: string, runId: string, nBatches: number, fastSlow: Record<string, unknown>) {
  return {
    run: { run_id: runId, output_dir: runs, seed: 3, trainer_heartbeat_timeout_s: 5 },
    task: { env: 'jsonl', jsonl_path: vowels, jsonl_grader: 'regex' },
    policy: { base_model: 'tiny-random', lora_rank: 4, lora_alpha: 8, lora_target_modules: ['q_proj', 'v_proj'], max_tokens: 6 },
    rl: { n_batches: nBatches, groups_per_batch: 3, group_size: 4, learning_rate: 1e-3, eval_every: 0, loss: 'cispo' },
    n_eval: 3,
    system_prompt: 'Be brief.',
    fast_slow: { debug: true, ...fastSlow },
  };
}


/** The activity types the workflow scheduled, in order. */
function scheduled(history: { events?: Array<Record<string, any>> | null }): string[] {
  return (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType.name as string] : []));
}

test('a GEPA round reflects on RL rollouts already sampled (no policy call of its own) and the next batch samples under the parent and the child', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const nBatches = 4;
  const { r, history, status } = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(fastSlowTraining, {
      taskQueue: TASK_QUEUE,
      workflowId: `fs-${Date.now()}`,
      args: [input(runs, 'fs1', nBatches, { gepa_every: 2, score_window: 2, prompts_per_group: 2, minibatch_size: 2 })],
    });
    const res = await h.result();
    const hist = await h.fetchHistory();
    if (process.env.UPDATE_HISTORIES) writeFileSync(path.join(ROOT, 'test/histories/fastSlowTraining.json'), historyToJSON(hist));
    return { r: res, history: hist, status: await h.query(statusQueries.fastSlowTraining) };
  });
  expect(r.batches_done).toBe(nBatches);
  expect(r.counters.rounds).toBe(1); // after step 1; after step 3 there is no later batch to judge a child
  expect(r.counters.proposed).toBe(1);
  expect(r.counters.accepted + r.counters.rejected).toBe(1); // judged after its one trial batch
  expect(r.pool.map((p) => [p.id, p.parent, p.origin])).toEqual([
    [0, null, 'seed'],
    [1, 0, 'gepa'],
  ]);
  expect(r.pool[1].text.startsWith('Be brief.\n')).toBe(true); // the debug reflector appends to its parent

  // every rollout row names its prompt: steps 0-1 under the seed alone, step 2 (the trial) under parent and child, two rollouts each per problem
  const rollouts = jsonl(path.join(runs, 'fs1/rollouts.jsonl'));
  expect(rollouts.length).toBe(nBatches * 3 * 4);
  const idsAt = (step: number) => rollouts.filter((x) => x.step === step).map((x) => x.prompt_id);
  expect(new Set(idsAt(0))).toEqual(new Set([0]));
  expect(new Set(idsAt(1))).toEqual(new Set([0]));
  expect(idsAt(2)).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);

  // the round scheduled no policy sampling: after batch 1's scoring, only its train step and the trace selection ran before the reflection
  const types = scheduled(history);
  const reflection = types.indexOf('proposeComponent');
  expect(reflection).toBeGreaterThan(0);
  const lastScoring = types.lastIndexOf('scoreRollouts', reflection);
  expect(types.slice(lastScoring + 1, reflection).filter((t) => t !== 'train_step')).toEqual(['selectTraces']);
  // one policy_sample per batch, plus the test evaluations: base x seed at the start; trained x {best, seed} and base x best at the end
  const best = r.best_prompt_id;
  const evals = 1 + (best === 0 ? 1 : 2) + (best === 0 ? 0 : 1);
  expect(types.filter((t) => t === 'policy_sample').length).toBe(nBatches + evals);

  // the proposal and its verdict are recorded, and the verdict compares the same problems
  const proposals = jsonl(path.join(runs, 'fs1/proposals.jsonl'));
  expect(proposals.map((p) => p.key)).toEqual(['round-0', 'verdict-0']);
  expect(proposals[0]).toMatchObject({ parent: 0, child: 1, step: 1, ok: true });
  expect(proposals[0].reflected_on.length).toBe(2);
  expect(proposals[1]).toMatchObject({ parent: 0, child: 1, judged_on: 'rollouts', n_pairs: 3 });

  // metrics: per-prompt tags, the 2x2 table, tinker-cookbook names
  const rows = jsonl(path.join(runs, 'fs1/metrics.jsonl'));
  const batchRows = rows.filter((m) => String(m.key).startsWith('batch-'));
  expect(batchRows.map((m) => m['progress/batch'])).toEqual([0, 1, 2, 3]);
  expect(batchRows[2]['fast_slow/prompts_in_batch']).toBe(2);
  expect(batchRows[2]['env/prompt_1/frac_rollouts']).toBe(0.5);
  expect(batchRows[1]['gepa/event']).toBe('trial');
  expect(typeof batchRows[2]['gepa/accepted']).toBe('number');
  const table = rows.find((m) => m.key === 'final-2x2')!;
  for (const k of ['base_weights/seed_prompt', 'base_weights/best_prompt', 'trained_weights/seed_prompt', 'trained_weights/best_prompt']) {
    expect(table[`test/2x2/${k}/correct`]).toBeGreaterThanOrEqual(0);
  }
  expect(r.table!.base_seed.accuracy).toBe(rows.find((m) => m.key === 'eval-0')!['test/env/all/correct']);
  // KL(pi_theta || pi_base) on the seed prompt's test rollouts: exactly 0 before any train step (LoRA's B = 0 at init), > 0 after
  expect(rows.find((m) => m.key === 'eval-0')!['test/kl_to_base']).toBe(0);
  expect(r.final_checkpoint).not.toBeNull();
  expect(Number.isFinite(table['test/kl_to_base'])).toBe(true);
  expect(table['test/kl_to_base']).toBeGreaterThan(0);
  expect(table['test/kl_to_base/k3']).toBeGreaterThan(0);
  expect(table['test/kl_to_base/tokens']).toBeGreaterThan(0);
  expect(r.kl_to_base!.kl).toBe(table['test/kl_to_base']);
  expect(r.kl_to_base_skipped).toBeNull();
  expect(types.filter((t) => t === 'policy_kl_to_base').length).toBe(2); // at the start and at the end
  // status shows the pool
  expect(status.pool.map((p) => p.id)).toEqual(r.pool.filter((p) => p.status === 'member').map((p) => p.id));
  expect(status.progress).toEqual({ done: nBatches, total: nBatches, unit: 'batches' });

  // the report: the 2x2 table, the pool over steps with a column per prompt, the child and its verdict
  const html = renderReport(loadReportData(path.join(runs, 'fs1')));
  expect(html).toContain('data-section="fast-slow"');
  expect(html).toMatch(/<th>trained weights<\/th><td>[\d.]+<\/td><td>[\d.]+<\/td>/);
  expect(html).toContain('<th>prompt 0</th><th>prompt 1</th>');
  expect(html).toMatch(/child 1 (kept|dropped)/);
  expect(html).toContain('data-table="fast-slow-kl"');
  expect(html).toMatch(/<tr><td>eval-0<\/td><td>0<\/td><td>0<\/td>/); // KL 0 at the start
  expect(jsonl(path.join(runs, 'fs1/prompts.jsonl'))[0]).toMatchObject({ candidate_id: 0, parent_ids: [], text: 'Be brief.' });
}, 900_000);

test('set_prompt adds a prompt to the pool and later batches sample under it; the E-SPL grouping and pause/resume run', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(fastSlowTraining, {
      taskQueue: TASK_QUEUE,
      workflowId: `fs-set-${Date.now()}`,
      args: [input(runs, 'fs2', 2, { gepa_every: 0, prompts_per_group: 2, advantage_group: 'prompt' })],
    });
    await h.signal('pause');
    const prev = await h.executeUpdate(setPromptUpdate, { args: ['Answer with vowels.'] });
    expect(prev).toEqual({ previous: 'Be brief.' });
    const s = await h.query(statusQueries.fastSlowTraining);
    expect(s.pool.map((p) => [p.id, p.origin])).toEqual([
      [0, 'seed'],
      [1, 'set_prompt'],
    ]);
    await h.signal('resume');
    return h.result();
  });
  expect(r.counters.set_prompts).toBe(1);
  const rollouts = jsonl(path.join(runs, 'fs2/rollouts.jsonl'));
  // two members, two prompts per group: every problem gets both, two rollouts each
  for (const step of [0, 1]) {
    const ids = rollouts.filter((x) => x.step === step).map((x) => x.prompt_id);
    expect([...ids].sort()).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  }
  const rows = jsonl(path.join(runs, 'fs2/metrics.jsonl')).filter((m) => String(m.key).startsWith('batch-'));
  expect(rows[0]['fast_slow/n_advantage_groups']).toBe(6); // 3 problems x 2 prompts
}, 900_000);

test('child_eval=minibatch judges the child at once on a fresh minibatch: two policy calls of its own, parent and child', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const { r, types } = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(fastSlowTraining, {
      taskQueue: TASK_QUEUE,
      workflowId: `fs-mb-${Date.now()}`,
      args: [input(runs, 'fs3', 3, { gepa_every: 2, child_eval: 'minibatch', minibatch_size: 2 })],
    });
    const res = await h.result();
    return { r: res, types: scheduled(await h.fetchHistory()) };
  });
  expect(r.counters).toMatchObject({ rounds: 1, proposed: 1 });
  expect(r.counters.accepted + r.counters.rejected).toBe(1);
  const reflection = types.indexOf('proposeComponent');
  // from the reflection to the end of its batch's rows: the round's own sampling
  const round = types.slice(reflection, types.indexOf('writeRolloutRows', reflection));
  expect(round.filter((t) => t === 'policy_sample').length).toBe(2);
  const verdict = jsonl(path.join(runs, 'fs3/proposals.jsonl')).find((p) => p.key === 'verdict-0');
  expect(verdict).toMatchObject({ judged_on: 'minibatch', parent: 0, child: 1, n_pairs: 2 });
}, 900_000);
