/**
 * The W&B metrics sink end to end: rlTraining with wandb_project set and wandb_mode=offline, on the
 * real dev server and the real Python trainer worker (tiny model). metrics.jsonl is written as
 * always, and every row also reaches the offline W&B run in the run directory, once.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TASK_QUEUE } from '../../src/constants';
import { rlTraining } from '../../src/workflows/rlTraining';
import { createTsWorker, tmpRunsDir, useTestStack, writeVowelsTask } from '../helpers/stack';
import { readJsonlFile as jsonl } from '../helpers/io';

const stack = useTestStack({
  trainer: true,
  before: () => {
    const home = mkdtempSync(path.join(tmpdir(), 'wandb-home-'));
    // the trainer subprocess inherits these: no W&B files outside the test's temp folders
    Object.assign(process.env, { WANDB_SILENT: 'true', WANDB_CONFIG_DIR: home, WANDB_CACHE_DIR: home, WANDB_DATA_DIR: home });
  },
});
const vowels = writeVowelsTask(12);


test('wandb_project + wandb_mode=offline: metrics.jsonl as always, and an offline W&B run in the run directory', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await worker.runUntil(
    stack.env.client.workflow.execute(rlTraining, {
      taskQueue: TASK_QUEUE,
      workflowId: `rl-wandb-${Date.now()}`,
      args: [
        {
          run: { run_id: 'wb1', output_dir: runs, seed: 1, trainer_heartbeat_timeout_s: 5, wandb_project: 'gepa-rl-test', wandb_mode: 'offline' },
          task: { env: 'jsonl', jsonl_path: vowels, jsonl_grader: 'regex' },
          policy: { base_model: 'tiny-random', lora_rank: 4, lora_alpha: 8, lora_target_modules: ['q_proj', 'v_proj'], max_tokens: 4 },
          rl: { n_batches: 2, groups_per_batch: 2, group_size: 2, eval_every: 0 },
          n_eval: 2,
          system_prompt: 'Be brief.',
        },
      ],
    }),
  );
  expect(r.batches_done).toBe(2);
  const dir = path.join(runs, 'wb1');
  const keys = jsonl(path.join(dir, 'metrics.jsonl')).map((m) => m.key);
  expect(keys).toEqual(['eval-0', 'batch-0', 'batch-1']);
  expect(readFileSync(path.join(dir, 'wandb_logged_keys.txt'), 'utf8').trim().split('\n')).toEqual(keys);
  expect(JSON.parse(readFileSync(path.join(dir, 'wandb_run.json'), 'utf8'))).toMatchObject({ wandb_id: 'wb1', project: 'gepa-rl-test', mode: 'offline' });
  const offline = readdirSync(path.join(dir, 'wandb')).filter((d) => d.startsWith('offline-run-') && d.includes('wb1'));
  expect(offline.length).toBe(3); // one segment per metrics call; `wandb sync` uploads them as one run
  for (const d of offline) expect(existsSync(path.join(dir, 'wandb', d, 'run-wb1.wandb'))).toBe(true);
});
