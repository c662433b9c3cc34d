/**
 * The input of every workflow type, composed from the shared parts (task.ts, policy.ts, optim.ts,
 * lm.ts, fastSlow.ts) and the stage sections (stages.ts), with the cross-field checks each input
 * makes; `WORKFLOW_INPUT_SCHEMAS` maps a workflow type to its input. Pure.
 */
import { z } from 'zod';
import type { WorkflowType } from '../constants';
import { componentIssues } from '../core/gepa/components';
import { fastSlowIssues, fastSlowSchema } from './fastSlow';
import { reflectionSchema, teacherSchema } from './lm';
import { optimSchema } from './optim';
import { policySchema, trainablePolicySchema } from './policy';
import { alternationSchema, DEFAULT_SYSTEM_PROMPT, evalSchema, expertSchema, gepaSchema, nEval, phase, rlSchema, runSchema, sftSchema, tracesSchema } from './stages';
import { taskConfigSchema } from './task';

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
