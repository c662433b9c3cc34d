/**
 * The stage sections of the workflow inputs, each with one name and one default per setting and its
 * type beside it: `run`, `rl`, `gepa`, `alternation`, `expert`, `sft`, `eval`, `traces`, and the
 * small parts the inputs share (`n_eval`, `phase`, the default system prompt). The inputs composed
 * from them are in inputs.ts. Pure: runs inside the workflow sandbox.
 */
import { z } from 'zod';
import { BUDGET_RULES } from '../core/gepa/budget';

/** A name that becomes a folder of the run directory (run id, phase). */
export const folderName = () => z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only');

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
export const nEval = () => z.number().int().positive().optional().describe('test problems per test evaluation (default: the whole test split)');

/** The sub-folder a composed workflow gives each child phase. */
export const phase = () => folderName().optional().describe('sub-folder of the run directory (set by composed workflows)');

export const DEFAULT_SYSTEM_PROMPT = 'You are a helpful assistant. Solve the problem and give the final answer.';

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
    restart_from_base: z.boolean().default(false).describe('distil each round from the base model on the whole buffer (expert-iteration only: refused inside gepa-rl, whose expert phases start from the RL weights)'),
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
