/**
 * rlTraining against the real dev server and the real Python trainer worker (tiny random model).
 * A user JSONL task with a regex grader gives rewards that vary between samples, so real train
 * steps happen.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { ApplicationFailure } from '@temporalio/common';
import { TASK_QUEUE } from '../../src/constants';
import { rlTraining } from '../../src/workflows/rlTraining';
import { createTsWorker, ROOT, tmpRunsDir, useTestStack, writeVowelsTask, startTrainerWorker } from '../helpers/stack';
import { readJsonlFile as jsonl } from '../helpers/io';

const stack = useTestStack({ trainer: true });
const vowels = writeVowelsTask();

function input(runs: string, runId: string, nBatches: number, saveEvery = 1) {
  return {
    run: { run_id: runId, output_dir: runs, seed: 3, trainer_heartbeat_timeout_s: 5 },
    task: { env: 'jsonl', jsonl_path: vowels, jsonl_grader: 'regex' },
    policy: { base_model: 'tiny-random', lora_rank: 4, lora_alpha: 8, lora_target_modules: ['q_proj', 'v_proj'], max_tokens: 6 },
    rl: { n_batches: nBatches, groups_per_batch: 3, group_size: 4, learning_rate: 1e-3, eval_every: 2, save_every: saveEvery },
    n_eval: 3,
    system_prompt: 'Be brief.',
  };
}


test('trains batch by batch with checkpoints, evals and tinker-cookbook metric rows', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(rlTraining, { taskQueue: TASK_QUEUE, workflowId: `rl-${Date.now()}`, args: [input(runs, 'rl1', 3, 2)] });
    const res = await h.result();
    if (process.env.UPDATE_HISTORIES) writeFileSync(path.join(ROOT, 'test/histories/rlTraining.json'), historyToJSON(await h.fetchHistory()));
    return res;
  });
  expect(r.batches_done).toBe(3);
  expect(r.final_checkpoint).toBeTruthy();
  expect(existsSync(path.join(r.final_checkpoint!, 'DONE'))).toBe(true);
  const rows = jsonl(path.join(runs, 'rl1/metrics.jsonl'));
  // the evaluation before training (eval-0) carries env/all/* too, as the seeds' scripts read them from every row
  expect(rows[0]).toMatchObject({ key: 'eval-0', step: 0, 'env/all/correct': rows[0]['test/env/all/correct'] });
  const batches = rows.filter((m) => String(m.key).startsWith('batch-'));
  expect(batches.map((m) => m['progress/batch'])).toEqual([0, 1, 2]);
  for (const m of batches) {
    // the regex grader's reward is its verdict (0 or 1), so a batch's mean reward is its accuracy,
    // a multiple of 1/12 (3 groups x 4 samples)
    expect(m['env/all/reward/total']).toBeCloseTo(m['env/all/correct'], 12);
    expect(m['env/all/reward/total'] * 12).toBeCloseTo(Math.round(m['env/all/reward/total'] * 12), 9);
    // a batch takes a train step (and reports optim/*) exactly when some group's rewards differ
    expect('optim/loss' in m).toBe(m['env/all/frac_constant_groups'] < 1);
  }
  const trained = batches.filter((m) => 'optim/loss' in m);
  expect(trained.length).toBeGreaterThan(0);
  for (const m of trained) {
    // the local backend's exact entropy of the learner's next-token distribution: positive for the random model
    expect(Number.isFinite(m['optim/entropy'])).toBe(true);
    expect(m['optim/entropy']).toBeGreaterThan(0);
  }
  expect(rows.filter((m) => 'test/env/all/correct' in m).length).toBe(3); // start, after batch 2, at the end
  const ckpts = jsonl(path.join(runs, 'rl1/checkpoints.jsonl'));
  expect(ckpts.length).toBeGreaterThan(0);
  expect(new Set(ckpts.map((c) => c.step)).size).toBe(ckpts.length);
  // save_every=2 over 3 batches keeps steps 1 and 2 (the last); step 0 is pruned once a later step is done
  for (const c of ckpts) {
    expect(c.keep).toBe(c.step !== 0);
    const superseded = c.path !== r.final_checkpoint;
    expect(existsSync(path.join(c.path, 'DONE'))).toBe(c.keep || !superseded);
    expect(c.pruned === true).toBe(!c.keep && superseded);
  }
});

test('a run that fails is marked failed in run.json with the reason', async () => {
  const runs = tmpRunsDir();
  const bad = input(runs, 'rl-fail', 2);
  bad.policy = { ...bad.policy, checkpoint: '/nonexistent/ckpt-7' } as typeof bad.policy;
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const outcome = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(rlTraining, { taskQueue: TASK_QUEUE, workflowId: `rl-fail-${Date.now()}`, args: [bad] });
    return h.result().then(() => 'completed', (e: Error) => e.name);
  });
  expect(outcome).toBe('WorkflowFailedError');
  const run = JSON.parse(readFileSync(path.join(runs, 'rl-fail/run.json'), 'utf8'));
  expect(run.status).toBe('failed');
  expect(run.summary.error).toMatch(/^InvalidRequest: checkpoint \/nonexistent\/ckpt-7 does not exist/);
  expect(run.summary.phase).toBe('eval');
}, 300_000);

test('the next batch\'s prompts are built while a batch trains and its rows written while the next samples; a write that fails still fails the run, naming the file', async () => {
  const runs = tmpRunsDir();
  // a folder where samples.jsonl should be: batch 0's rows cannot be written, and no retry helps
  mkdirSync(path.join(runs, 'rl-rows/samples.jsonl'), { recursive: true });
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const { outcome, events } = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(rlTraining, { taskQueue: TASK_QUEUE, workflowId: `rl-rows-${Date.now()}`, args: [{ ...input(runs, 'rl-rows', 3), rl: { ...input(runs, 'rl-rows', 3).rl, eval_every: 0 } }] });
    const outcome = await h.result().then(() => 'completed', (e: Error) => e.name);
    return { outcome, events: (await h.fetchHistory()).events ?? [] };
  });
  expect(outcome).toBe('WorkflowFailedError');
  const run = JSON.parse(readFileSync(path.join(runs, 'rl-rows/run.json'), 'utf8'));
  expect(run.status).toBe('failed');
  expect(run.summary.error).toMatch(/RunDirNotWritable: cannot write .*rl-rows\/samples\.jsonl: EISDIR.*a folder stands where the file .* should be/);
  // batch 0's metrics row was written, and the run failed before batch 1's rows
  expect(jsonl(path.join(runs, 'rl-rows/metrics.jsonl')).filter((m) => String(m.key).startsWith('batch-')).map((m) => m['progress/batch'])).toEqual([0]);
  // off the step's critical path: batch 1's prompts are built while batch 0 trains, and batch 1
  // samples while batch 0's rows are written (all scheduled in the same workflow task)
  const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name);
  const firstTrain = scheduled.indexOf('train_step');
  expect(scheduled.slice(firstTrain - 2, firstTrain + 4)).toEqual(['scoreRollouts', 'buildPrompts', 'train_step', 'appendRows', 'sampleRows', 'policy_sample']);
  // not retried: no retry fixes a folder in the file's place
  const failed = events.find((e) => e.activityTaskFailedEventAttributes)!.activityTaskFailedEventAttributes!;
  expect(failed.failure?.applicationFailureInfo?.type).toBe('RunDirNotWritable');
  expect(events.find((e) => e.eventId?.toString() === failed.startedEventId?.toString())?.activityTaskStartedEventAttributes?.attempt).toBe(1);
}, 300_000);

test('killing the trainer worker and the TS worker mid-run: the run completes with one metrics row per batch', async () => {
  const runs = tmpRunsDir();
  const h = await stack.env.client.workflow.start(rlTraining, { taskQueue: TASK_QUEUE, workflowId: `rl-kill-${Date.now()}`, args: [input(runs, 'rl2', 4)] });
  const w1 = await createTsWorker(stack.env, TASK_QUEUE);
  await w1.runUntil(async () => {
    for (;;) {
      const s = (await h.query('status')) as { batch: number; phase: string };
      if (s.batch >= 1 && s.phase === 'sampling') return;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  // the TS worker is gone (runUntil shut it down); now kill the trainer hard, mid-batch
  stack.trainer.proc.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  stack.trainer = await startTrainerWorker(stack.env.address);
  const w2 = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await w2.runUntil(h.result());
  expect(r.batches_done).toBe(4);
  const rows = jsonl(path.join(runs, 'rl2/metrics.jsonl')).filter((m) => String(m.key).startsWith('batch-'));
  expect(rows.map((m) => m['progress/batch'])).toEqual([0, 1, 2, 3]);
  // training continued from the last checkpoint: each step's checkpoint_in is the previous step's output
  const ckpts = jsonl(path.join(runs, 'rl2/checkpoints.jsonl')).sort((a, b) => a.step - b.step);
  for (let i = 1; i < ckpts.length; i++) {
    const meta = JSON.parse(readFileSync(path.join(ckpts[i].path, 'meta.json'), 'utf8'));
    expect(meta.checkpoint_in).toBe(ckpts[i - 1].path);
  }
}, 600_000);

test('RL on Tinker at temperature != 1 is off-policy and the status says so; the local learner scores under the sampling distribution, so no warning', async () => {
  const runs = tmpRunsDir();
  const warm = (backend: 'local' | 'tinker', runId: string) => {
    const x = input(runs, runId, 1);
    x.policy = { ...x.policy, backend, temperature: 0.8 } as typeof x.policy;
    return x;
  };
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const [tinker, local] = await worker.runUntil(async () => {
    const out: Array<{ warnings: string[] }> = [];
    for (const [backend, id] of [['tinker', 'rl-temp-t'], ['local', 'rl-temp-l']] as const) {
      const h = await stack.env.client.workflow.start(rlTraining, { taskQueue: TASK_QUEUE, workflowId: `${id}-${Date.now()}`, args: [warm(backend, id)] });
      await h.result().catch(() => undefined); // no TINKER_API_KEY here: the Tinker run stops at its first trainer call
      out.push((await h.query('status')) as { warnings: string[] });
    }
    return out;
  });
  // the off-policy warning, and the KL-to-base measure Tinker cannot give (core/klToBase)
  expect(tinker.warnings).toHaveLength(2);
  expect(tinker.warnings[0]).toMatch(/^policy\.temperature=0\.8 with policy\.backend=tinker: RL samples from a tempered distribution/);
  expect(tinker.warnings[1]).toMatch(/^test\/kl_to_base is not measured on policy\.backend=tinker/);
  expect(local.warnings).toEqual([]);
}, 300_000);

test('a key the workflow does not read fails `workflow start` at once, non-retryably, naming the key and the workflow', async () => {
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const err = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start('sftTraining', { taskQueue: TASK_QUEUE, workflowId: `sft-bad-${Date.now()}`, args: [{ rl: { group_size: 8 } }] });
    return h.result().then(() => null, (e: Error) => e);
  });
  expect(err?.name).toBe('WorkflowFailedError');
  const cause = err!.cause as ApplicationFailure;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect(cause.type).toBe('InvalidConfig');
  expect(cause.nonRetryable).toBe(true);
  expect(cause.message).toContain('rl.group_size: sftTraining does not read rl.group_size');
}, 120_000);
