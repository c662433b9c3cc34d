/**
 * The `fast_slow` part of fastSlowTraining's input (DESIGN §5 "Fast–slow training"): the prompt pool
 * inside RL, how its rollouts are shared and grouped, and the GEPA rounds paid from RL's samples.
 * The whole input (run, task, policy, reflection, rl, optim, n_eval, system_prompt, fast_slow) is
 * composed in inputs.ts; the cross-field checks are `fastSlowIssues`. Pure.
 */
import { z } from 'zod';

export const fastSlowSchema = z
  .object({
    pool_size: z.number().int().positive().default(4).describe('prompts kept in the pool at most (pruned by the Pareto rule over the score window, never the best)'),
    prompts_per_group: z.number().int().positive().default(2).describe("prompts each problem's group_size rollouts are spread over (drawn from the pool by Pareto weight; a child on trial and its parent take two)"),
    gepa_every: z.number().int().nonnegative().default(6).describe('a GEPA round after every N RL steps (0: RL under the seed prompt only)'),
    score_window: z.number().int().positive().default(6).describe('RL steps whose rewards the Pareto front reads (older ones, under older weights, are stale)'),
    advantage_group: z
      .enum(['problem', 'prompt'])
      .default('problem')
      .describe("problem: one advantage group per problem across its prompts (FST); prompt: one per (problem, prompt), a baseline per prompt (E-SPL)"),
    child_eval: z
      .enum(['rollouts', 'minibatch'])
      .default('rollouts')
      .describe("rollouts: the child joins the next batches on trial beside its parent and is judged on those rollouts; minibatch: parent and child are sampled on a fresh train minibatch, as GEPA does"),
    trial_batches: z.number().int().positive().default(1).describe('child_eval=rollouts: batches a child is on trial before it is kept or dropped'),
    minibatch_size: z.number().int().positive().default(3).describe("problems of the parent's recent RL rollouts shown to the reflector (and, with child_eval=minibatch, the fresh minibatch's size)"),
    min_improvement_threshold: z.number().nonnegative().default(0).describe("keep a child only if its mean reward beats its parent's on the same problems by at least this (0: a strictly larger sum, as GEPA)"),
    perfect_score: z.number().default(1.0).describe("a round is skipped when the parent scores at least this on every problem of its minibatch"),
    rejected_memory: z.number().int().nonnegative().default(5).describe('rejected proposals shown to the reflector'),
    reflection_template: z.string().optional().describe('reflection prompt template ({component} {current_text} {examples} {rejected})'),
    debug: z.boolean().default(false).describe("a deterministic reflector that needs no LM (appends a note from the first failure's feedback), to try a pipeline"),
  })
  .strict();
export type FastSlowConfig = z.infer<typeof fastSlowSchema>;

/** What the fast_slow part cannot do with the rl part it is given: each with the values received. */
export function fastSlowIssues(c: { fast_slow: FastSlowConfig; rl: { group_size: number } }): Array<{ path: string; message: string }> {
  const f = c.fast_slow;
  const out: Array<{ path: string; message: string }> = [];
  if (f.prompts_per_group > c.rl.group_size) {
    out.push({ path: 'fast_slow.prompts_per_group', message: `each prompt needs at least one of a problem's rl.group_size=${c.rl.group_size} rollouts (got prompts_per_group=${f.prompts_per_group})` });
  }
  if (f.gepa_every > 0 && f.child_eval === 'rollouts' && f.prompts_per_group < 2) {
    out.push({ path: 'fast_slow.prompts_per_group', message: `child_eval=rollouts samples a child beside its parent on every problem: prompts_per_group must be at least 2 (got ${f.prompts_per_group}); or set child_eval=minibatch` });
  }
  if (f.gepa_every > 0 && f.child_eval === 'rollouts' && c.rl.group_size < 2) {
    out.push({ path: 'rl.group_size', message: `child_eval=rollouts needs a rollout for the child and one for its parent per problem: rl.group_size at least 2 (got ${c.rl.group_size})` });
  }
  return out;
}
