/**
 * Every key a workflow accepts changes what runs, or is refused (issue 23). For each workflow in
 * WORKFLOW_INPUT_SCHEMAS and each leaf of its schema (walked from the schema, so a key added later
 * is checked too), the key is set to another valid value and the workflow is run in-process
 * (test/helpers/fakeWorkflowRuntime: the real TS activities, a fake trainer, scripted LMs); the
 * activities it calls (name, arguments, options), the child workflows it starts and its result
 * must differ from the run without the change. A key that is refused at parse time in every
 * context passes as refused. config.json (prepareRun's copy of the input) and the arguments of
 * child workflows and continue-as-new are left out of the comparison: a key must change what the
 * child or the continued run then does, not only be handed on.
 *
 * What it cannot see: an activity that is handed a field and ignores it (e.g. the whole task
 * section goes to the task activities); the trainer's requests are taken as read in full (the
 * Python worker validates them against their JSON Schema).
 */
jest.mock('@temporalio/workflow', () => require('../helpers/fakeWorkflowRuntime').runtime);

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { leavesOf, parseWorkflowInput, WORKFLOW_INPUT_SCHEMAS } from '../../src/config';
import type { WorkflowType } from '../../src/constants';
import * as activities from '../../src/activities';
import * as workflows from '../../src/workflows';
import { registerScriptedReplies } from '../helpers/scriptedProviders';
import { FileBlobStore, readBlob } from '../../src/storage/blobs';
import type { ChatMessage, PolicySampleRequest, Rollout, TrainStepRequest } from '../../src/types';
import { harness, runWorkflow, type RecordedCall } from '../helpers/fakeWorkflowRuntime';
import { registerScriptedTau2Agent, registerScriptedTau2User } from '../helpers/tau2Scripted';

const ROOT = mkdtempSync(path.join(tmpdir(), 'gepa-rl-every-key-'));
const RUNS = path.join(ROOT, 'runs');
const DATA = path.join(ROOT, 'data.jsonl');
const DATA2 = path.join(ROOT, 'data2.jsonl');
const SEED_TRACES = path.join(ROOT, 'traces.jsonl');

// -- the stand-ins: a trainer whose answers are right on two samples of three, scripted LMs --

function fnv(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  // murmur3's finaliser: FNV's low bits follow the last character alone (h % 4 would alternate with the sample index)
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * An answer to a rendered problem (arithmetic, and the jsonl rows here): by a hash of the system
 * prompt, the problem, the seed and the sample, right on half, wrong on a quarter, without a number
 * on a quarter; so a prompt changes the score (GEPA accepts and rejects) and groups vary.
 */
function fakeAnswer(messages: ChatMessage[], seed: number, s: number): string {
  const user = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('|');
  const expr = /^(?:What is )?([\d+\-* ]+?)\??(?: Answer with just the number\.)?$/.exec(user.trim())?.[1];
  const value = expr && /^[\d+\-* ]+$/.test(expr) ? Number(Function(`return (${expr})`)()) : 42;
  const h = fnv(`${system}|${user}|${seed}|${s}`) % 4;
  return h < 2 ? `The answer is ${value}` : h === 2 ? `The answer is ${value + 1}` : 'I am not sure.';
}

async function policySample(req: PolicySampleRequest) {
  const prompts = req.prompts ?? (await readBlob<ChatMessage[][]>(req.prompts_ref!));
  const rollouts: Rollout[] = prompts.flatMap((p, pi) =>
    Array.from({ length: req.num_samples }, (_, s) => {
      const text = fakeAnswer(p, req.sampling.seed, s);
      return { prompt_index: pi, sample_index: s, prompt_token_ids: [1, 2, 3], token_ids: [...text].map((c) => c.charCodeAt(0)).slice(0, 8), logprobs: Array(Math.min(8, text.length)).fill(-0.5), text, stop_reason: 'stop' as const };
    }),
  );
  const rollouts_ref = await new FileBlobStore(req.blob_dir).put({ model: req.model, checkpoint: req.checkpoint, rollouts });
  return {
    rollouts_ref,
    num_tokens: prompts.map((_, pi) => rollouts.filter((r) => r.prompt_index === pi).map((r) => r.token_ids.length)),
    texts: req.return_texts ? prompts.map((_, pi) => rollouts.filter((r) => r.prompt_index === pi).map((r) => r.text)) : null,
    seconds: 0,
  };
}

async function trainStep(req: TrainStepRequest) {
  const checkpoint_out = path.join(req.checkpoint_root, String(req.step));
  mkdirSync(checkpoint_out, { recursive: true });
  return { checkpoint_out, metrics: { loss: 1, loss_per_token: 0.1, entropy: 1, kl_sample_train_v1: 0, kl_sample_train_v2: 0, grad_norm: 1, tokens: 8, learning_rate: req.optim.learning_rate }, reused: false, seconds: 0 };
}

/** KL to the base: 0 on the start weights, else a number that follows the checkpoint's step. */
async function klToBase(req: { checkpoint: string | null; base_checkpoint: string | null }) {
  const kl = req.checkpoint === req.base_checkpoint ? 0 : 0.01 * (1 + Number(path.basename(req.checkpoint ?? '0')));
  return { kl, k1: kl, k3: kl / 2, tokens: 8, sequences: 1, seconds: 0 };
}

const FAKE: Record<string, (req: any) => Promise<unknown>> = {
  policy_sample: policySample,
  train_step: trainStep,
  policy_kl_to_base: klToBase,
  wandb_log: async (req: { rows: unknown[] }) => ({ logged: req.rows.length }),
};

harness.workflows = workflows as unknown as typeof harness.workflows;
harness.activity = async (name, args) => {
  if (FAKE[name]) return FAKE[name](args[0]);
  const fn = (activities as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new Error(`no activity ${name} (add a stand-in to FAKE in test/config/everyKey.test.ts if it runs on the trainer)`);
  return new MockActivityEnvironment().run(fn as (...a: unknown[]) => Promise<unknown>, ...args);
};

const reflect = (tag: string) => (req: { messages: ChatMessage[] }) => '```\nSolve it step by step. ' + tag + ' ' + (fnv(req.messages.map((m) => m.content).join('|')) % 97) + '\n```';
registerScriptedReplies('every-key-reflector', reflect('A'));
registerScriptedReplies('every-key-reflector-2', reflect('B'));
registerScriptedReplies('every-key-teacher', () => 'Work through it one operation at a time.');
registerScriptedReplies('every-key-teacher-2', () => 'Check each digit twice.');
// a teacher whose hint repeats every number it was shown (the answer among them): each hint leaks
registerScriptedReplies('every-key-leaky-teacher', (req) => `Try ${(req.messages.map((m) => m.content).join(' ').match(/\d+/g) ?? []).join(', ')}.`);
// a reflector under a priced model's name, so GEPA's spend is counted (gepa.max_cost_usd)
registerScriptedReplies('gpt-4o', reflect('C'));
for (const m of ['every-key-policy', 'every-key-policy-2']) registerScriptedReplies(m, (req) => fakeAnswer(req.messages as ChatMessage[], 0, fnv(m) % 5));
registerScriptedTau2Agent();
registerScriptedTau2User();

beforeAll(() => {
  const rows = (shift: number) => Array.from({ length: 30 }, (_, i) => ({ question: `${i + shift} + ${2 * i}`, answer: String(3 * i + shift), q: `${i} * 2`, a: String(2 * i) }));
  writeFileSync(DATA, rows(1).map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(DATA2, rows(5).map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(SEED_TRACES, Array.from({ length: 6 }, (_, i) => JSON.stringify({ question: `${i} + 1`, answer: `${i} plus 1.\n#### ${i + 1}` })).join('\n') + '\n');
});
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

// -- the runs --

const SMALL_TASK = { env: 'arithmetic', n_train: 12, n_val: 4, n_test: 4 };
const REFLECTION = { provider: 'scripted', model: 'every-key-reflector' };
const TEACHER = { provider: 'scripted', model: 'every-key-teacher' };

/** A small input per workflow: every loop runs at least twice where a key sets its length. */
const BASE: Partial<Record<WorkflowType, Record<string, unknown>>> = {
  evaluatePrompt: { task: SMALL_TASK, k: 3 },
  rlTraining: { task: SMALL_TASK, rl: { n_batches: 3, groups_per_batch: 3, group_size: 2, eval_every: 1, save_every: 1 }, n_eval: 2 },
  gepaOptimization: { task: SMALL_TASK, reflection: REFLECTION, gepa: { max_metric_calls: 41, minibatch_size: 2, parallelism: 2, components: { system_prompt: 'Answer the question.', style: 'Be brief.' } } },
  gepaRlAlternation: {
    task: SMALL_TASK,
    reflection: REFLECTION,
    gepa: { max_metric_calls: 24, minibatch_size: 2, parallelism: 2 },
    rl: { groups_per_batch: 2, group_size: 2, eval_every: 1, save_every: 1 },
    alternation: { n_rounds: 2, rl_batches_per_round: 2, gepa_iterations: 2 },
    n_eval: 2,
  },
  expertIteration: { task: SMALL_TASK, teacher: TEACHER, expert: { n_rounds: 2, problems_per_round: 8, attempts_per_problem: 2, expert_samples: 2, sft_batch_size: 2 }, n_eval: 2 },
  sftTraining: { task: SMALL_TASK, sft: { train_samples: 4, batch_size: 2, n_epochs: 2 }, n_eval: 2 },
  evaluation: { task: SMALL_TASK, eval: { n_examples: 3 } },
  traceGeneration: { task: SMALL_TASK, traces: { n_problems: 3, max_attempts: 2 } },
  fastSlowTraining: { task: SMALL_TASK, reflection: REFLECTION, rl: { n_batches: 4, groups_per_batch: 2, group_size: 2, eval_every: 2, save_every: 1 }, fast_slow: { gepa_every: 2, minibatch_size: 2, score_window: 2 }, n_eval: 2 },
};

/**
 * Keys these small runs do not reach, each with why and where a test does reach it. Listed keys are
 * still run; one that now changes what runs fails the test until it is taken off this list, and a
 * key missing from it that changes nothing fails as unread.
 */
const NOT_REACHED_HERE: Record<string, string> = {
  'gepaOptimization gepa.use_merge': 'no two Pareto-front candidates with a common ancestor arise in 41-120 metric calls of the stand-in; test/workflows/gepa.test.ts (multi-component merge test) merges',
  'gepaOptimization gepa.max_merge_invocations': 'as gepa.use_merge; test/core/gepa.test.ts caps merges by hand',
  'gepaRlAlternation gepa.use_merge': 'as in gepaOptimization (its GEPA phases are gepaOptimization children)',
  'gepaRlAlternation gepa.max_merge_invocations': 'as in gepaOptimization',
  'gepaRlAlternation gepa.cache_evaluation': 'no candidate text of its 2-iteration phases is scored twice on a val row; reached in gepaOptimization above (tau2-airline at temperature 0)',
  'gepaRlAlternation gepa.budget_rule': 'its 2-iteration GEPA phases end on gepa_iterations before the budget rule decides; test/workflows/gepa.test.ts (budget_rule=reference)',
  'gepaRlAlternation gepa.format_guard': 'no child of its 2-iteration phases ties on score while losing format here; test/core/acceptance.test.ts',
  'gepaRlAlternation expert.max_hint_regenerations': 'no hint leaks in its 2-problem expert phase; checked in expertIteration above with a leaking teacher',
  'gepaRlAlternation expert.max_successes_per_problem': 'no problem of its 2-problem expert phase passes the cap; checked in expertIteration above',
};

/** Settings under which keys read only with them are read (each is also tried as the change itself). */
const CONTEXTS: Array<Record<string, unknown>> = [
  { reflection: { provider: 'scripted', model: 'gpt-4o' } },
  { teacher: { provider: 'scripted', model: 'every-key-leaky-teacher' } },
  { expert: { restart_from_base: true } },
  { task: { env: 'jsonl', jsonl_path: DATA } },
  { policy: { backend: 'api', api_provider: 'scripted', api_model: 'every-key-policy' } },
  { task: { env: 'tau2-airline', n_train: 2, n_val: 2, n_test: 2, tau2_user_provider: 'scripted', tau2_user_model: 'scripted-tau2-user' }, policy: { backend: 'api', api_provider: 'scripted', api_model: 'scripted-tau2-agent', temperature: 0 } },
  { run: { wandb_project: 'every-key' } },
  { gepa: { use_merge: true } },
  { gepa: { max_metric_calls: 120 } },
  { gepa: { use_merge: true, max_metric_calls: 120 } },
  { gepa: { eval_test: true } },
  { alternation: { expert_rounds_per_round: 1 }, teacher: TEACHER, expert: { problems_per_round: 2, attempts_per_problem: 2, expert_samples: 2, sft_batch_size: 2 } },
  { sft: { source: 'traces', traces_file: SEED_TRACES } },
  { policy: { temperature: 0.7 } },
  { reflection: { provider: 'openai-compatible', model: 'every-key-reflector', base_url: 'http://127.0.0.1:9/v1' } },
  // fast-slow with a round after every step for 6 steps: of its two children one is dropped before
  // the next round (rejected_memory sets what that round is shown) and one kept (a pool_size of 1
  // prunes the seed; a margin of min_improvement_threshold turns it down); the base run's one child,
  // dropped, reaches none of these
  { rl: { n_batches: 6 }, run: { seed: 2 }, fast_slow: { gepa_every: 1, score_window: 2, minibatch_size: 2 } },
];

/** A change that sets more than the key (the key's new value needs another setting with it). */
class Overlay {
  constructor(readonly patch: Record<string, unknown>) {}
}

/**
 * Keys whose whole effect is a field of config.json that a reader of the run directory uses: for
 * these the test checks config.json (prepareRun's copy of the input) changes, and nothing else.
 */
const READ_FROM_CONFIG_JSON: Record<string, string> = {
  'run.name': 'the heading of `gepa-rl report` (src/report) is config.json run.name',
};

/** Values to try for keys whose type says little (a path, a name that must exist, a template). */
const HINTS: Record<string, unknown[]> = {
  'run.output_dir': [path.join(ROOT, 'runs-b')],
  'run.run_id': ['every-key-b'],
  'task.env': [new Overlay({ task: { env: 'jsonl', jsonl_path: DATA } })],
  'task.jsonl_path': [DATA2],
  'task.jsonl_prompt_field': ['q'],
  'task.jsonl_answer_field': ['a'],
  'task.arithmetic_operators': ['+'],
  'task.tau2_user_model': ['scripted-tau2-user-b'],
  'policy.base_model': ['tiny-random'],
  'policy.checkpoint': [path.join(ROOT, 'ckpt')],
  'policy.api_model': ['every-key-policy-2'],
  'policy.lora_target_modules': [['q_proj']],
  'reflection.model': ['every-key-reflector-2'],
  'teacher.model': ['every-key-teacher-2'],
  'gepa.reflection_template': ['Rewrite {component}.\n{current_text}\n{examples}\n{rejected}\nReply in a fenced block.'],
  'gepa.components': [{ system_prompt: 'Answer the question.', style: 'Be brief.' }],
  'gepa.reflection_prompts': [{ system_prompt: 'Improve this.\n{current_text}\n{examples}\nReply in a fenced block.' }],
  'sft.traces_file': [SEED_TRACES],
  'expert.max_successes_per_problem': [1],
  'gepa.val_size': [2, 3],
  'gepa.pool_size': [1, 2],
  'gepa.rejected_memory': [0, 1],
  'gepa.min_improvement_threshold': [1, 0.5],
  'gepa.max_no_improvement': [1],
  'gepa.max_merge_invocations': [0, 1],
  'gepa.max_cost_usd': [0.00001, 0.0001],
  'fast_slow.pool_size': [2, 1],
  'fast_slow.rejected_memory': [0, 1],
};

type Leaf = ReturnType<typeof leavesOf>[number];

function valueAt(o: unknown, p: string[]): unknown {
  return p.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);
}
function withValue(base: Record<string, unknown>, p: string[], v: unknown): Record<string, unknown> {
  const out = structuredClone(base);
  let cur = out as Record<string, unknown>;
  for (const k of p.slice(0, -1)) cur = (cur[k] = { ...((cur[k] as object) ?? {}) }) as Record<string, unknown>;
  cur[p[p.length - 1]] = v;
  return out;
}
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object' ? merge(a[k] as Record<string, unknown>, v as Record<string, unknown>) : v;
  return out;
}

/** Other valid values for a leaf, from its type and its value in the parsed input. */
function candidates(leaf: Leaf, current: unknown): unknown[] {
  const key = leaf.path.join('.');
  if (HINTS[key]) return HINTS[key];
  switch (leaf.kind) {
    case 'boolean':
      return current === undefined ? [true, false] : [!current]; // unset: its default may depend on another setting
    case 'number': {
      const c = typeof current === 'number' ? current : undefined;
      const xs = c === undefined ? [2, 3, 1, 0.5, 5] : [c + 1, c * 2, c - 1, c / 2, c + 0.05, c - 0.05];
      return [...new Set(xs)].filter((x) => x !== c && Number.isFinite(x));
    }
    case 'enum':
      return (leaf.options ?? []).filter((o) => o !== current);
    case 'string':
      return [current === undefined ? 'Answer carefully.' : `${String(current)} Answer carefully.`];
    case 'array':
      return [Array.isArray(current) && current.length > 1 ? current.slice(0, 1) : ['q_proj']];
    default:
      return [];
  }
}

/** What a run did, comparable across runs: paths under ROOT and wall-clock fields made neutral. */
function normalise(calls: RecordedCall[], result: unknown, keepConfig = false): string {
  const kept = calls.map((c) => {
    if (c.kind !== 'activity') return { kind: c.kind, name: c.name }; // a child's or a continued run's own calls are recorded after it
    if (c.name === 'prepareRun' && !keepConfig) return { ...c, args: [{ ...(c.args as Record<string, unknown>[])[0], config: '<config.json>' }] };
    return c;
  });
  const volatile = /^(seconds.*|.*_seconds|.*_ms|started_at|finished_at|time\/.*|latency.*|elapsed.*)$/;
  const text = (v: unknown) => JSON.stringify(v, (k, x) => (volatile.test(k) ? undefined : x)).split(ROOT).join('<ROOT>');
  // as a multiset: calls of chunks that run side by side (gepa.parallelism) land in the order their awaits resolve
  return text({ calls: kept.map(text).sort(), result });
}

async function run(type: WorkflowType, raw: Record<string, unknown>): Promise<{ trace: string; withConfig: string } | { error: string }> {
  rmSync(RUNS, { recursive: true, force: true });
  rmSync(path.join(ROOT, 'runs-b'), { recursive: true, force: true });
  harness.calls = [];
  const input = merge({ run: { output_dir: RUNS, run_id: 'every-key', seed: 1 } }, raw);
  try {
    const result = await runWorkflow(type, [input], 'every-key');
    return { trace: normalise(harness.calls, result), withConfig: normalise(harness.calls, result, true) };
  } catch (e) {
    const err = e as Error & { cause?: Error };
    return { error: `${err.message}${err.cause ? ` (cause: ${err.cause.message})` : ''}` };
  }
}

function refusal(type: WorkflowType, raw: Record<string, unknown>): string | null {
  try {
    parseWorkflowInput(type, merge({ run: { output_dir: RUNS, run_id: 'every-key', seed: 1 } }, raw));
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

const types = Object.keys(WORKFLOW_INPUT_SCHEMAS) as WorkflowType[];
/** EVERY_KEY_ONLY=<regex>: check only the keys it matches (while fixing one); the coverage check is then skipped. */
const ONLY = process.env.EVERY_KEY_ONLY ? new RegExp(process.env.EVERY_KEY_ONLY) : null;

test.each(types)('every key of %s changes what runs, or is refused', async (type) => {
  const base = BASE[type];
  if (!base) throw new Error(`${type} has no small base input: add one to BASE in test/config/everyKey.test.ts (the keys of every workflow are checked)`);
  const leaves = leavesOf(WORKFLOW_INPUT_SCHEMAS[type] as never);
  const contexts = [{}, ...CONTEXTS].map((c) => ({ label: Object.keys(c).length ? ` with ${JSON.stringify(c)}` : '', input: merge(base, c) })).filter((c) => refusal(type, c.input) === null);
  const baseRuns = new Map<number, Awaited<ReturnType<typeof run>>>();
  const baseRun = async (i: number) => {
    if (!baseRuns.has(i)) baseRuns.set(i, await run(type, contexts[i].input));
    return baseRuns.get(i)!;
  };
  // the comparison means something only if a run repeats itself exactly
  const first = await baseRun(0);
  if ('error' in first) throw new Error(`${type}: the base input fails: ${first.error}`);
  const again = await run(type, contexts[0].input);
  if ('error' in again || again.trace !== first.trace) {
    const a = 'error' in again ? again.error : again.trace;
    let i = 0;
    while (i < a.length && a[i] === first.trace[i]) i++;
    throw new Error(`${type}: two runs of the same input differ, so a comparison would mean nothing; first difference at ${i}:\n  ${first.trace.slice(Math.max(0, i - 300), i + 200)}\n  ${a.slice(Math.max(0, i - 300), i + 200)}`);
  }

  const unread: string[] = [];
  const outcome: Record<string, string> = {};
  for (const leaf of leaves) {
    const key = leaf.path.join('.');
    if (ONLY && !ONLY.test(key)) continue;
    if (!candidates(leaf, undefined).length && !candidates(leaf, valueAt(parseWorkflowInput(type, merge({ run: { output_dir: RUNS, run_id: 'every-key', seed: 1 } }, base)), leaf.path)).length) {
      unread.push(`${type}: no value to try for ${key} (a ${leaf.kind}): add some to HINTS in test/config/everyKey.test.ts`);
      continue;
    }
    const errors: string[] = [];
    const sameRuns: string[] = [];
    let verdict: string | null = null;
    for (let ci = 0; ci < contexts.length && !verdict; ci++) {
      const ctx = contexts[ci].input;
      const where = contexts[ci].label;
      const current = valueAt(parseWorkflowInput(type, merge({ run: { output_dir: RUNS, run_id: 'every-key', seed: 1 } }, ctx)), leaf.path);
      for (const v of candidates(leaf, current)) {
        const changed = v instanceof Overlay ? merge(ctx, v.patch) : withValue(ctx, leaf.path, v);
        if (JSON.stringify(changed) === JSON.stringify(ctx) || (!(v instanceof Overlay) && JSON.stringify(v) === JSON.stringify(current))) continue;
        if (refusal(type, changed) !== null) continue;
        const before = await baseRun(ci);
        if ('error' in before) {
          errors.push(`the run${where} fails: ${before.error}`);
          break;
        }
        const after = await run(type, changed);
        if ('error' in after) {
          // a run that fails for the new value, naming it (a provider without its key, a model not served), did read it
          if (typeof v === 'string' && after.error.includes(v)) {
            verdict = `changes what runs: fails naming it (${key}=${JSON.stringify(v)}: ${after.error.slice(0, 80)})`;
            break;
          }
          errors.push(`${key}=${JSON.stringify(v)}: ${after.error}`);
          continue;
        }
        const seen = READ_FROM_CONFIG_JSON[key] ? [after.withConfig, before.withConfig] : [after.trace, before.trace];
        if (seen[0] !== seen[1]) {
          verdict = `changes what runs (${key}=${JSON.stringify(v)}${where})`;
          break;
        }
        sameRuns.push(`${key}=${JSON.stringify(v)}${where}`);
      }
    }
    const listed = NOT_REACHED_HERE[`${type} ${key}`];
    if (listed && verdict) unread.push(`${type} ${key} now changes what runs (${verdict}): take it off NOT_REACHED_HERE in test/config/everyKey.test.ts`);
    if (listed && !verdict) {
      outcome[key] = `not reached here: ${listed}`;
      continue;
    }
    if (!verdict && sameRuns.length) {
      unread.push(`${type} accepts ${sameRuns.join(', ')} and nothing it runs changes: read ${key}, or refuse it at parse time in src/config (CONDITIONAL_READS / NOT_READ) naming why`);
      outcome[key] = 'UNREAD';
      continue;
    }
    if (!verdict && errors.length) unread.push(`${type}: no changed value of ${key} could be run here: ${errors.join('; ')}`);
    outcome[key] = verdict ?? (errors.length ? 'ERROR' : 'refused in every context');
  }
  expect(unread).toEqual([]);
  // the walk covered the schema
  if (!ONLY) expect(Object.keys(outcome).sort()).toEqual(leaves.map((l) => l.path.join('.')).sort());
});
