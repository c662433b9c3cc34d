import { z } from 'zod';
import { lmProviderSchema } from './lm';

/** Which task (dataset + verifiable reward) an experiment runs on (DESIGN §4.2). Owned by src/tasks/. */
export const TASK_NAMES = ['arithmetic', 'gsm8k', 'math', 'aime', 'hotpotqa', 'jsonl', 'tau2-airline'] as const;

/**
 * Tasks whose examples are multi-turn episodes (one activity per episode, scored by the episode
 * itself) instead of one completion scored by the task's checker.
 */
export const EPISODIC_TASKS: readonly string[] = ['tau2-airline'];
export const isEpisodicTask = (t: { env: string }): boolean => EPISODIC_TASKS.includes(t.env);

/**
 * The policy's sampling temperature when the config gives none: 1.0, except on an episodic task,
 * whose policy is a tool-calling agent sampled at 0 (tau2-bench's default for agent and user).
 */
export const EPISODIC_AGENT_TEMPERATURE = 0;

/**
 * A workflow input with the defaults that depend on its task filled in, before the schema fills the
 * rest: on an episodic task, policy.temperature is EPISODIC_AGENT_TEMPERATURE unless given. Anything
 * malformed is left as it is for the schema to report.
 */
export function withTaskDefaults(raw: unknown): unknown {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const r = raw as { task?: unknown; policy?: unknown };
  const env = r.task && typeof r.task === 'object' ? (r.task as { env?: unknown }).env : undefined;
  if (typeof env !== 'string' || !isEpisodicTask({ env })) return raw;
  if (r.policy !== undefined && (typeof r.policy !== 'object' || r.policy === null || Array.isArray(r.policy))) return raw;
  const policy = (r.policy ?? {}) as Record<string, unknown>;
  if (policy.temperature !== undefined) return raw;
  return { ...r, policy: { ...policy, temperature: EPISODIC_AGENT_TEMPERATURE } };
}
/**
 * How a math task asks and rewards: `ours` (each task's own prompt and 0/1 reward) or `cookbook`
 * (tinker-cookbook recipes/math_rl: src/tasks/cookbook.ts), for the tasks the cookbook has.
 */
export const TASK_STYLES = ['ours', 'cookbook'] as const;
export const COOKBOOK_STYLE_TASKS = ['gsm8k', 'math', 'arithmetic'] as const;
export const GRADER_NAMES = ['exact', 'numeric', 'math', 'contains', 'regex', 'f1'] as const;

const TASK_NAME_SHAPE = /^[A-Za-z][A-Za-z0-9_.-]*$/;
let registeredTaskNames: (() => string[]) | null = null;

/**
 * Called by the task registry (src/tasks/index.ts) when it loads: from then on `env` is checked
 * against the registry, built-in tasks plus those added in code with registerTask. The workflow
 * sandbox never loads the registry (and could not see a worker process's registrations), so
 * there `env` must be a built-in task, or any well-formed name with `code_task: true`; the
 * worker's task activities then check that name against its registry.
 */
export function bindTaskRegistry(names: () => string[]): void {
  registeredTaskNames = names;
}

/** Every task name a config may select here: the built-in tasks plus any registered in code. */
export function knownTaskNames(): string[] {
  return registeredTaskNames ? registeredTaskNames() : [...TASK_NAMES];
}

export const taskConfigSchema = z
  .object({
    env: z
      .string()
      .default('arithmetic')
      .describe('task: arithmetic | gsm8k | math | aime | hotpotqa | tau2-airline (tool-using agent, simulated user) | jsonl (user task) | the name of a task registered in code (registerTask)'),
    code_task: z.boolean().optional().describe('true: env names a task registered in code (registerTask) in the worker process; checked there'),
    n_train: z.number().int().positive().optional().describe('cap on train examples (default: all)'),
    n_val: z.number().int().positive().optional().describe('cap on val examples (default: task default)'),
    n_test: z.number().int().positive().optional().describe('cap on test examples (default: all)'),
    data_seed: z.number().int().nonnegative().default(0).describe('seed for splits and generated problems'),
    style: z
      .enum(TASK_STYLES)
      .default('ours')
      .describe("gsm8k, math, arithmetic: prompt and reward; ours (default) | cookbook: tinker-cookbook math_rl's environment (its few-shot prefix and suffix, \\boxed answer, reward 0.1*(format-1)+correct), to reproduce a cookbook number (docs/TASKS.md)"),
    arithmetic_digits: z.number().int().min(1).max(9).default(2).describe('arithmetic: digits per operand'),
    arithmetic_operators: z.string().regex(/^[+\-*]+$/, 'only + - * allowed').default('+-*').describe('arithmetic: operators to draw from'),
    jsonl_path: z.string().optional().describe('jsonl task: path to a JSONL file'),
    jsonl_prompt_field: z.string().default('question').describe('jsonl task: field holding the prompt'),
    jsonl_answer_field: z.string().default('answer').describe('jsonl task: field holding the gold answer'),
    jsonl_grader: z.enum(GRADER_NAMES).default('exact').describe('jsonl task: grader'),
    tau2_user_provider: lmProviderSchema
      .default('openai')
      .describe('tau2-airline: user-simulator provider (hold it fixed across compared runs; local: plumbing smoke tests only)'),
    tau2_user_model: z.string().min(1).default('gpt-4.1-2025-04-14').describe("tau2-airline: user-simulator model (tau2's default)"),
    tau2_user_base_url: z.string().optional().describe('tau2-airline: base URL of an openai-compatible user simulator'),
    tau2_user_max_tokens: z.number().int().positive().default(1024).describe('tau2-airline: max tokens of a user turn'),
    tau2_agent_max_tokens: z.number().int().positive().default(2048).describe('tau2-airline: max tokens of an agent turn'),
    tau2_max_steps: z.number().int().positive().default(200).describe("tau2-airline: an episode ends (reward 0) after this many messages (tau2: 200)"),
    tau2_max_errors: z.number().int().positive().default(10).describe('tau2-airline: an episode ends (reward 0) after this many tool errors (tau2: 10)'),
  })
  .strict()
  .superRefine((t, ctx) => {
    const known = knownTaskNames();
    if (!TASK_NAME_SHAPE.test(t.env)) {
      ctx.addIssue({ code: 'custom', path: ['env'], message: `a task name is letters, digits, _ . - starting with a letter (got ${JSON.stringify(t.env)}); known tasks: ${known.join(', ')}` });
    } else if (!known.includes(t.env) && !(t.code_task && !registeredTaskNames)) {
      const hint = registeredTaskNames
        ? 'a task written in code must be registered with registerTask before the config is parsed'
        : 'for a task registered in code (registerTask) in the worker, also set code_task: true';
      ctx.addIssue({ code: 'custom', path: ['env'], message: `unknown task ${JSON.stringify(t.env)}; known tasks: ${known.join(', ')} (${hint})` });
    }
    if (t.style !== 'ours' && !(COOKBOOK_STYLE_TASKS as readonly string[]).includes(t.env)) {
      ctx.addIssue({ code: 'custom', path: ['style'], message: `style=${t.style} exists for ${COOKBOOK_STYLE_TASKS.join(', ')} only (tinker-cookbook math_rl has those environments); got env=${t.env}` });
    }
    if (t.env === 'jsonl' && !t.jsonl_path) {
      ctx.addIssue({ code: 'custom', path: ['jsonl_path'], message: 'env=jsonl needs jsonl_path (got nothing)' });
    }
  });

export type TaskConfig = z.infer<typeof taskConfigSchema>;

/**
 * The one place that decides which grader scores a task: math answers (the `math` and `aime` tasks,
 * and JSONL tasks with the `math` grader) are decided by Math-Verify in the Python grader
 * (trainer/gepa_rl_trainer/math_grading.py), batched per sampled chunk; every other task is scored
 * in TS by its own cheap, exact checker.
 */
export function gradedByMathVerify(task: Pick<TaskConfig, 'env' | 'jsonl_grader' | 'code_task'>): boolean {
  if (task.code_task) return false;
  return task.env === 'math' || task.env === 'aime' || (task.env === 'jsonl' && task.jsonl_grader === 'math');
}
