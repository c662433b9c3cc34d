/**
 * zod schemas of every workflow input: the one source of truth for defaults, validation, CLI help
 * and the JSON Schema exported for Python (DESIGN §4.1). Pure: runs inside the workflow sandbox.
 *
 * Each input is composed from shared parts, each with one name and one default per setting and its
 * type beside it: `task` (task.ts), `policy` with its `sampling` part and the trainer's model
 * reference (policy.ts), `optim` (optim.ts), `lm` for reflection and teacher (lm.ts), `run`, the
 * stage sections (`rl`, `gepa`, `alternation`, `expert`, `sft`, `eval`, `traces`) and `n_eval`
 * below. The requests the Python workers receive are in trainer.ts.
 */
import { z } from 'zod';
import { BUDGET_RULES } from '../core/gepa/budget';
import type { WorkflowType } from '../constants';
import { reflectionSchema, teacherSchema } from './lm';
import { optimSchema } from './optim';
import { policySchema, trainablePolicySchema } from './policy';
import { fastSlowIssues, fastSlowSchema } from './fastSlow';
import { isEpisodicTask, taskConfigSchema, withTaskDefaults } from './task';
import { componentIssues } from '../core/gepa/components';

export { taskConfigSchema, type TaskConfig } from './task';
export * from './lm';
export * from './optim';
export * from './policy';
export * from './trainer';
export * from './fastSlow';

/** A name that becomes a folder of the run directory (run id, phase). */
const folderName = () => z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only');

export const runSchema = z
  .object({
    run_id: folderName().optional().describe('run id; runs/<run_id>/ (default: the workflow id)'),
    name: z.string().default('experiment').describe('human-readable experiment name (shown in the report heading)'),
    seed: z.number().int().nonnegative().default(0).describe('seed of every random choice in the run'),
    output_dir: z.string().default('runs').describe('directory holding run directories'),
    trainer_heartbeat_timeout_s: z.number().int().positive().default(20).describe('a trainer call without a heartbeat for this long is retried elsewhere (its worker pulses every 2 s; raise it only for a worker that holds the GIL longer, e.g. loading a very large checkpoint)'),
    wandb_project: z.string().min(1).optional().describe('also log metrics to this Weights & Biases project (metrics.jsonl is always written)'),
    wandb_mode: z
      .enum(['auto', 'online', 'offline'])
      .default('auto')
      .describe('W&B mode; auto: online when the trainer worker has WANDB_API_KEY and reaches the W&B host, else offline (wandb sync later)'),
  })
  .strict();
export type RunConfig = z.infer<typeof runSchema>;

export const rlSchema = z
  .object({
    n_batches: z.number().int().positive().default(20).describe('RL batches (one optimiser step each)'),
    groups_per_batch: z.number().int().positive().default(50).describe('problems per batch'),
    group_size: z.number().int().positive().default(4).describe('samples per problem'),
    learning_rate: z.number().positive().default(5e-4).describe('Adam learning rate (constant)'),
    loss: z
      .enum(['importance_sampling', 'ppo', 'cispo'])
      .default('importance_sampling')
      .describe("policy loss; cispo: the clipped importance weight, gradient stopped, times the advantage times log-prob (MiniMax-M1; fast-slow training's, as FST) (cross_entropy is SFT's: sft, expert iteration)"),
    advantage: z.enum(['group_centered', 'grpo_std']).default('group_centered').describe('reward - group mean, or also divided by group std (GRPO)'),
    drop_constant_reward_groups: z.boolean().default(false).describe('drop groups whose rewards are all equal'),
    eval_every: z.number().int().nonnegative().default(5).describe('evaluate on the test split every N batches (0: only at start and end)'),
    save_every: z.number().int().positive().default(5).describe('keep every Nth step checkpoint and the last; the others are deleted once the next step is done (every step is checkpointed for resume)'),
  })
  .strict();
export type RlConfig = z.infer<typeof rlSchema>;

/**
 * The `eval` part's one setting shared by workflows: test problems per test-split evaluation (rl, sft,
 * expert iteration, GEPA's eval_test, and the alternation's phases: one name for all of them).
 */
const nEval = () => z.number().int().positive().optional().describe('test problems per test evaluation (default: the whole test split)');

/** The sub-folder a composed workflow gives each child phase. */
const phase = () => folderName().optional().describe('sub-folder of the run directory (set by composed workflows)');

export const DEFAULT_SYSTEM_PROMPT = 'You are a helpful assistant. Solve the problem and give the final answer.';

export const evaluatePromptInputSchema = z
  .object({
    run: runSchema.prefault({}),
    task: taskConfigSchema.prefault({}),
    policy: trainablePolicySchema.prefault({}),
    prompt: z.string().default(DEFAULT_SYSTEM_PROMPT).describe('system prompt to evaluate'),
    k: z.number().int().positive().default(20).describe('number of problems'),
    split: z.enum(['train', 'val', 'test']).default('test').describe('split the problems come from'),
  })
  .strict();
export type EvaluatePromptInput = z.infer<typeof evaluatePromptInputSchema>;

export const rlInputSchema = z
  .object({
    run: runSchema.prefault({}),
    task: taskConfigSchema.prefault({}),
    policy: trainablePolicySchema.prefault({}),
    rl: rlSchema.prefault({}),
    optim: optimSchema.prefault({}),
    n_eval: nEval(),
    system_prompt: z.string().default(DEFAULT_SYSTEM_PROMPT).describe('system prompt RL trains under'),
    phase: phase(),
    start_batch: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('batches of the train order already trained by earlier phases: batch b trains the problems of position start_batch+b (set by gepaRlAlternation)'),
  })
  .strict();
export type RlInput = z.infer<typeof rlInputSchema>;

export const gepaSchema = z
  .object({
    max_metric_calls: z.number().int().positive().default(150).describe('budget of task rollouts (metric calls), reflection calls not counted'),
    budget_rule: z
      .enum(BUDGET_RULES)
      .default('strict')
      .describe("strict: an iteration starts only if its worst case fits, so max_metric_calls is never exceeded; reference: as gepa-ai/gepa, an iteration starts while fewer than max_metric_calls are spent, and the last one can go past it"),
    max_iterations: z.number().int().positive().optional().describe('stop after this many iterations'),
    score_threshold: z.number().optional().describe('stop when the best val score reaches this'),
    max_no_improvement: z.number().int().positive().optional().describe('stop after N iterations without a better best val score'),
    minibatch_size: z.number().int().positive().default(3).describe('reflection minibatch size'),
    val_size: z
      .union([z.number().int().positive(), z.literal('all')])
      .optional()
      .describe('val rows candidates are scored on; all: the whole val split, as gepa-ai/gepa (default: the val split, made smaller so the budget pays the seed plus 3 full iterations, at least 8 rows; the start prints which)'),
    component_selector: z.enum(['round_robin', 'all']).default('round_robin').describe('which components are rewritten per iteration'),
    parallelism: z.number().int().positive().default(4).describe('evaluation chunks run in parallel'),
    parallel_proposals: z
      .number()
      .int()
      .positive()
      .default(1)
      .describe('reflective iterations in flight at once, each with its parent picked at dispatch and its worst case reserved from max_metric_calls (1: one after another); docs/GEPA.md'),
    cache_evaluation: z
      .boolean()
      .optional()
      .describe("don't sample or pay again a val row already scored for the same candidate text (gepa-ai/gepa's cache_evaluation); default: on at policy.temperature=0, off above (true is refused there); docs/GEPA.md"),
    perfect_score: z.number().default(1.0).describe('a minibatch where every score reaches this is skipped'),
    seed_prompt: z.string().default(DEFAULT_SYSTEM_PROMPT).describe('the seed candidate system prompt'),
    reflection_template: z.string().optional().describe('reflection prompt template ({component} {current_text} {examples} {rejected})'),
    components: z
      .record(z.string(), z.string())
      .optional()
      .describe('seed candidate as named text components in order, system_prompt first (default {system_prompt: seed_prompt}; without system_prompt, seed_prompt comes first); all reach the policy as one system prompt'),
    use_merge: z.boolean().default(false).describe('system-aware merge of two Pareto-front candidates with a common ancestor (GEPA paper)'),
    max_merge_invocations: z.number().int().nonnegative().default(5).describe('merges tried at most (with use_merge)'),
    reflection_prompts: z.record(z.string(), z.string()).optional().describe('reflection prompt template per component name (others use reflection_template or the default)'),
    rejected_memory: z.number().int().nonnegative().default(5).describe('rejected proposals per component shown to the reflector'),
    format_guard: z.boolean().default(false).describe('also reject a child that lowers the format-ok count on the minibatch (gepa-ai/gepa accepts on score alone)'),
    max_cost_usd: z.number().positive().optional().describe('stop before an iteration would push the USD spent on episodes (agent + user, tau2-airline) and reflection past this'),
    rollouts_per_problem: z
      .number()
      .int()
      .positive()
      .default(1)
      .describe('samples per problem in every evaluation (each a metric call); a problem scores their mean, and their spread is shown to the reflector'),
    pool_size: z.number().int().positive().optional().describe('keep at most this many candidates, pruning by the Pareto rule (never the best); default: all'),
    min_improvement_threshold: z
      .number()
      .nonnegative()
      .default(0)
      .describe("accept a child only if its minibatch mean beats the parent's by at least this (0: strictly better, as the reference)"),
    debug: z.boolean().default(false).describe('a deterministic reflector that needs no LM (appends a note from the first failure\'s feedback), to try a pipeline'),
    eval_test: z.boolean().default(false).describe('after optimisation, score the seed and the best candidate on the first n_eval test problems (not counted in max_metric_calls)'),
    fence_repair: z
      .boolean()
      .default(false)
      .describe('a reflection reply without a fenced block gets one more turn asking for it (false: the whole reply is the proposal, as the reference)'),
  })
  .strict();
export type GepaConfig = z.infer<typeof gepaSchema>;


export const gepaInputSchema = z
  .object({
    run: runSchema.prefault({}),
    task: taskConfigSchema.prefault({}),
    policy: policySchema.prefault({}),
    reflection: reflectionSchema.prefault({}),
    gepa: gepaSchema.prefault({}),
    n_eval: nEval(),
    phase: phase(),
  })
  .strict()
  // components are checked here, before any run directory exists (core/gepa/components.ts)
  .superRefine((c, ctx) => {
    for (const i of componentIssues(c.gepa)) ctx.addIssue({ code: 'custom', path: i.path.split('.'), message: i.message });
  });
export type GepaInput = z.infer<typeof gepaInputSchema>;

export const alternationSchema = z
  .object({
    n_rounds: z.number().int().positive().default(3).describe('rounds of [GEPA phase, RL phase]'),
    rl_batches_per_round: z.number().int().positive().default(10).describe('RL batches in each RL phase'),
    skip_first_gepa: z.boolean().default(false).describe('start round 0 with RL (no GEPA phase)'),
    gepa_iterations: z.number().int().positive().default(3).describe('GEPA iterations in each GEPA phase (its max_iterations; seed 000)'),
    expert_rounds_per_round: z.number().int().nonnegative().default(0).describe('expert-iteration rounds after each RL phase (0: GEPA+RL only; >0: GEPA+RL+expert iteration)'),
  })
  .strict();
export type AlternationConfig = z.infer<typeof alternationSchema>;


export const expertSchema = z
  .object({
    n_rounds: z.number().int().positive().default(2).describe('expert-iteration rounds'),
    problems_per_round: z.number().int().positive().default(20).describe('train problems attempted per round'),
    attempts_per_problem: z.number().int().positive().default(4).describe('student attempts per problem under the clean prompt'),
    use_hints: z.boolean().default(true).describe('teacher hints for failed problems (false: best-of-N only)'),
    max_hint_regenerations: z.number().int().nonnegative().default(3).describe('a leaking hint is regenerated up to k times, then dropped'),
    expert_samples: z.number().int().positive().default(4).describe('samples per failed problem under prompt + hint (best-of-N)'),
    max_successes_per_problem: z.number().int().positive().default(10).describe('verified successes kept per problem'),
    restart_from_base: z.boolean().default(false).describe('distil each round from the base model on the whole buffer'),
    sft_learning_rate: z.number().positive().default(1e-4).describe('Adam learning rate of the distillation (M-step)'),
    sft_epochs: z.number().int().positive().default(3).describe('passes of the distillation over its examples each round (the round\'s successes, or the whole buffer with restart_from_base)'),
    sft_batch_size: z.number().int().positive().default(8).describe('examples per distillation optimiser step'),
  })
  .strict();
export type ExpertConfig = z.infer<typeof expertSchema>;

export const sftSchema = z
  .object({
    train_samples: z.number().int().positive().default(100).describe('training examples'),
    learning_rate: z.number().positive().default(1e-4).describe('Adam learning rate'),
    batch_size: z.number().int().positive().default(8).describe('examples per optimiser step'),
    n_epochs: z.number().int().positive().default(1).describe('passes over the examples'),
    source: z.enum(['reference', 'traces']).default('reference').describe('reference solutions of the dataset, or a traceGeneration run'),
    traces_file: z
      .string()
      .optional()
      .describe('source=traces: path of sft_examples.json written by traceGeneration, or a JSONL file of {"question", "answer"} rows (the seeds\' generate_traces.py output: answer = reasoning then #### <number>)'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.source === 'traces' && !s.traces_file) {
      ctx.addIssue({ code: 'custom', path: ['traces_file'], message: 'source=traces needs traces_file (the sft_examples.json of a traceGeneration run; got nothing)' });
    }
  });
export type SftConfig = z.infer<typeof sftSchema>;

export const evalSchema = z
  .object({
    split: z.enum(['train', 'val', 'test']).default('test').describe('split to evaluate on'),
    n_examples: z.number().int().positive().optional().describe('first N examples (default: all)'),
    parallelism: z.number().int().positive().default(1).describe('sampling chunks run in parallel'),
    trials: z.number().int().positive().default(1).describe('samples (trials) per example; tau2-airline reports pass^1..pass^trials'),
  })
  .strict();
export type EvalConfig = z.infer<typeof evalSchema>;

export const tracesSchema = z
  .object({
    n_problems: z.number().int().positive().default(100).describe('train problems to generate traces for'),
    max_attempts: z.number().int().positive().default(4).describe('samples per problem; the first correct one is kept'),
    parallelism: z.number().int().positive().default(1).describe('sampling chunks run in parallel'),
  })
  .strict();
export type TracesConfig = z.infer<typeof tracesSchema>;

const common = <P extends z.ZodType>(policy: P) => ({
  run: runSchema.prefault({}),
  task: taskConfigSchema.prefault({}),
  policy,
  system_prompt: z.string().default(DEFAULT_SYSTEM_PROMPT).describe('system prompt (clean prompt s)'),
  phase: phase(),
});

export const alternationInputSchema = z
  .object({
    run: runSchema.prefault({}),
    task: taskConfigSchema.prefault({}),
    policy: trainablePolicySchema.prefault({}),
    reflection: reflectionSchema.prefault({}),
    // the length of each phase is the alternation's (see NOT_READ below); the rest drives the phases
    gepa: gepaSchema.omit({ max_iterations: true, components: true, component_selector: true }).strict().prefault({}),
    rl: rlSchema.omit({ n_batches: true }).strict().prefault({}),
    optim: optimSchema.prefault({}),
    n_eval: nEval(),
    alternation: alternationSchema.prefault({}),
    teacher: teacherSchema.prefault({}),
    expert: expertSchema.omit({ n_rounds: true }).strict().prefault({}),
  })
  .strict()
  // its GEPA phases evolve the one system_prompt: reflection_prompts may name only that
  .superRefine((c, ctx) => {
    for (const i of componentIssues({ reflection_prompts: c.gepa.reflection_prompts })) ctx.addIssue({ code: 'custom', path: i.path.split('.'), message: i.message });
    if (c.expert.restart_from_base && c.alternation.expert_rounds_per_round > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['expert', 'restart_from_base'],
        message:
          'true is refused inside gepa-rl (got true): an expert phase starts from the weights the RL phase before it trained, and distilling from the base model would throw that training away; run expert-iteration on its own for restart_from_base',
      });
    }
  });

export type AlternationInput = z.infer<typeof alternationInputSchema>;

export const expertIterationInputSchema = z
  .object({
    ...common(trainablePolicySchema.prefault({})),
    teacher: teacherSchema.prefault({}),
    expert: expertSchema.prefault({}),
    optim: optimSchema.prefault({}),
    n_eval: nEval(),
    start_round: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('rounds of the train order already attempted by earlier phases: round r attempts the problems of position start_round+r (set by gepaRlAlternation)'),
  })
  .strict();
export type ExpertIterationInput = z.infer<typeof expertIterationInputSchema>;
export const sftInputSchema = z.object({ ...common(trainablePolicySchema.prefault({})), sft: sftSchema.prefault({}), optim: optimSchema.prefault({}), n_eval: nEval() }).strict();
export type SftInput = z.infer<typeof sftInputSchema>;
export const evaluationInputSchema = z.object({ ...common(policySchema.prefault({})), eval: evalSchema.prefault({}) }).strict();
export type EvaluationInput = z.infer<typeof evaluationInputSchema>;
export const traceGenerationInputSchema = z.object({ ...common(policySchema.prefault({})), traces: tracesSchema.prefault({}) }).strict();
export type TraceGenerationInput = z.infer<typeof traceGenerationInputSchema>;

/** fastSlowTraining: RL on the weights under a pool of prompts evolved by GEPA rounds (config/fastSlow.ts). */
export const fastSlowInputSchema = z
  .object({
    run: runSchema.prefault({}),
    task: taskConfigSchema.prefault({}),
    policy: trainablePolicySchema.prefault({}),
    reflection: reflectionSchema.prefault({}),
    rl: rlSchema.prefault({}),
    optim: optimSchema.prefault({}),
    n_eval: nEval(),
    system_prompt: z.string().default(DEFAULT_SYSTEM_PROMPT).describe('the seed prompt: the pool starts with it, and the 2x2 table compares the best prompt with it'),
    fast_slow: fastSlowSchema.prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const i of fastSlowIssues(c)) ctx.addIssue({ code: 'custom', path: i.path.split('.'), message: i.message });
  });
export type FastSlowInput = z.infer<typeof fastSlowInputSchema>;


export const WORKFLOW_INPUT_SCHEMAS: Partial<Record<WorkflowType, z.ZodType>> = {
  evaluatePrompt: evaluatePromptInputSchema,
  rlTraining: rlInputSchema,
  gepaOptimization: gepaInputSchema,
  gepaRlAlternation: alternationInputSchema,
  expertIteration: expertIterationInputSchema,
  sftTraining: sftInputSchema,
  evaluation: evaluationInputSchema,
  traceGeneration: traceGenerationInputSchema,
  fastSlowTraining: fastSlowInputSchema,
};

/**
 * Keys a workflow does not read although another workflow (or one of its own sections elsewhere)
 * has them, with the key that does drive what the user meant. Refused before start with that pointer.
 */
export const NOT_READ: Partial<Record<WorkflowType, Record<string, string>>> = {
  gepaRlAlternation: {
    'gepa.max_iterations': 'the iterations of each GEPA phase are alternation.gepa_iterations',
    'gepa.components': 'the alternation evolves a single system prompt: set gepa.seed_prompt',
    'gepa.component_selector': 'the alternation evolves a single system prompt: there is one component to rewrite',
    'rl.n_batches': 'the batches of each RL phase are alternation.rl_batches_per_round',
    'expert.n_rounds': 'the rounds of each expert phase are alternation.expert_rounds_per_round',
  },
  expertIteration: {
    'rl.learning_rate': 'the distillation\'s learning rate is expert.sft_learning_rate',
  },
  sftTraining: {
    'rl.learning_rate': 'the learning rate of SFT is sft.learning_rate',
  },
};

/** Keys that were renamed: an old config gets the new name. */
export const RENAMED: Record<string, string> = {
  'rl.n_eval': 'n_eval',
  'rl.beta1': 'optim.beta1',
  'rl.beta2': 'optim.beta2',
  'rl.eps': 'optim.eps',
  'rl.weight_decay': 'optim.weight_decay',
  'rl.grad_clip': 'optim.grad_clip',
  'alternation.format_guard': 'gepa.format_guard',
  'alternation.traces_per_iteration': 'gepa.minibatch_size',
  'gepa.n_eval_test': 'n_eval',
};

/**
 * The keys a refused value at `prefix` names: the prefix itself when it is a setting somewhere (a
 * leaf of some workflow's schema, a refused or renamed key), else the keys inside it (a section).
 */
export function leafPaths(value: unknown, prefix: string): string[] {
  const known = prefix in RENAMED || Object.values(NOT_READ).some((m) => m && prefix in m) || Object.values(WORKFLOW_INPUT_SCHEMAS).some((sc) => schemaAt(sc!, prefix.split('.')) === 'leaf');
  if (known || value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) return [prefix];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => leafPaths(v, `${prefix}.${k}`));
}

/**
 * Why `type` refuses the key at `path`: the key that does what the user meant when there is one,
 * else the workflows that do read it.
 */
export function unreadKeyMessage(type: WorkflowType, path: string): string {
  const why = NOT_READ[type]?.[path];
  if (why) return `${type} does not read ${path}: ${why}`;
  const renamed = RENAMED[path];
  if (renamed) return `${type} does not read ${path}: it was renamed ${renamed}`;
  const readers = (Object.keys(WORKFLOW_INPUT_SCHEMAS) as WorkflowType[]).filter((t) => t !== type && schemaAt(WORKFLOW_INPUT_SCHEMAS[t]!, path.split('.')) !== null);
  return `${type} does not read ${path}${readers.length ? ` (a key of ${readers.join(', ')})` : ''}; nothing it runs would change`;
}

type Shape = { _zod: { def: Record<string, any> } };
function innerOf(s: Shape): Shape {
  let cur = s;
  while (['default', 'prefault', 'optional', 'nullable', 'pipe'].includes(cur._zod.def.type)) cur = cur._zod.def.innerType ?? cur._zod.def.in;
  return cur;
}
/** What `schema` has at `path`: a setting, a section of settings, or nothing. */
function schemaAt(schema: z.ZodType, path: string[]): 'leaf' | 'section' | null {
  let cur = innerOf(schema as unknown as Shape);
  for (const k of path) {
    if (cur._zod.def.type !== 'object') return null;
    const next = (cur._zod.def.shape as Record<string, Shape>)[k];
    if (!next) return null;
    cur = innerOf(next);
  }
  return cur._zod.def.type === 'object' ? 'section' : 'leaf';
}

export interface ConfigIssue {
  path: string;
  message: string;
  received?: unknown;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly workflowType: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`invalid ${workflowType} config:\n` + issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n'));
  }
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/**
 * Keys a workflow reads only under some other setting. Set to anything but their default while that
 * setting says otherwise, they would change nothing, so they are refused naming the setting. (A
 * composed workflow hands its children whole sections, defaults included: those pass, being defaults.)
 */
interface ConditionalRead {
  types?: WorkflowType[];
  /** dotted paths; `section.*` is every key of the section */
  keys: string[];
  unread: (c: any) => string | null;
}
const CONDITIONAL_READS: ConditionalRead[] = [
  { keys: ['task.arithmetic_digits', 'task.arithmetic_operators'], unread: (c) => (c.task.env !== 'arithmetic' ? `read only with task.env=arithmetic (got ${c.task.env})` : null) },
  { keys: ['task.jsonl_path', 'task.jsonl_prompt_field', 'task.jsonl_answer_field', 'task.jsonl_grader'], unread: (c) => (c.task.env !== 'jsonl' ? `read only with task.env=jsonl (got ${c.task.env})` : null) },
  { keys: ['policy.api_provider', 'policy.api_model', 'policy.api_base_url'], unread: (c) => (c.policy.backend !== 'api' ? `read only with policy.backend=api (got ${c.policy.backend})` : null) },
  { keys: ['policy.lora_rank', 'policy.lora_alpha', 'policy.lora_target_modules', 'policy.checkpoint'], unread: (c) => (c.policy.backend === 'api' ? 'not read with policy.backend=api (an API model has no weights here)' : null) },
  { keys: ['policy.lora_alpha', 'policy.lora_target_modules'], unread: (c) => (c.policy.lora_rank === 0 ? 'not read with policy.lora_rank=0 (full fine-tuning, no LoRA)' : null) },
  { keys: ['policy.sampler'], unread: (c) => (c.policy.backend !== 'local' ? `read only with policy.backend=local (got ${c.policy.backend}: ${c.policy.backend === 'tinker' ? 'Tinker samples on its own servers' : 'an API model is sampled by its provider'})` : null) },
  { keys: ['run.wandb_mode'], unread: (c) => (c.run.wandb_project === undefined ? 'read only with run.wandb_project set' : null) },
  {
    types: ['gepaOptimization', 'gepaRlAlternation'],
    keys: ['gepa.cache_evaluation'],
    unread: (c) => {
      const [on, t] = [c.gepa.cache_evaluation, c.policy.temperature];
      if (on === true && t > 0) return `true needs a deterministic policy (policy.temperature=0, got ${t}): a sampled reply differs between draws, so a cached score would stand in for a draw never made`;
      if (on === false && t > 0) return `false is what runs at policy.temperature=${t} already (the cache is on only at temperature 0)`;
      if (on === true && t === 0) return 'true is what runs at policy.temperature=0 already (its default there; false turns it off)';
      return null;
    },
  },
  {
    types: ['gepaRlAlternation'],
    keys: ['expert.*', 'teacher.*'],
    unread: (c) => (c.alternation.expert_rounds_per_round === 0 ? 'read only with alternation.expert_rounds_per_round > 0 (0: no expert phases)' : null),
  },
  {
    types: ['expertIteration', 'gepaRlAlternation'],
    keys: ['teacher.*', 'expert.max_hint_regenerations', 'expert.expert_samples'],
    unread: (c) => (c.expert.use_hints === false ? 'read only with expert.use_hints=true (false: best-of-N, no teacher)' : null),
  },
  {
    types: ['gepaOptimization'],
    keys: ['gepa.seed_prompt'],
    unread: (c) => (c.gepa.components && 'system_prompt' in c.gepa.components ? 'not read when gepa.components has system_prompt (that is the seed candidate\'s system prompt)' : null),
  },
  {
    types: ['sftTraining'],
    keys: ['sft.traces_file'],
    unread: (c) => (c.sft.source !== 'traces' ? `read only with sft.source=traces (got ${c.sft.source})` : null),
  },
  {
    keys: ['rl.drop_constant_reward_groups'],
    unread: () =>
      'it changes nothing here: a group whose rewards are all equal has advantage 0 for every sample with or without it, a sample with advantage 0 adds nothing to the loss, and a batch of them takes no step',
  },
  {
    keys: ['task.tau2_user_provider', 'task.tau2_user_model', 'task.tau2_user_base_url', 'task.tau2_user_max_tokens', 'task.tau2_agent_max_tokens', 'task.tau2_max_steps', 'task.tau2_max_errors'],
    unread: (c) => (c.task.env !== 'tau2-airline' ? `read only with task.env=tau2-airline (got ${c.task.env})` : null),
  },
  {
    keys: ['policy.max_tokens', 'policy.top_p'],
    unread: (c) => (isEpisodicTask(c.task) ? `not read with task.env=${c.task.env}: its agent turns take task.tau2_agent_max_tokens and are sent no top_p` : null),
  },
  {
    keys: ['policy.top_p'],
    unread: (c) => (c.policy.temperature === 0 ? 'not read with policy.temperature=0 (greedy decoding takes the most likely token whatever the nucleus)' : null),
  },
  {
    types: ['gepaOptimization', 'gepaRlAlternation'],
    keys: ['reflection.*'],
    unread: (c) => (c.gepa.debug === true ? 'not read with gepa.debug=true (the deterministic reflector calls no LM)' : null),
  },
  {
    types: ['gepaOptimization', 'gepaRlAlternation'],
    keys: ['gepa.max_merge_invocations'],
    unread: (c) => (c.gepa.use_merge === false ? 'read only with gepa.use_merge=true' : null),
  },
  {
    types: ['gepaOptimization'],
    keys: ['n_eval'],
    unread: (c) => (c.gepa.eval_test === false ? 'read only with gepa.eval_test=true (GEPA scores the test split only then)' : null),
  },
];

/**
 * Workflows that cannot run an episodic task (tau2-airline: multi-turn episodes scored by the
 * episode, no reference solution, no per-completion reward the trainer can use): refused at parse
 * time, with what would happen instead.
 */
const EPISODIC_UNSUPPORTED: Partial<Record<WorkflowType, string>> = {
  rlTraining: 'RL would train nothing (its episodes are not sampled as completions: every reward 0, every group constant)',
  gepaRlAlternation: 'its RL phases would train nothing (every reward 0, every group constant); run gepa (gepaOptimization) on it instead',
  expertIteration: 'every problem would be skipped (its attempts are single completions, not episodes)',
  traceGeneration: 'every problem would be skipped (its attempts are single completions, not episodes)',
  sftTraining: 'every problem would be skipped (the task has no reference solutions to train on)',
};

function unsupportedTask(type: WorkflowType, data: any): ConfigIssue[] {
  const why = EPISODIC_UNSUPPORTED[type];
  if (!why || !isEpisodicTask(data.task)) return [];
  return [{ path: 'task.env', message: `${type} cannot run task.env=${data.task.env}: ${why}; got ${JSON.stringify(data.task.env)}`, received: data.task.env }];
}

const defaultsOf = new Map<WorkflowType, unknown>();

/**
 * `raw` says which keys were given (a default filled in by a transform, as reflection.max_tokens by
 * provider, was not); `data`, the parsed input, says whether the setting that reads them is on.
 */
function conditionallyUnread(type: WorkflowType, schema: z.ZodType, raw: unknown, data: unknown): ConfigIssue[] {
  if (!defaultsOf.has(type)) defaultsOf.set(type, schema.parse({}));
  const defaults = defaultsOf.get(type);
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const rule of CONDITIONAL_READS) {
    if (rule.types && !rule.types.includes(type)) continue;
    const paths = rule.keys.flatMap((k) => {
      if (!k.endsWith('.*')) return [k];
      const section = valueAt(raw, [k.slice(0, -2)]);
      return section && typeof section === 'object' ? Object.keys(section).map((sub) => `${k.slice(0, -2)}.${sub}`) : [];
    });
    const set = paths.filter((p) => {
      const v = valueAt(raw, p.split('.'));
      return v !== undefined && JSON.stringify(v) !== JSON.stringify(valueAt(defaults, p.split('.')));
    });
    if (!set.length) continue;
    const why = rule.unread(data);
    if (!why) continue;
    for (const p of set) {
      if (seen.has(p)) continue;
      seen.add(p);
      const received = valueAt(raw, p.split('.'));
      issues.push({ path: p, message: `${type} does not read ${p} here: ${why}; got ${JSON.stringify(received)}`, received });
    }
  }
  return issues;
}

/** Validate and fill defaults; throws ConfigError naming every bad field and what it received. */
export function parseWorkflowInput<T = unknown>(type: WorkflowType, raw: unknown): T {
  const schema = WORKFLOW_INPUT_SCHEMAS[type];
  if (!schema) throw new ConfigError(type, [{ path: '', message: `no input schema for workflow type ${type}` }]);
  // task-dependent defaults first (tau2-airline's agent at temperature 0: config/task.ts withTaskDefaults)
  const r = schema.safeParse(withTaskDefaults(raw ?? {}));
  if (r.success) {
    const unread = [...unsupportedTask(type, r.data), ...conditionallyUnread(type, schema, raw ?? {}, r.data)];
    if (unread.length) throw new ConfigError(type, unread);
    return r.data as T;
  }
  const issues = r.error.issues.flatMap((i): ConfigIssue[] => {
    const received = valueAt(raw, i.path);
    if (i.code === 'unrecognized_keys') {
      // one issue per key the workflow does not read, each saying why and what to use instead
      return i.keys.flatMap((k) =>
        leafPaths((received as Record<string, unknown>)[k], [...i.path, k].join('.')).map((p) => ({
          path: p,
          message: unreadKeyMessage(type, p),
          received: valueAt(raw, p.split('.')),
        })),
      );
    }
    return [{ path: i.path.join('.'), message: `${i.message}, got ${JSON.stringify(received) ?? 'nothing'}`, received }];
  });
  throw new ConfigError(type, issues);
}
