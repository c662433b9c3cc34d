/**
 * KL(π_θ‖π_base) in rlTraining against the real dev server and the real trainer worker (tiny random
 * model, full fine-tune: the base is the frozen copy of the start weights the trainer keeps beside
 * the live model). fastSlowTraining's LoRA case (the adapter disabled) is in fastSlow.test.ts.
 */
import * as path from 'node:path';
import { TASK_QUEUE } from '../../src/constants';
import { rlTraining } from '../../src/workflows/rlTraining';
import { createTsWorker, tmpRunsDir, useTestStack, writeVowelsTask } from '../helpers/stack';
import { readJsonlFile as jsonl } from '../helpers/io';

const stack = useTestStack({ trainer: true });
const vowels = writeVowelsTask();

test('rl: test/kl_to_base at every evaluation, exactly 0 on the start weights and > 0 once a step has trained them (lora_rank=0)', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const { r, types } = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(rlTraining, {
      taskQueue: TASK_QUEUE,
      workflowId: `rl-kl-${Date.now()}`,
      args: [
        {
          run: { run_id: 'rl-kl', output_dir: runs, seed: 3, trainer_heartbeat_timeout_s: 5 },
          task: { env: 'jsonl', jsonl_path: vowels, jsonl_grader: 'regex' },
          policy: { base_model: 'tiny-random', lora_rank: 0, max_tokens: 6 },
          rl: { n_batches: 2, groups_per_batch: 3, group_size: 4, learning_rate: 1e-3, eval_every: 1 },
          n_eval: 3,
          system_prompt: 'Be brief.',
        },
      ],
    });
    const res = await h.result();
    const events = (await h.fetchHistory()).events ?? [];
    return { r: res, types: events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType!.name!] : [])) };
  });
  const rows = jsonl(path.join(runs, 'rl-kl/metrics.jsonl'));
  const evals = rows.filter((m) => 'test/env/all/correct' in m);
  expect(evals.map((m) => m.key)).toEqual(['eval-0', 'batch-0', 'batch-1']);
  expect(types.filter((t) => t === 'policy_kl_to_base').length).toBe(3);
  expect(evals[0]['test/kl_to_base']).toBe(0);
  expect(evals[0]['test/kl_to_base/k1']).toBe(0);
  expect(evals[0]['test/kl_to_base/tokens']).toBeGreaterThan(0);
  expect(r.final_checkpoint).not.toBeNull();
  // after a batch that trained (a train step once some group's rewards differ) the weights have moved
  const trained = evals.slice(1).filter((m) => m.checkpoint !== null);
  expect(trained.length).toBeGreaterThan(0);
  for (const m of trained) {
    expect(Number.isFinite(m['test/kl_to_base'])).toBe(true);
    expect(m['test/kl_to_base']).toBeGreaterThan(0);
    expect(m['test/kl_to_base/k3']).toBeGreaterThan(0);
  }
}, 600_000);
