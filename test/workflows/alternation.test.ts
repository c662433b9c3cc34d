/** gepaRlAlternation on the real server: GEPA and RL phases as child workflows, real trainer worker. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TASK_QUEUE } from '../../src/constants';
import { gepaRlAlternation } from '../../src/workflows/gepaRlAlternation';
import { createTsWorker, ROOT, tmpRunsDir, useTestStack, writeVowelsTask } from '../helpers/stack';
import { registerScriptedReflector } from '../helpers/scripted';
import { writeReport } from '../../src/report';
import { pauseSignal, resumeSignal, setPromptUpdate } from '../../src/workflows/messages';
import { gepaPhaseSeed } from '../../src/core/alternation';
import { readJsonlFile as readJsonl } from '../helpers/io';

const stack = useTestStack({ trainer: true, before: () => registerScriptedReflector() });
const vowels = writeVowelsTask();

/** The train problems a phase's workflow built prompts for (its buildPrompts activities on the train split). */
async function trainedProblems(workflowId: string): Promise<number[]> {
  const h = await stack.env.client.workflow.getHandle(workflowId).fetchHistory();
  return (h.events ?? []).flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name !== 'buildPrompts') return [];
    const req = JSON.parse(Buffer.from(a.input!.payloads![0].data!).toString('utf8'));
    return req.split === 'train' ? (req.indices as number[]) : [];
  });
}



test('rounds of GEPA then RL as child workflows, per-round folders, prompt handed to RL, report renders', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(gepaRlAlternation, {
      taskQueue: TASK_QUEUE,
      workflowId: `alt-${Date.now()}`,
      args: [
        {
          run: { run_id: 'alt1', output_dir: runs, seed: 5, trainer_heartbeat_timeout_s: 10 },
          task: { env: 'jsonl', jsonl_path: vowels, jsonl_grader: 'regex' },
          policy: { base_model: 'tiny-random', lora_rank: 4, lora_alpha: 8, lora_target_modules: ['q_proj', 'v_proj'], max_tokens: 6 },
          reflection: { provider: 'scripted', model: 'scripted-reflector' },
          gepa: { max_metric_calls: 30, seed_prompt: 'Say it.', parallelism: 1, minibatch_size: 2, format_guard: true },
          rl: { groups_per_batch: 2, group_size: 4, eval_every: 0 },
          n_eval: 3,
          alternation: { n_rounds: 2, rl_batches_per_round: 1, skip_first_gepa: true, gepa_iterations: 1 },
        },
      ],
    });
    return h.result();
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
  // every phase that changed s left one prompt_changes.jsonl row with its old/new excerpts, and no other
  const changes = existsSync(path.join(runs, 'alt1/prompt_changes.jsonl')) ? readJsonl(path.join(runs, 'alt1/prompt_changes.jsonl')) : [];
  const changed = r.phases.filter((p) => p.prompt_after !== p.prompt_before);
  expect(changes.map((c) => [c.phase, c.old, c.new])).toEqual(changed.map((p) => [p.folder, p.prompt_before, p.prompt_after]));
  for (const c of changes) expect(c.source).toBe('gepa');
  // the phases continue their streams: round 1's RL phase trains the batch after round 0's, so two
  // RL phases train twice as many distinct problems as one (30 train rows, 2 per batch: no repeat yet)
  const rl0 = await trainedProblems('alt1-round0_rl');
  const rl1p = await trainedProblems('alt1-round1_rl');
  expect(rl0).toHaveLength(2);
  expect(rl1p).toHaveLength(2);
  expect(new Set([...rl0, ...rl1p]).size).toBe(2 * new Set(rl0).size);
  expect(rl1.start_batch).toBe(1);
  // the GEPA phase runs on a seed of its own round (its minibatches differ from another round's), with
  // the minibatch size of gepa.minibatch_size
  const gepa1 = JSON.parse(readFileSync(path.join(runs, 'alt1/round1_gepa/config.json'), 'utf8'));
  expect(gepa1.run.seed).toBe(gepaPhaseSeed(5, 1));
  expect(gepa1.run.seed).not.toBe(5);
  expect(gepa1.gepa).toMatchObject({ minibatch_size: 2, format_guard: true, max_iterations: 1 });
  const html = readFileSync(await writeReport(path.join(runs, 'alt1')), 'utf8');
  expect(html).toContain('data-chart="train-reward"');
  expect(html).toMatch(/round1_gepa/);
});

test('a set_prompt update changes s for the next phase and is recorded in prompt_changes.jsonl with old/new excerpts', async () => {
  const runs = tmpRunsDir();
  const long = `Answer with two vowels side by side. ${'Keep it short. '.repeat(20)}`;
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const { r, previous } = await worker.runUntil(async () => {
    const h = await stack.env.client.workflow.start(gepaRlAlternation, {
      taskQueue: TASK_QUEUE,
      workflowId: `alt-set-${Date.now()}`,
      args: [
        {
          run: { run_id: 'alt2', output_dir: runs, seed: 5, trainer_heartbeat_timeout_s: 10 },
          task: { env: 'jsonl', jsonl_path: vowels, jsonl_grader: 'regex' },
          policy: { base_model: 'tiny-random', lora_rank: 4, lora_alpha: 8, lora_target_modules: ['q_proj', 'v_proj'], max_tokens: 6 },
          reflection: { provider: 'scripted', model: 'scripted-reflector' },
          gepa: { max_metric_calls: 30, seed_prompt: 'Say it.', parallelism: 1 },
          rl: { groups_per_batch: 2, group_size: 2, eval_every: 0 },
          n_eval: 2,
          alternation: { n_rounds: 1, rl_batches_per_round: 1, skip_first_gepa: true },
        },
      ],
    });
    // lands before or during the only phase: recorded either way
    const u = await h.executeUpdate(setPromptUpdate, { args: [long] });
    return { r: await h.result(), previous: u.previous };
  });
  expect(previous).toBe('Say it.');
  expect(r.final_prompt).toBe(long);
  const changes = readJsonl(path.join(runs, 'alt2/prompt_changes.jsonl'));
  expect(changes).toHaveLength(1);
  expect(changes[0]).toMatchObject({ phase: 'round0_rl', round: 0, source: 'set_prompt', old: 'Say it.', new: long, old_excerpt: 'Say it.' });
  expect(changes[0].new_excerpt).toBe(`${long.slice(0, 160)}…`);
});

test('a set_prompt that lands before a phase is recorded when the phase starts, which runs under it; RL, GEPA and RL phases follow (the committed history)', async () => {
  const runs = tmpRunsDir();
  const worker = await createTsWorker(stack.env, TASK_QUEUE);
  const r = await worker.runUntil(async () => {
    // started paused: the first phase waits, so the update lands before it
    const h = await stack.env.client.workflow.signalWithStart(gepaRlAlternation, {
      taskQueue: TASK_QUEUE,
      workflowId: `alt-hist-${Date.now()}`,
      signal: pauseSignal,
      signalArgs: [],
      args: [
        {
          run: { run_id: 'alt3', output_dir: runs, seed: 5, trainer_heartbeat_timeout_s: 10 },
          task: { env: 'jsonl', jsonl_path: vowels, jsonl_grader: 'regex' },
          policy: { base_model: 'tiny-random', lora_rank: 4, lora_alpha: 8, lora_target_modules: ['q_proj', 'v_proj'], max_tokens: 6 },
          reflection: { provider: 'scripted', model: 'scripted-reflector' },
          gepa: { max_metric_calls: 30, seed_prompt: 'Say it.', parallelism: 1, minibatch_size: 2 },
          rl: { groups_per_batch: 2, group_size: 2, eval_every: 0 },
          n_eval: 2,
          alternation: { n_rounds: 2, rl_batches_per_round: 1, skip_first_gepa: true, gepa_iterations: 1 },
        },
      ],
    });
    const u = await h.executeUpdate(setPromptUpdate, { args: ['Answer with two vowels.'] });
    expect(u.previous).toBe('Say it.');
    await h.signal(resumeSignal);
    const res = await h.result();
    // the committed history of gepaRlAlternation (UPDATE_HISTORIES=1)
    if (process.env.UPDATE_HISTORIES) writeFileSync(path.join(ROOT, 'test/histories/gepaRlAlternation.json'), historyToJSON(await h.fetchHistory()));
    return res;
  });
  expect(r.phases.map((p) => p.folder)).toEqual(['round0_rl', 'round1_gepa', 'round1_rl']);
  expect(r.phases[0].prompt_before).toBe('Answer with two vowels.');
  const changes = readJsonl(path.join(runs, 'alt3/prompt_changes.jsonl'));
  expect(changes[0]).toMatchObject({ key: 'round0_rl-before', phase: 'round0_rl', round: 0, source: 'set_prompt', old: 'Say it.', new: 'Answer with two vowels.' });
  // any later change is GEPA's, recorded after its phase
  for (const c of changes.slice(1)) expect(c).toMatchObject({ phase: 'round1_gepa', source: 'gepa', old: 'Answer with two vowels.' });
  const rl0 = JSON.parse(readFileSync(path.join(runs, 'alt3/round0_rl/config.json'), 'utf8'));
  expect(rl0.system_prompt).toBe('Answer with two vowels.');
});
