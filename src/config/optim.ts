import { z } from 'zod';

/** The `optim` part: Adam settings of every training step (RL, SFT, expert-iteration distillation); learning rates sit with their stage. */
export const optimSchema = z
  .object({
    beta1: z.number().min(0).lt(1).default(0.9).describe('Adam beta1'),
    beta2: z.number().min(0).lt(1).default(0.95).describe('Adam beta2'),
    eps: z.number().positive().default(1e-8).describe('Adam epsilon'),
    weight_decay: z.number().nonnegative().default(0).describe('Adam weight decay'),
    grad_clip: z.number().nonnegative().default(0).describe('gradient-norm clip; 0 = no clipping (tinker-cookbook does not clip; TRL clips at 1.0)'),
  })
  .strict();
export type OptimConfig = z.infer<typeof optimSchema>;

/** The optimiser settings of one train_step: the stage's learning rate with the run's Adam settings. */
export const optimParamsSchema = z
  .object({ learning_rate: z.number().positive().describe('Adam learning rate of this step (the stage\'s: rl.learning_rate, sft.learning_rate, expert.sft_learning_rate)'), ...optimSchema.shape })
  .strict();
export type OptimParams = z.infer<typeof optimParamsSchema>;

/** The one mapping from config to the trainer's optimiser settings. */
export function optimParams(learning_rate: number, o: OptimConfig): OptimParams {
  return { learning_rate, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weight_decay: o.weight_decay, grad_clip: o.grad_clip };
}
