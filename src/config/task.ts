import { z } from 'zod';

/** Which task (dataset + verifiable reward) an experiment runs on (DESIGN §4.2). Owned by src/tasks/. */
export const TASK_NAMES = ['arithmetic', 'gsm8k', 'math', 'aime', 'hotpotqa', 'jsonl'] as const;
export const GRADER_NAMES = ['exact', 'numeric', 'math', 'contains', 'regex', 'f1'] as const;

export const taskConfigSchema = z
  .object({
    env: z.enum(TASK_NAMES).default('arithmetic').describe('task: arithmetic | gsm8k | math | aime | hotpotqa | jsonl (user task)'),
    n_train: z.number().int().positive().optional().describe('cap on train examples (default: all)'),
    n_val: z.number().int().positive().optional().describe('cap on val examples (default: task default)'),
    n_test: z.number().int().positive().optional().describe('cap on test examples (default: all)'),
    data_seed: z.number().int().nonnegative().default(0).describe('seed for splits and generated problems'),
    arithmetic_digits: z.number().int().min(1).max(9).default(2).describe('arithmetic: digits per operand'),
    arithmetic_operators: z.string().regex(/^[+\-*]+$/, 'only + - * allowed').default('+-*').describe('arithmetic: operators to draw from'),
    jsonl_path: z.string().optional().describe('jsonl task: path to a JSONL file'),
    jsonl_prompt_field: z.string().default('question').describe('jsonl task: field holding the prompt'),
    jsonl_answer_field: z.string().default('answer').describe('jsonl task: field holding the gold answer'),
    jsonl_grader: z.enum(GRADER_NAMES).default('exact').describe('jsonl task: grader'),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.env === 'jsonl' && !t.jsonl_path) {
      ctx.addIssue({ code: 'custom', path: ['jsonl_path'], message: 'env=jsonl needs jsonl_path (got nothing)' });
    }
  });

export type TaskConfig = z.infer<typeof taskConfigSchema>;
