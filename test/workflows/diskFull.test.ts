/**
 * A full disk under a real rlTraining run (issue 15, item 6): the checkpoint folder is a 4 MB tmpfs
 * filled to its last byte before the run starts. The first train step cannot write its checkpoint:
 * the trainer says so (step, folder, free space) and Temporal retries it; once space is freed the
 * retried step writes it and the run completes with one checkpoint and one metrics row per step,
 * nothing duplicated and no half-written folder left.
 */
import { readdirSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { TASK_QUEUE } from '../../src/constants';
import { rlTraining } from '../../src/workflows/rlTraining';
import { createTsWorker, tmpRunsDir, useTestStack, writeVowelsTask } from '../helpers/stack';
import { mountTmpfs } from '../helpers/tmpfs';
import { readJsonlFile as jsonl } from '../helpers/io';

const stack = useTestStack({ trainer: true });


test('a full disk at the first checkpoint: a clear, retried failure; after space is freed the run completes, nothing lost or duplicated', async () => {
  const taskFile = writeVowelsTask();
  const runs = tmpRunsDir();
  const ckptDir = path.join(runs, 'full', 'checkpoints');
  // the checkpoint folder alone is the small disk: the run's blobs and metrics live on the real one
  const disk = mountTmpfs('4m', ckptDir);
  try {
    const filler = disk.fill();
    const worker = await createTsWorker(stack.env, TASK_QUEUE);
    const r = await worker.runUntil(async () => {
      const h = await stack.env.client.workflow.start(rlTraining, {
        taskQueue: TASK_QUEUE,
        workflowId: `rl-disk-full-${Date.now()}`,
        args: [
          {
            run: { run_id: 'full', output_dir: runs, seed: 3, trainer_heartbeat_timeout_s: 30 },
            task: { env: 'jsonl', jsonl_path: taskFile, jsonl_grader: 'regex' },
            policy: { base_model: 'tiny-random', lora_rank: 4, lora_alpha: 8, lora_target_modules: ['q_proj', 'v_proj'], max_tokens: 6 },
            rl: { n_batches: 3, groups_per_batch: 3, group_size: 4, learning_rate: 1e-3, eval_every: 0, save_every: 1 },
            system_prompt: 'Be brief.',
          },
        ],
      });
      // wait for the trainer's failed attempt at step 0's checkpoint, as Temporal records it
      let failure = '';
      while (!failure) {
        const pending = (await h.describe()).raw.pendingActivities ?? [];
        failure = pending.find((a) => a.activityType?.name === 'train_step' && a.lastFailure?.message)?.lastFailure?.message ?? '';
        if (!failure) await new Promise((res) => setTimeout(res, 200));
      }
      expect(failure).toContain(`cannot write the checkpoint of step 0 to ${path.join(ckptDir, '0')}`);
      expect(failure).toContain('0.0 MB free of 4.0 MB on that filesystem');
      expect(failure).toContain('free space there or choose another output_dir, and the retried step writes it again');
      // no half-written folder holds the space meanwhile
      expect(readdirSync(ckptDir).filter((f) => f !== '.locks')).toEqual(['filler']); // .locks: the per-step lock files
      unlinkSync(filler);
      return h.result();
    });
    expect(r.batches_done).toBe(3);
    // one checkpoint per step, each complete; the index has each step once
    expect(readdirSync(ckptDir).filter((f) => f !== '.locks').sort()).toEqual(['0', '1', '2']);
    for (const s of ['0', '1', '2']) expect(readdirSync(path.join(ckptDir, s))).toContain('DONE');
    expect(jsonl(path.join(runs, 'full', 'checkpoints.jsonl')).map((x) => x.step)).toEqual([0, 1, 2]);
    // one metrics row per batch, none duplicated by the retries
    const batches = jsonl(path.join(runs, 'full', 'metrics.jsonl')).filter((m) => typeof m['progress/batch'] === 'number' && String(m.key).startsWith('batch-'));
    expect(batches.map((m) => m['progress/batch'])).toEqual([0, 1, 2]);
  } finally {
    disk.unmount();
  }
});
