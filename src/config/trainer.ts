/**
 * The requests the Python workers receive (task queues gepa-rl-trainer and gepa-rl-grader, DESIGN §4.3),
 * as zod schemas: the TS types of src/types.ts are inferred from them, and their JSON Schema
 * (trainer/gepa_rl_trainer/requests.schema.json, `npm run schema:trainer`) is what the Python worker
 * validates every request against before it runs. Field names are snake_case on both sides. Pure.
 */
import { z } from 'zod';
import { optimParamsSchema } from './optim';
import { modelRefSchema, samplingParamsSchema } from './policy';

export const chatMessageSchema = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }).strict();
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** Claim-check reference to a JSON blob in the blob store (DESIGN §4.5). */
export const blobRefSchema = z
  .object({
    uri: z.string().min(1).describe('file:///abs/path/runs/<id>/blobs/<sha256>.json'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex'),
    bytes: z.number().int().nonnegative(),
  })
  .strict();
export type BlobRef = z.infer<typeof blobRefSchema>;

export const policySampleRequestSchema = z
  .object({
    model: modelRefSchema,
    checkpoint: z.string().nullable().describe('checkpoint directory written by train_step, or null for the base model'),
    prompts: z.array(z.array(chatMessageSchema)).optional().describe('inline prompts (chat messages per prompt)'),
    prompts_ref: blobRefSchema.optional().describe('or a blob holding ChatMessage[][]'),
    num_samples: z.number().int().positive(),
    sampling: samplingParamsSchema,
    blob_dir: z.string().min(1).describe('directory of the blob store to write rollouts into (runs/<id>/blobs)'),
    return_texts: z.boolean().describe('include texts inline in the result (small requests only)'),
  })
  .strict();
export type PolicySampleRequest = z.infer<typeof policySampleRequestSchema>;

export const LOSSES = ['importance_sampling', 'ppo', 'cispo', 'cross_entropy'] as const;
export type LossName = (typeof LOSSES)[number];

export const trainStepRequestSchema = z
  .object({
    run_id: z.string().min(1),
    step: z.number().int().nonnegative(),
    model: modelRefSchema,
    checkpoint_in: z.string().nullable(),
    checkpoint_root: z.string().min(1).describe('runs/<id>/checkpoints ; step k is written to <checkpoint_root>/<k>'),
    loss: z.enum(LOSSES),
    rollouts_ref: blobRefSchema.optional().describe('RL: rollouts, with one advantage per rollout (same order as the blob\'s rollouts)'),
    advantages: z.array(z.number()).optional(),
    sft_examples_ref: blobRefSchema.optional().describe('SFT: a blob holding SftExample[]'),
    optim: optimParamsSchema,
    keep: z.boolean().optional().describe("keep this step's checkpoint (default true); false: the trainer prunes it once the next step, trained from it, is done"),
  })
  .strict();
export type TrainStepRequest = z.infer<typeof trainStepRequestSchema>;

/** KL(pi_theta || pi_base) on rollouts the policy sampled (the local backend; trainer/gepa_rl_trainer/backends/local.py kl_to_base). */
export const klToBaseRequestSchema = z
  .object({
    model: modelRefSchema,
    checkpoint: z.string().nullable().describe('the weights the rollouts were sampled under (pi_theta); null for the base model'),
    base_checkpoint: z.string().nullable().describe("the weights KL is measured against (pi_base): the run's start, null for the base model"),
    rollouts_refs: z.array(blobRefSchema).min(1).describe('rollout blobs written by policy_sample under `checkpoint`'),
  })
  .strict();
export type KlToBaseRequest = z.infer<typeof klToBaseRequestSchema>;

/** The grader's batched call: every rollout of one sampled chunk against its problem's gold. */
export const mathVerifyRolloutsRequestSchema = z
  .object({
    rollouts_ref: blobRefSchema,
    golds_ref: blobRefSchema.describe('a blob holding one gold answer per prompt of the chunk (string | null)'),
    blob_dir: z.string().min(1),
  })
  .strict();
export type MathVerifyRolloutsRequest = z.infer<typeof mathVerifyRolloutsRequestSchema>;

/** Metrics rows to a Weights & Biases run (trainer/gepa_rl_trainer/wandb_sink.py). */
export const wandbLogRequestSchema = z
  .object({
    run_dir: z.string().min(1),
    run_id: z.string().min(1).describe('`<run_id>` or `<run_id>/<phase>`: the W&B run id is derived from it, the group is `<run_id>`'),
    project: z.string().min(1),
    mode: z.enum(['auto', 'online', 'offline']).describe('auto: online when the trainer worker has WANDB_API_KEY and reaches the W&B host, else offline'),
    name: z.string().optional(),
    config: z.unknown().optional().describe("default: the run directory's config.json"),
    rows: z
      .array(z.looseObject({ key: z.string(), step: z.number().optional() }))
      .describe('metrics.jsonl rows; a row whose key was logged before is skipped; only numbers are sent'),
  })
  .strict();
export type WandbLogRequest = z.infer<typeof wandbLogRequestSchema>;

/** Every request a Python worker receives, by activity name. */
export const TRAINER_REQUEST_SCHEMAS = {
  policy_sample: policySampleRequestSchema,
  train_step: trainStepRequestSchema,
  policy_kl_to_base: klToBaseRequestSchema,
  math_verify_rollouts: mathVerifyRolloutsRequestSchema,
  wandb_log: wandbLogRequestSchema,
} as const;

/** The file the Python worker loads: one JSON Schema per activity, as the TS side sends them. */
export function trainerRequestsJsonSchema(): Record<string, unknown> {
  return {
    $comment: 'generated from src/config/trainer.ts by `npm run schema:trainer`; do not edit (test/config/trainerSchema.test.ts checks it is fresh)',
    activities: Object.fromEntries(Object.entries(TRAINER_REQUEST_SCHEMAS).map(([name, s]) => [name, z.toJSONSchema(s, { io: 'output', unrepresentable: 'any' })])),
  };
}
