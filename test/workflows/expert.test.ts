/**
 * expertIteration, sftTraining, traceGeneration, evaluation and the GEPA+RL+expert-iteration
 * ablation on the real dev server with the real Python trainer worker (tiny random model). The
 * teacher is scripted (a stand-in for a paid API): it either writes a clean hint or always leaks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TASK_QUEUE } from '../../src/constants';
import { registerScriptedReplies } from '../helpers/scriptedProviders';
import { registerTask, type Example } from '../../src/tasks';
import { grade } from '../../src/tasks/graders';
import { readBlob } from '../../src/storage/blobs';
import { expertIteration } from '../../src/workflows/expertIteration';
import { sftTraining } from '../../src/workflows/sftTraining';
import { traceGeneration } from '../../src/workflows/traceGeneration';
import { evaluation } from '../../src/workflows/evaluation';
import { gepaRlAlternation } from '../../src/workflows/gepaRlAlternation';
import { pauseSignal, resumeSignal, statusQueries, stopSignal } from '../../src/workflows/messages';
import { WAVE_PROBLEMS_PER_CHUNK } from '../../src/workflows/policy';
import { registerScriptedReflector } from '../helpers/scripted';
import { createTsWorker, ROOT, startTrainerWorker, temporalBinary, tmpRunsDir, VENV_PYTHON, type TrainerProcess } from '../helpers/stack';
import { readJsonlFile as jsonl } from '../helpers/io';

let env: TestWorkflowEnvironment;
let trainerProc: TrainerProcess;
let vowels: string; // regex grader: random text is right about half the time
let many: string; // like vowels, with more rows than one sampling wave
/**
 * Rows the tiny random model solves with every sample (`[a-z]`: any letter) alternating with rows it
 * never solves (`QZXJ[aeiou]{2}`: a capital run it never writes). The problems a round draws are
 * decided by the seed, not by the sampler, so a round has both failed and solved problems whatever
 * the sampler's random stream is (a change to how tokens are drawn must not break these tests).
 */
let mixed: string;
const teacherPrompts: string[] = [];

/**
 * A task written in code whose odd train rows have no ground truth (null or empty gold): file
 * loaders refuse such rows, a code task can still produce them. Graded by `contains`, which an
 * empty gold always matches; the gold answers are words the tiny model never writes.
 */
const SECRETS: Example[] = Array.from({ length: 24 }, (_, i) => ({ id: `secret-${i}`, question: `Spell the secret ${i}`, answer: i < 20 && i % 2 ? (i % 4 === 1 ? null : '') : `secretword${i}` }));
const goldless = { env: 'goldless', code_task: true };
const GOLDLESS_QUESTION = /Spell the secret (1|3|5|7|9|11|13|15|17|19)\b/;

beforeAll(async () => {
  registerTask('goldless', () => ({
    name: 'goldless',
    loadSplits: async () => ({ train: SECRETS.slice(0, 20), val: SECRETS.slice(20, 22), test: SECRETS.slice(22) }),
    render: (x) => [{ role: 'user', content: x.question }],
    score: (x, c) => grade('contains', x.answer ?? '', c),
    answerForHint: (x) => x.answer,
  }));
  registerScriptedReflector();
  registerScriptedReplies('clean-teacher', (req) => {
    teacherPrompts.push(req.messages.map((m) => m.content).join('\n'));
    return 'Look at which letters are vowels and put two of them next to each other.';
  });
  registerScriptedReplies('leaky-teacher', (req) => {
    const answer = /never reveal it\): (.*)/.exec(req.messages.map((m) => m.content).join('\n'))?.[1] ?? '';
    return `Just write ${answer} and you are done.`;
  });
  // Temporal suggests continue-as-new after 40 history events: every expertIteration here with more
  // than one round continues-as-new between rounds, so its buffer must survive it
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinary() },
      extraArgs: ['--log-level', 'error', '--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=40'],
    },
  });
  trainerProc = await startTrainerWorker(env.address);
  const dir = mkdtempSync(path.join(tmpdir(), 'expert-'));
  vowels = path.join(dir, 'vowels.jsonl');
  writeFileSync(vowels, Array.from({ length: 30 }, (_, i) => JSON.stringify({ question: `Say something ${i}`, answer: '[aeiou]{2}' })).join('\n'));
  mixed = path.join(dir, 'mixed.jsonl');
  writeFileSync(mixed, Array.from({ length: 30 }, (_, i) => JSON.stringify({ question: `Say something ${i}`, answer: i % 2 ? 'QZXJ[aeiou]{2}' : '[a-z]' })).join('\n'));
  many = path.join(dir, 'many.jsonl');
  writeFileSync(many, Array.from({ length: 100 }, (_, i) => JSON.stringify({ question: `Say more ${i}`, answer: '[aeiou]{2}' })).join('\n'));
}, 600_000);

afterAll(async () => {
  await trainerProc?.stop();
  await env?.teardown();
});

const policy = { base_model: 'tiny-random', lora_rank: 4, lora_alpha: 8, lora_target_modules: ['q_proj', 'v_proj'], max_tokens: 6 };

/** The handle of the last run() (its first execution: before any continue-as-new). */
let lastRun: WorkflowHandle;

async function run<R>(wf: (raw: unknown) => Promise<R>, id: string, input: unknown, history?: string): Promise<R> {
  const worker = await createTsWorker(env, TASK_QUEUE);
  return worker.runUntil(async () => {
    const h = await env.client.workflow.start(wf, { taskQueue: TASK_QUEUE, workflowId: `${id}-${Date.now()}`, args: [input] });
    const res = await h.result();
    lastRun = env.client.workflow.getHandle(h.workflowId, h.firstExecutionRunId);
    if (history && process.env.UPDATE_HISTORIES) writeFileSync(path.join(ROOT, 'test/histories', history), historyToJSON(await lastRun.fetchHistory()));
    return res;
  });
}

/** Every SFT example blob of a run (arrays of {messages, completion}), one entry per blob. */
function sftBlobs(runDir: string): Array<Array<{ messages: Array<{ role: string; content: string }>; completion: string }>> {
  const blobs = path.join(runDir, 'blobs');
  return readdirSync(blobs)
    .map((f) => JSON.parse(readFileSync(path.join(blobs, f), 'utf8')))
    .filter((b: unknown) => Array.isArray(b) && b.length > 0 && typeof (b as any[])[0].completion === 'string' && Array.isArray((b as any[])[0].messages));
}
/** The distinct SFT examples of a run (the buffer; its distillation batches hold the same examples again). */
function distinctExamples(runDir: string) {
  const seen = new Map<string, ReturnType<typeof sftBlobs>[number][number]>();
  for (const ex of sftBlobs(runDir).flat()) seen.set(JSON.stringify(ex), ex);
  return [...seen.values()];
}
/** The checkpoint_in of the first of the `steps` train steps that ended at `ckpt` (walks meta.json back). */
function chainStart(ckpt: string, steps: number): string | null {
  let cur: string | null = ckpt;
  for (let i = 0; i < steps; i++) cur = meta(cur!).checkpoint_in;
  return cur;
}
/**
 * The SFT examples of every cross_entropy train_step the workflow run `h` scheduled, step by step
 * (read from its history: the step's sft_examples_ref), as one key per example.
 */
async function sftStepExamples(h: WorkflowHandle): Promise<string[][]> {
  const out: string[][] = [];
  for (const e of (await h.fetchHistory()).events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name !== 'train_step') continue;
    const req = JSON.parse(Buffer.from(a.input!.payloads![0].data!).toString('utf8'));
    if (req.loss !== 'cross_entropy') continue;
    out.push((await readBlob<Array<{ messages: unknown; completion: string }>>(req.sft_examples_ref)).map((x) => JSON.stringify(x)));
  }
  return out;
}
/** The train-split problem indices a workflow's `activity` calls named (read from its history). */
async function trainProblems(workflowId: string, activity: string): Promise<Set<number>> {
  const out = new Set<number>();
  for (const e of (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name !== activity) continue;
    const req = JSON.parse(Buffer.from(a.input!.payloads![0].data!).toString('utf8'));
    if (req.split === 'train') for (const i of req.indices as number[]) out.add(i);
  }
  return out;
}
/** Steps grouped into epochs of `perEpoch` steps, each epoch's examples in the order they were trained. */
function epochOrders(steps: string[][], perEpoch: number): string[][] {
  return Array.from({ length: steps.length / perEpoch }, (_, e) => steps.slice(e * perEpoch, (e + 1) * perEpoch).flat());
}
const userText = (ex: { messages: Array<{ role: string; content: string }> }) => ex.messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n');
const meta = (ckpt: string) => JSON.parse(readFileSync(path.join(ckpt, 'meta.json'), 'utf8'));

function eiInput(runs: string, runId: string, task: string | object, grader: string, expert: Record<string, unknown>, teacher = 'clean-teacher') {
  // without hints there is no teacher and no expert search: their keys would be refused (not read)
  const hints = expert.use_hints !== false;
  return {
    run: { run_id: runId, output_dir: runs, seed: 11, trainer_heartbeat_timeout_s: 10 },
    task: typeof task === 'string' ? { env: 'jsonl', jsonl_path: task, jsonl_grader: grader } : task,
    policy,
    ...(hints ? { teacher: { provider: 'scripted', model: teacher } } : {}),
    expert: { n_rounds: 2, problems_per_round: 6, attempts_per_problem: 2, ...(hints ? { expert_samples: 3, max_hint_regenerations: 2 } : {}), max_successes_per_problem: 2, sft_learning_rate: 1e-3, ...expert },
    n_eval: 3,
    system_prompt: 'Be brief.',
  };
}

test('expert iteration with hints: student attempts, teacher hints for failures, expert search, distillation under the clean prompt; the cap and the buffer survive continue-as-new', async () => {
  const runs = tmpRunsDir();
  teacherPrompts.length = 0;
  const r = await run(expertIteration, 'ei', eiInput(runs, 'ei1', mixed, 'regex', { max_successes_per_problem: 1 }), 'expertIteration.json');
  expect(r.rounds_done).toBe(2);
  // the first execution continued-as-new after round 0; the second finished the run
  expect((await lastRun.describe()).status.name).toBe('CONTINUED_AS_NEW');
  const rows = jsonl(path.join(runs, 'ei1/metrics.jsonl'));
  expect(rows.filter((m) => m.key === 'eval-0')).toHaveLength(1); // the new execution did not start over
  const rounds = rows.filter((m) => typeof m['expert/buffer_size'] === 'number');
  expect(rounds.map((m) => m['progress/batch'])).toEqual([0, 1]);
  for (const m of rounds) {
    expect(m['expert/hints']).toBe(m['expert/failed_problems']); // the clean teacher never leaks
    expect(m['expert/hints_leaked']).toBe(0);
    expect(m['expert/skipped_no_ground_truth']).toBe(0);
    // the accuracy on the n_eval=3 test problems
    expect([0, 1, 2, 3]).toContainEqual(Math.round(m['test/env/all/correct'] * 3));
    expect(m['test/env/all/correct'] * 3).toBeCloseTo(Math.round(m['test/env/all/correct'] * 3), 9);
  }
  // the buffer grew across the continue-as-new: round 1 added to what round 0 kept
  expect(rounds[0]['expert/buffer_size']).toBe(rounds[0]['expert/distill_examples']);
  expect(rounds[1]['expert/buffer_size']).toBe(rounds[0]['expert/buffer_size'] + rounds[1]['expert/distill_examples']);
  expect(r.buffer_size).toBe(rounds[1]['expert/buffer_size']);
  expect(r.totals.hints).toBe(rounds[0]['expert/hints'] + rounds[1]['expert/hints']);
  expect(r.buffer_size).toBeGreaterThan(0);
  // round 1 distilled on top of round 0's weights (no restart from the base)
  if (rounds[0].checkpoint && rounds[1]['expert/distill_examples'] > 0) expect(chainStart(rounds[1].checkpoint, rounds[1]['expert/distill_steps'])).toBe(rounds[0].checkpoint);
  // the M-step: sft_epochs (3) passes over the round's examples in batches of sft_batch_size (8)
  for (const m of rounds.filter((x) => x['expert/distill_examples'] > 0)) expect(m['expert/distill_steps']).toBe(3 * Math.ceil(m['expert/distill_examples'] / 8));
  expect(r.final_checkpoint).toBeTruthy();
  expect(existsSync(path.join(r.final_checkpoint!, 'DONE'))).toBe(true);
  // the teacher saw the ground truth and the student's attempt
  expect(r.totals.hints).toBeGreaterThan(0);
  expect(teacherPrompts[0]).toMatch(/\[aeiou\]\{2\}[\s\S]*student's attempt/);
  // distillation data: the clean prompt, never the hint; at most 1 (the cap) example per problem
  // over the whole run, though more successes were found
  const sft = distinctExamples(path.join(runs, 'ei1'));
  expect(sft).toHaveLength(r.buffer_size);
  const perProblem = new Map<string, number>();
  for (const ex of sft) {
    expect(ex.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(JSON.stringify(ex.messages)).not.toMatch(/Hint:/);
    perProblem.set(userText(ex), (perProblem.get(userText(ex)) ?? 0) + 1);
  }
  expect(Math.max(...perProblem.values())).toBe(1);
  // and every distilled completion is a verified success (the grader accepts it)
  // (only the `[a-z]` rows, the even ones, can be solved)
  for (const ex of sft) {
    expect(Number(/Say something (\d+)/.exec(userText(ex))![1]) % 2).toBe(0);
    expect(grade('regex', '[a-z]', ex.completion).correct).toBe(true);
  }
  expect(rounds[0]['expert/successes_over_cap'] + rounds[1]['expert/successes_over_cap']).toBeGreaterThan(0);
});

test('restart_from_base: every round distils the whole buffer starting from the base model', async () => {
  const runs = tmpRunsDir();
  const r = await run(expertIteration, 'ei-restart', eiInput(runs, 'ei5', vowels, 'regex', { use_hints: false, restart_from_base: true, attempts_per_problem: 3 }));
  expect(r.rounds_done).toBe(2);
  const rounds = jsonl(path.join(runs, 'ei5/metrics.jsonl')).filter((m) => typeof m['expert/buffer_size'] === 'number');
  expect(rounds).toHaveLength(2);
  for (const m of rounds) {
    expect(m['expert/distill_examples']).toBe(m['expert/buffer_size']); // the whole buffer, not only this round's
    expect(m.checkpoint).toBeTruthy();
    // the whole buffer for sft_epochs, from the base model, not the previous round
    expect(m['expert/distill_steps']).toBe(3 * Math.ceil(m['expert/buffer_size'] / 8));
    expect(chainStart(m.checkpoint, m['expert/distill_steps'])).toBeNull();
  }
  expect(rounds[1]['expert/buffer_size']).toBeGreaterThan(rounds[0]['expert/buffer_size']);
  expect(rounds[1].checkpoint).not.toBe(rounds[0].checkpoint);
  expect(r.final_checkpoint).toBe(rounds[1].checkpoint);
});

test('the M-step fits the verified buffer: its cross-entropy falls over the round and each distilled success becomes more likely to be sampled', async () => {
  // the tiny random model, trained hard (all weights, lr 1e-3, 6 epochs): what is tested is the
  // M-step's mechanics (the examples it fits get likelier), which do not depend on the model's size;
  // with LoRA on q/v only, the near-uniform random model hardly moves in a dozen steps
  const runs = tmpRunsDir();
  const full = { base_model: policy.base_model, max_tokens: policy.max_tokens, lora_rank: 0 }; // LoRA keys would be refused: not read
  const r = await run(expertIteration, 'ei-mstep', {
    ...eiInput(runs, 'ei6', vowels, 'regex', { n_rounds: 1, use_hints: false, attempts_per_problem: 4, sft_learning_rate: 1e-3, sft_epochs: 6 }),
    policy: full,
  });
  const m = jsonl(path.join(runs, 'ei6/metrics.jsonl')).find((x) => 'expert/distill_steps' in x)!;
  expect(m['expert/distill_examples']).toBeGreaterThan(0);
  expect(m['expert/distill_steps']).toBe(6 * Math.ceil(m['expert/distill_examples'] / 8));
  expect(m['expert/distill_loss_last_epoch']).toBeLessThan(m['expert/distill_loss_first_epoch']);
  // the M-step reshuffles every epoch: its 6 epochs do not replay one order
  const orders = epochOrders(await sftStepExamples(lastRun), m['expert/distill_steps'] / 6);
  expect(orders).toHaveLength(6);
  for (const o of orders) expect([...o].sort()).toEqual([...orders[0]].sort());
  expect(m['expert/distill_examples']).toBeGreaterThan(1);
  expect(new Set(orders.map((o) => o.join('\n'))).size).toBeGreaterThan(1);
  const examples = distinctExamples(path.join(runs, 'ei6'));
  expect(examples).toHaveLength(r.buffer_size);
  const py = spawnSync(VENV_PYTHON, [path.join(ROOT, 'test/helpers/sft_logprob.py')], {
    input: JSON.stringify({ model: { backend: 'local', ...full }, checkpoints: [null, r.final_checkpoint], examples, blob_dir: mkdtempSync(path.join(tmpdir(), 'lp-')) }),
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer'), GEPA_RL_TORCH_THREADS: '1' },
    encoding: 'utf8',
  });
  expect(py.stderr).not.toMatch(/Traceback/);
  const [before, after] = JSON.parse(py.stdout) as number[][];
  // log P(completion) at temperature 1: every distilled success is now sampled more often
  for (let i = 0; i < examples.length; i++) expect(after[i]).toBeGreaterThan(before[i]);
}, 600_000);

test('a teacher that always leaks: every hint dropped after k regenerations, counted, and the run goes on', async () => {
  const runs = tmpRunsDir();
  const r = await run(expertIteration, 'ei-leak', eiInput(runs, 'ei2', mixed, 'regex', { n_rounds: 1 }, 'leaky-teacher'));
  expect(r.rounds_done).toBe(1);
  const m = jsonl(path.join(runs, 'ei2/metrics.jsonl')).find((x) => 'expert/hints_dropped' in x)!;
  expect(m['expert/failed_problems']).toBeGreaterThan(0);
  expect(m['expert/hints']).toBe(0);
  expect(m['expert/hints_dropped']).toBe(m['expert/failed_problems']);
  expect(m['expert/hints_leaked']).toBe(3 * m['expert/failed_problems']); // first try + 2 regenerations each
  expect(m['expert/expert_successes']).toBe(0);
  expect(r.totals.hints_dropped).toBe(m['expert/hints_dropped']);
});

test('problems without ground truth are skipped before sampling and counted, even under `contains` (which an empty gold always matches); an empty distillation buffer skips the round, not the run', async () => {
  const runs = tmpRunsDir();
  teacherPrompts.length = 0;
  const r = await run(expertIteration, 'ei-hard', eiInput(runs, 'ei3', goldless, 'contains', { n_rounds: 1, problems_per_round: 8 }));
  expect(r.rounds_done).toBe(1);
  const m = jsonl(path.join(runs, 'ei3/metrics.jsonl')).find((x) => 'expert/skipped' in x)!;
  expect(m['expert/skipped_no_ground_truth']).toBeGreaterThan(0);
  expect(m['expert/problems'] + m['expert/skipped_no_ground_truth']).toBe(8);
  expect(r.totals.skipped_no_ground_truth).toBe(m['expert/skipped_no_ground_truth']);
  // none of them was attempted, rewarded or hinted: every remaining problem failed and got a hint
  expect(m['expert/student_successes']).toBe(0);
  expect(m['expert/failed_problems']).toBe(m['expert/problems']);
  expect(m['expert/hints']).toBe(m['expert/problems']);
  expect(m['expert/no_ground_truth']).toBe(0);
  expect(teacherPrompts).toHaveLength(m['expert/problems']);
  for (const p of teacherPrompts) expect(p).toMatch(/never reveal it\): secretword\d+/);
  const sampled = jsonl(path.join(runs, 'ei3/samples.jsonl'));
  expect(sampled.length).toBeGreaterThan(0);
  for (const x of sampled) expect(JSON.stringify(x)).not.toMatch(GOLDLESS_QUESTION);
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
  expect(t.skipped_no_ground_truth).toBe(0);
  expect(t.stopped).toBe(false);
  expect(t.success_rate).toBeCloseTo(t.successes / 8);
  expect(t.mean_attempts).toBeGreaterThanOrEqual(1);
  expect(t.mean_attempts).toBeLessThanOrEqual(3);
  const stats = JSON.parse(readFileSync(path.join(runs, 'tr1/traces.stats.json'), 'utf8'));
  expect(stats).toMatchObject({ total: 8, successes: t.successes, fallbacks: t.fallbacks });
  const traces = jsonl(path.join(runs, 'tr1/traces.jsonl'));
  expect(traces).toHaveLength(8);
  expect(traces.filter((x) => x.source === 'reference')).toHaveLength(t.fallbacks);

  const s = await run(sftTraining, 'sft', { ...base, run: { ...base.run, run_id: 'sft1' }, sft: { source: 'traces', traces_file: t.sft_examples_file, batch_size: 4, learning_rate: 1e-3, n_epochs: 2 }, n_eval: 3 }, 'sftTraining.json');
  expect(s.examples).toBe(8);
  expect(s.steps_done).toBe(4);
  const losses = jsonl(path.join(runs, 'sft1/metrics.jsonl')).filter((m) => 'optim/loss' in m);
  expect(losses).toHaveLength(4);
  // the loss is the sum over the step's tokens, logged beside its per-token mean
  for (const m of losses) expect(m['optim/loss_per_token']).toBeCloseTo(m['optim/loss'] / m['optim/tokens'], 6);
  // every epoch trains every example once, each epoch in a new order (reshuffled, seeded)
  const [e0, e1] = epochOrders(await sftStepExamples(lastRun), 2);
  expect([...e0].sort()).toEqual([...e1].sort());
  expect(new Set(e0).size).toBe(8);
  expect(e1).not.toEqual(e0);
  for (const m of losses) expect(Number.isFinite(m['optim/loss'])).toBe(true);
  expect(s.final_test_accuracy).not.toBeNull();

  const e = await run(evaluation, 'eval', { ...base, run: { ...base.run, run_id: 'ev1' }, policy: { ...policy, checkpoint: s.final_checkpoint }, eval: { split: 'train', n_examples: 5 } }, 'evaluation.json');
  expect(e.n).toBe(5);
  const text = readFileSync(path.join(runs, 'ev1/evaluation.csv'), 'utf8').trim();
  expect(text.split('\n')[0]).toMatch(/^index,id,sample,correct,reward,answered,thinking/);
  // records, not lines: a completion may hold a newline inside its quoted field
  let records = 1;
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (ch === '\n' && !quoted) records += 1;
  }
  expect(records).toBe(6);
  expect(JSON.parse(readFileSync(path.join(runs, 'ev1/evaluation.json'), 'utf8')).accuracy).toBe(e.accuracy);
});

test('sftTraining from reference solutions: GSM8K rationales (real data) become the completions', async () => {
  const runs = tmpRunsDir();
  const s = await run(sftTraining, 'sft-gsm8k', {
    run: { run_id: 'sft-gsm8k', output_dir: runs, seed: 3, trainer_heartbeat_timeout_s: 10 },
    task: { env: 'gsm8k', n_test: 2 },
    policy,
    system_prompt: 'Solve it.',
    sft: { source: 'reference', train_samples: 4, batch_size: 2, learning_rate: 1e-3 },
    n_eval: 2,
  });
  expect(s.examples).toBe(4);
  expect(s.steps_done).toBe(2);
  expect(s.skipped_examples).toBe(0);
  expect(s.answer_fallbacks).toBe(0);
  const steps = jsonl(path.join(runs, 'sft-gsm8k/metrics.jsonl')).filter((m) => 'optim/loss' in m);
  expect(steps).toHaveLength(2);
  expect(steps[0]).toMatchObject({ 'sft/examples': 4, 'sft/skipped_examples': 0, 'sft/answer_fallbacks': 0 });
  for (const m of steps) expect(Number.isFinite(m['optim/loss'])).toBe(true);
  const examples = distinctExamples(path.join(runs, 'sft-gsm8k'));
  expect(examples).toHaveLength(4);
  const train = readFileSync(path.join(ROOT, 'data/gsm8k/train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  for (const ex of examples) {
    expect(ex.messages[0]).toEqual({ role: 'system', content: 'Solve it.' });
    // the worked rationale (calculator annotations removed) ending in "#### n", not the bare number
    expect(ex.completion).toMatch(/\n#### -?[\d,.]+$/);
    expect(ex.completion).not.toContain('<<');
    const row = train.find((x) => userText(ex).startsWith(x.question));
    expect(row).toBeDefined();
    expect(ex.completion).toBe(row.answer.replace(/<<[^>]*>>/g, ''));
  }
  expect(s.final_test_accuracy).not.toBeNull();
});

test('sftTraining from reference on rows without a worked solution: the bare answer is used and counted, rows without one are skipped and counted', async () => {
  const runs = tmpRunsDir();
  const s = await run(sftTraining, 'sft-fallback', {
    run: { run_id: 'sft-fb', output_dir: runs, seed: 3, trainer_heartbeat_timeout_s: 10 },
    task: goldless,
    policy,
    sft: { source: 'reference', train_samples: 8, batch_size: 8 },
    n_eval: 1,
  });
  // rows 0..7: no row has a worked solution; the even ones have a gold answer, the odd ones none
  expect(s).toMatchObject({ examples: 4, answer_fallbacks: 4, skipped_examples: 4, steps_done: 1 });
  const step0 = jsonl(path.join(runs, 'sft-fb/metrics.jsonl')).find((m) => 'optim/loss' in m)!;
  expect(step0['sft/answer_fallbacks']).toBe(s.answer_fallbacks);
  for (const ex of sftBlobs(path.join(runs, 'sft-fb')).flat()) expect(ex.completion).toMatch(/^secretword\d+$/);
});

test('evaluation: stop finishes the current wave and writes the partial results', async () => {
  const runs = tmpRunsDir();
  const input = { run: { run_id: 'ev-stop', output_dir: runs, seed: 2, trainer_heartbeat_timeout_s: 10 }, task: { env: 'jsonl', jsonl_path: many, jsonl_grader: 'regex' }, policy, eval: { split: 'train', n_examples: WAVE_PROBLEMS_PER_CHUNK + 8 } };
  const worker = await createTsWorker(env, TASK_QUEUE);
  const e = await worker.runUntil(async () => {
    // the stop arrives with the start: the first wave still runs, the second never does
    const h = await env.client.workflow.signalWithStart(evaluation, { taskQueue: TASK_QUEUE, workflowId: `ev-stop-${Date.now()}`, args: [input], signal: stopSignal, signalArgs: [] });
    return h.result();
  });
  expect(e.stopped).toBe(true);
  expect(e.n).toBe(WAVE_PROBLEMS_PER_CHUNK);
  expect(readFileSync(path.join(runs, 'ev-stop/evaluation.csv'), 'utf8').trim().split('\n')).toHaveLength(WAVE_PROBLEMS_PER_CHUNK + 1);
  expect(JSON.parse(readFileSync(path.join(runs, 'ev-stop/evaluation.json'), 'utf8')).n).toBe(WAVE_PROBLEMS_PER_CHUNK);
});

test('traceGeneration: pause waits between waves (status says so, nothing written yet), resume finishes every problem', async () => {
  const runs = tmpRunsDir();
  const n = WAVE_PROBLEMS_PER_CHUNK + 8;
  const input = { run: { run_id: 'tr-pause', output_dir: runs, seed: 2, trainer_heartbeat_timeout_s: 10 }, task: { env: 'jsonl', jsonl_path: many, jsonl_grader: 'regex' }, policy, traces: { n_problems: n, max_attempts: 1 } };
  const worker = await createTsWorker(env, TASK_QUEUE);
  const t = await worker.runUntil(async () => {
    const h = await env.client.workflow.signalWithStart(traceGeneration, { taskQueue: TASK_QUEUE, workflowId: `tr-pause-${Date.now()}`, args: [input], signal: pauseSignal, signalArgs: [] });
    let st = await h.query(statusQueries.traceGeneration);
    while (st.phase !== 'paused') {
      await new Promise((r) => setTimeout(r, 200));
      st = await h.query(statusQueries.traceGeneration);
    }
    expect(st).toMatchObject({ paused: true, step: WAVE_PROBLEMS_PER_CHUNK, total: n, progress: { done: WAVE_PROBLEMS_PER_CHUNK, total: n, unit: 'problems' } });
    expect(existsSync(path.join(runs, 'tr-pause/traces.jsonl'))).toBe(false);
    await h.signal(resumeSignal);
    return h.result();
  });
  expect(t.stopped).toBe(false);
  expect(t.total).toBe(n);
  expect(jsonl(path.join(runs, 'tr-pause/traces.jsonl'))).toHaveLength(n);
});

test('traceGeneration never samples a problem without ground truth; the stats count it', async () => {
  const runs = tmpRunsDir();
  const t = await run(traceGeneration, 'tr-hard', { run: { run_id: 'tr-hard', output_dir: runs, seed: 2, trainer_heartbeat_timeout_s: 10 }, task: goldless, policy, traces: { n_problems: 10, max_attempts: 2 } });
  expect(t).toMatchObject({ total: 5, skipped_no_ground_truth: 5, stopped: false }); // rows 0..9, the odd ones have no gold
  expect(t.successes).toBe(0); // under `contains` an empty gold would have "verified" every sample
  const traces = jsonl(path.join(runs, 'tr-hard/traces.jsonl'));
  expect(traces).toHaveLength(t.total);
  for (const x of traces) expect(x.answer).toMatch(/^secretword\d+$/);
  expect(JSON.parse(readFileSync(path.join(runs, 'tr-hard/traces.stats.json'), 'utf8')).skipped_no_ground_truth).toBe(t.skipped_no_ground_truth);
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
    rl: { groups_per_batch: 2, group_size: 4, eval_every: 0 },
    n_eval: 3,
    alternation: { n_rounds: 1, rl_batches_per_round: 1, skip_first_gepa: true, expert_rounds_per_round: 1 },
  });
  expect(r.phases.map((p) => p.folder)).toEqual(['round0_rl', 'round0_expert']);
  const cfg = JSON.parse(readFileSync(path.join(runs, 'alt-ei/round0_expert/config.json'), 'utf8'));
  expect(cfg.policy.checkpoint).toBe(r.phases[0].checkpoint_after); // EI starts from the RL phase's weights
  expect(cfg.expert.n_rounds).toBe(1);
  // its own position in the train order: past the RL phase's 1 batch of 2 problems (and its seed),
  // so it does not re-attempt the problems RL just trained on
  expect(cfg.start_round).toBe(1);
  const rlProblems = await trainProblems(r.phases[0].workflow_id, 'scoreRollouts');
  const expertProblems = await trainProblems(r.phases[1].workflow_id, 'groundTruthPartition');
  expect(rlProblems.size).toBe(2);
  expect(expertProblems.size).toBe(4);
  expect([...expertProblems].filter((i) => rlProblems.has(i))).toEqual([]);
  expect(existsSync(path.join(runs, 'alt-ei/round0_expert/metrics.jsonl'))).toBe(true);
});
