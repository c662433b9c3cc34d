/**
 * expertIteration, sftTraining, traceGeneration, evaluation and the GEPA+RL+expert-iteration
 * ablation on the real dev server with the real Python trainer worker (tiny random model). The
 * teacher is scripted (a stand-in for a paid API): it either writes a clean hint or always leaks.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TASK_QUEUE } from '../../src/constants';
import { registerScriptedReplies } from '../../src/llm';
import { expertIteration } from '../../src/workflows/expertIteration';
import { sftTraining } from '../../src/workflows/sftTraining';
import { traceGeneration } from '../../src/workflows/traceGeneration';
import { evaluation } from '../../src/workflows/evaluation';
import { gepaRlAlternation } from '../../src/workflows/gepaRlAlternation';
import { registerScriptedReflector } from '../helpers/scripted';
import { createTsWorker, ROOT, startTestEnv, startTrainerWorker, tmpRunsDir, type TrainerProcess } from '../helpers/stack';

let env: TestWorkflowEnvironment;
let trainerProc: TrainerProcess;
let vowels: string; // regex grader: random text is right about half the time
let hard: string; // exact grader on answers the tiny model never writes; some rows have no ground truth
const teacherPrompts: string[] = [];

beforeAll(async () => {
  registerScriptedReflector();
  registerScriptedReplies('clean-teacher', (req) => {
    teacherPrompts.push(req.messages.map((m) => m.content).join('\n'));
    return 'Look at which letters are vowels and put two of them next to each other.';
  });
  registerScriptedReplies('leaky-teacher', (req) => {
    const answer = /never reveal it\): (.*)/.exec(req.messages.map((m) => m.content).join('\n'))?.[1] ?? '';
    return `Just write ${answer} and you are done.`;
  });
  env = await startTestEnv();
  trainerProc = await startTrainerWorker(env.address);
  const dir = mkdtempSync(path.join(tmpdir(), 'expert-'));
  vowels = path.join(dir, 'vowels.jsonl');
  writeFileSync(vowels, Array.from({ length: 30 }, (_, i) => JSON.stringify({ question: `Say something ${i}`, answer: '[aeiou]{2}' })).join('\n'));
  hard = path.join(dir, 'hard.jsonl');
  writeFileSync(hard, Array.from({ length: 20 }, (_, i) => JSON.stringify({ question: `Spell the secret ${i}`, answer: i % 2 ? '' : `secretword${i}` })).join('\n'));
}, 600_000);

afterAll(async () => {
  await trainerProc?.stop();
  await env?.teardown();
});

const policy = { base_model: 'tiny-random', lora_rank: 4, lora_alpha: 8, lora_target_modules: ['q_proj', 'v_proj'], max_tokens: 6 };
const jsonl = (f: string) => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

async function run<R>(wf: (raw: unknown) => Promise<R>, id: string, input: unknown, history?: string): Promise<R> {
  const worker = await createTsWorker(env, TASK_QUEUE);
  return worker.runUntil(async () => {
    const h = await env.client.workflow.start(wf, { taskQueue: TASK_QUEUE, workflowId: `${id}-${Date.now()}`, args: [input] });
    const res = await h.result();
    if (history && process.env.UPDATE_HISTORIES) writeFileSync(path.join(ROOT, 'test/histories', history), historyToJSON(await h.fetchHistory()));
    return res;
  });
}

function eiInput(runs: string, runId: string, task: string, grader: string, expert: Record<string, unknown>, teacher = 'clean-teacher') {
  return {
    run: { run_id: runId, output_dir: runs, seed: 11, trainer_heartbeat_timeout_s: 10 },
    task: { env: 'jsonl', jsonl_path: task, jsonl_grader: grader },
    policy,
    teacher: { provider: 'scripted', model: teacher },
    expert: { n_rounds: 2, problems_per_round: 6, attempts_per_problem: 2, expert_samples: 3, max_hint_regenerations: 2, max_successes_per_problem: 2, sft_learning_rate: 1e-3, ...expert },
    rl: { n_eval: 3 },
    system_prompt: 'Be brief.',
  };
}

test('expert iteration with hints: student attempts, teacher hints for failures, expert search, distillation under the clean prompt', async () => {
  const runs = tmpRunsDir();
  teacherPrompts.length = 0;
  const r = await run(expertIteration, 'ei', eiInput(runs, 'ei1', vowels, 'regex', {}), 'expertIteration.json');
  expect(r.rounds_done).toBe(2);
  const rows = jsonl(path.join(runs, 'ei1/metrics.jsonl'));
  const rounds = rows.filter((m) => typeof m['expert/buffer_size'] === 'number');
  expect(rounds.map((m) => m['progress/batch'])).toEqual([0, 1]);
  for (const m of rounds) {
    expect(m['expert/hints']).toBe(m['expert/failed_problems']); // the clean teacher never leaks
    expect(m['expert/hints_leaked']).toBe(0);
    expect(m['test/env/all/correct']).toBeGreaterThanOrEqual(0);
  }
  // the cap holds over the whole run: at most 2 kept successes per problem
  expect(r.buffer_size).toBeLessThanOrEqual(2 * 6 * 2);
  expect(r.buffer_size).toBeGreaterThan(0);
  expect(r.final_checkpoint).toBeTruthy();
  expect(existsSync(path.join(r.final_checkpoint!, 'DONE'))).toBe(true);
  // the teacher saw the ground truth and the student's attempt
  expect(r.totals.hints).toBeGreaterThan(0);
  expect(teacherPrompts[0]).toMatch(/\[aeiou\]\{2\}[\s\S]*student's attempt/);
  // distillation data: the clean prompt, never the hint
  const blobs = path.join(runs, 'ei1/blobs');
  const sft = require('node:fs')
    .readdirSync(blobs)
    .map((f: string) => JSON.parse(readFileSync(path.join(blobs, f), 'utf8')))
    .filter((b: unknown) => Array.isArray(b) && b.length > 0 && typeof (b as any[])[0].completion === 'string');
  expect(sft.length).toBeGreaterThan(0);
  for (const ex of sft.flat()) {
    expect(ex.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(JSON.stringify(ex.messages)).not.toMatch(/Hint:/);
  }
});

test('a teacher that always leaks: every hint dropped after k regenerations, counted, and the run goes on', async () => {
  const runs = tmpRunsDir();
  const r = await run(expertIteration, 'ei-leak', eiInput(runs, 'ei2', vowels, 'regex', { n_rounds: 1 }, 'leaky-teacher'));
  expect(r.rounds_done).toBe(1);
  const m = jsonl(path.join(runs, 'ei2/metrics.jsonl')).find((x) => 'expert/hints_dropped' in x)!;
  expect(m['expert/failed_problems']).toBeGreaterThan(0);
  expect(m['expert/hints']).toBe(0);
  expect(m['expert/hints_dropped']).toBe(m['expert/failed_problems']);
  expect(m['expert/hints_leaked']).toBe(3 * m['expert/failed_problems']); // first try + 2 regenerations each
  expect(m['expert/expert_successes']).toBe(0);
  expect(r.totals.hints_dropped).toBe(m['expert/hints_dropped']);
});

test('problems without ground truth are skipped and counted; an empty distillation buffer skips the round, not the run', async () => {
  const runs = tmpRunsDir();
  const r = await run(expertIteration, 'ei-hard', eiInput(runs, 'ei3', hard, 'exact', { n_rounds: 1, problems_per_round: 8 }));
  expect(r.rounds_done).toBe(1);
  const m = jsonl(path.join(runs, 'ei3/metrics.jsonl')).find((x) => 'expert/skipped' in x)!;
  expect(m['expert/failed_problems']).toBe(8);
  expect(m['expert/no_ground_truth']).toBeGreaterThan(0);
  expect(m['expert/no_ground_truth'] + m['expert/hints']).toBe(8);
  expect(m['expert/skipped']).toBe('empty distillation buffer');
  expect(r.totals.skipped_rounds).toBe(1);
  expect(r.final_checkpoint).toBeNull(); // nothing was trained
});

test('best-of-N only (no hints): no teacher call, the student\'s own successes are distilled', async () => {
  const runs = tmpRunsDir();
  teacherPrompts.length = 0;
  const r = await run(expertIteration, 'ei-nohint', eiInput(runs, 'ei4', vowels, 'regex', { n_rounds: 1, use_hints: false }));
  expect(teacherPrompts).toHaveLength(0);
  const m = jsonl(path.join(runs, 'ei4/metrics.jsonl')).find((x) => 'expert/hints' in x)!;
  expect(m['expert/hints']).toBe(0);
  expect(m['expert/expert_successes']).toBe(0);
  expect(m['expert/distill_examples']).toBe(m['expert/student_successes']);
  expect(r.buffer_size).toBe(m['expert/student_successes']);
});

test('traceGeneration writes traces, stats and SFT examples; sftTraining trains on them; evaluation writes the CSV', async () => {
  const runs = tmpRunsDir();
  const base = { run: { output_dir: runs, seed: 2, trainer_heartbeat_timeout_s: 10 }, task: { env: 'jsonl', jsonl_path: vowels, jsonl_grader: 'regex' }, policy, system_prompt: 'Be brief.' };
  const t = await run(traceGeneration, 'traces', { ...base, run: { ...base.run, run_id: 'tr1' }, traces: { n_problems: 8, max_attempts: 3 } }, 'traceGeneration.json');
  expect(t.total).toBe(8);
  expect(t.successes + t.fallbacks).toBe(8);
  expect(t.success_rate).toBeCloseTo(t.successes / 8);
  expect(t.mean_attempts).toBeGreaterThanOrEqual(1);
  expect(t.mean_attempts).toBeLessThanOrEqual(3);
  const stats = JSON.parse(readFileSync(path.join(runs, 'tr1/traces.stats.json'), 'utf8'));
  expect(stats).toMatchObject({ total: 8, successes: t.successes, fallbacks: t.fallbacks });
  const traces = jsonl(path.join(runs, 'tr1/traces.jsonl'));
  expect(traces).toHaveLength(8);
  expect(traces.filter((x) => x.source === 'reference')).toHaveLength(t.fallbacks);

  const s = await run(sftTraining, 'sft', { ...base, run: { ...base.run, run_id: 'sft1' }, sft: { source: 'traces', traces_file: t.sft_examples_file, batch_size: 4, learning_rate: 1e-3 }, rl: { n_eval: 3 } }, 'sftTraining.json');
  expect(s.examples).toBe(8);
  expect(s.steps_done).toBe(2);
  const losses = jsonl(path.join(runs, 'sft1/metrics.jsonl')).filter((m) => 'optim/loss' in m);
  expect(losses).toHaveLength(2);
  for (const m of losses) expect(Number.isFinite(m['optim/loss'])).toBe(true);
  expect(s.final_test_accuracy).not.toBeNull();

  const e = await run(evaluation, 'eval', { ...base, run: { ...base.run, run_id: 'ev1' }, policy: { ...policy, checkpoint: s.final_checkpoint }, eval: { split: 'train', n_examples: 5 } }, 'evaluation.json');
  expect(e.n).toBe(5);
  const csv = readFileSync(path.join(runs, 'ev1/evaluation.csv'), 'utf8').trim().split('\n');
  expect(csv[0]).toMatch(/^index,id,sample,correct,reward,answered,thinking/);
  expect(csv).toHaveLength(6);
  expect(JSON.parse(readFileSync(path.join(runs, 'ev1/evaluation.json'), 'utf8')).accuracy).toBe(e.accuracy);
});

test('sftTraining from a traces file that does not exist fails at once with the path in the message', async () => {
  const runs = tmpRunsDir();
  const input = { run: { run_id: 'sft-bad', output_dir: runs }, task: { env: 'jsonl', jsonl_path: vowels }, policy, sft: { source: 'traces', traces_file: '/nonexistent/sft_examples.json' } };
  const worker = await createTsWorker(env, TASK_QUEUE);
  const err = await worker.runUntil(
    env.client.workflow.execute(sftTraining, { taskQueue: TASK_QUEUE, workflowId: `sft-bad2-${Date.now()}`, args: [input] }).catch((x: Error) => x),
  );
  let c: any = err;
  while (c?.cause) c = c.cause;
  expect(String(c?.message)).toMatch(/\/nonexistent\/sft_examples.json/);
});

test('GEPA+RL+expert iteration by config flags alone: an expert phase after each RL phase', async () => {
  const runs = tmpRunsDir();
  const r = await run(gepaRlAlternation, 'alt-ei', {
    run: { run_id: 'alt-ei', output_dir: runs, seed: 5, trainer_heartbeat_timeout_s: 10 },
    task: { env: 'jsonl', jsonl_path: vowels, jsonl_grader: 'regex' },
    policy,
    reflection: { provider: 'scripted', model: 'scripted-reflector' },
    teacher: { provider: 'scripted', model: 'clean-teacher' },
    expert: { problems_per_round: 4, attempts_per_problem: 2, expert_samples: 2 },
    gepa: { max_metric_calls: 20, seed_prompt: 'Say it.', parallelism: 1 },
    rl: { groups_per_batch: 2, group_size: 4, eval_every: 0, n_eval: 3 },
    alternation: { n_rounds: 1, rl_batches_per_round: 1, skip_first_gepa: true, expert_rounds_per_round: 1 },
  });
  expect(r.phases.map((p) => p.folder)).toEqual(['round0_rl', 'round0_expert']);
  const cfg = JSON.parse(readFileSync(path.join(runs, 'alt-ei/round0_expert/config.json'), 'utf8'));
  expect(cfg.policy.checkpoint).toBe(r.phases[0].checkpoint_after); // EI starts from the RL phase's weights
  expect(cfg.expert.n_rounds).toBe(1);
  expect(existsSync(path.join(runs, 'alt-ei/round0_expert/metrics.jsonl'))).toBe(true);
});
