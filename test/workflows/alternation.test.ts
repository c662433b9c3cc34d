/** gepaRlAlternation on the real server: GEPA and RL phases as child workflows, real trainer worker. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TASK_QUEUE } from '../../src/constants';
import { gepaRlAlternation } from '../../src/workflows/gepaRlAlternation';
import { createTsWorker, ROOT, startTestEnv, startTrainerWorker, tmpRunsDir, type TrainerProcess } from '../helpers/stack';
import { registerScriptedReflector } from '../helpers/scripted';
import { writeReport } from '../../src/report';

let env: TestWorkflowEnvironment;
let trainerProc: TrainerProcess;
let taskFile: string;

beforeAll(async () => {
  registerScriptedReflector();
  env = await startTestEnv();
  trainerProc = await startTrainerWorker(env.address);
  taskFile = path.join(mkdtempSync(path.join(tmpdir(), 'alt-')), 'vowels.jsonl');
  writeFileSync(taskFile, Array.from({ length: 30 }, (_, i) => JSON.stringify({ question: `Say something ${i}`, answer: '[aeiou]{2}' })).join('\n'));
}, 600_000);

afterAll(async () => {
  await trainerProc?.stop();
  await env?.teardown();
});

test('rounds of GEPA then RL as child workflows, per-round folders, prompt handed to RL, report renders', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(env, TASK_QUEUE);
  const r = await worker.runUntil(async () => {
    const h = await env.client.workflow.start(gepaRlAlternation, {
      taskQueue: TASK_QUEUE,
      workflowId: `alt-${Date.now()}`,
      args: [
        {
          run: { run_id: 'alt1', output_dir: runs, seed: 5, trainer_heartbeat_timeout_s: 10 },
          task: { env: 'jsonl', jsonl_path: taskFile, jsonl_grader: 'regex' },
          policy: { base_model: 'tiny-random', lora_rank: 4, lora_alpha: 8, lora_target_modules: ['q_proj', 'v_proj'], max_tokens: 6 },
          reflection: { provider: 'scripted', model: 'scripted-reflector' },
          gepa: { max_metric_calls: 30, seed_prompt: 'Say it.', parallelism: 1 },
          rl: { groups_per_batch: 2, group_size: 4, eval_every: 0, n_eval: 3 },
          alternation: { n_rounds: 2, rl_batches_per_round: 1, skip_first_gepa: true, gepa_iterations: 1, traces_per_iteration: 2 },
        },
      ],
    });
    const res = await h.result();
    if (process.env.UPDATE_HISTORIES) writeFileSync(path.join(ROOT, 'test/histories/gepaRlAlternation.json'), historyToJSON(await h.fetchHistory()));
    return res;
  });
  expect(r.phases.map((p) => p.folder)).toEqual(['round0_rl', 'round1_gepa', 'round1_rl']);
  for (const f of ['round0_rl/metrics.jsonl', 'round1_gepa/prompts.jsonl', 'round1_rl/metrics.jsonl', 'round1_rl/config.json']) {
    expect(existsSync(path.join(runs, 'alt1', f))).toBe(true);
  }
  // the RL phase of round 1 trained under the prompt the GEPA phase ended with
  const rl1 = JSON.parse(readFileSync(path.join(runs, 'alt1/round1_rl/config.json'), 'utf8'));
  expect(rl1.system_prompt).toBe(r.phases[1].prompt_after);
  // and from the checkpoint round 0 ended with
  expect(rl1.policy.checkpoint).toBe(r.phases[0].checkpoint_after);
  const html = readFileSync(await writeReport(path.join(runs, 'alt1')), 'utf8');
  expect(html).toContain('data-chart="train-reward"');
  expect(html).toMatch(/round1_gepa/);
});
