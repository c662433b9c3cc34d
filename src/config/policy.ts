import { z } from 'zod';
import { lmProviderSchema } from './lm';

/** The `sampling` part: how the policy samples a completion (RL, evaluation, GEPA's candidates). */
export const samplingSchema = z
  .object({
    max_tokens: z.number().int().positive().default(256).describe('max completion tokens when sampling'),
    temperature: z.number().nonnegative().default(1.0).describe('sampling temperature (env=tau2-airline: 0 unless given, as tau2-bench)'),
    top_p: z.number().gt(0).max(1).default(1.0).describe('nucleus sampling mass'),
  })
  .strict();
export type SamplingConfig = z.infer<typeof samplingSchema>;

/** What the trainer worker samples with: the policy's sampling settings and the seed of this call. */
export const samplingParamsSchema = samplingSchema.extend({ seed: z.number().int().nonnegative().describe('seed of this sampling call') }).strict();
export type SamplingParams = z.infer<typeof samplingParamsSchema>;

export function samplingParams(s: SamplingConfig, seed: number): SamplingParams {
  return { max_tokens: s.max_tokens, temperature: s.temperature, top_p: s.top_p, seed };
}

const weights = {
  base_model: z.string().min(1).default('smollm2-135m-instruct').describe('smollm2-135m-instruct | tiny-random | Hugging Face id or local path | Tinker base model'),
  checkpoint: z.string().nullable().default(null).describe('start from this checkpoint directory (null: the base model)'),
  lora_rank: z.number().int().nonnegative().default(32).describe('LoRA rank (0 = full fine-tuning, tiny models only)'),
  lora_alpha: z.number().positive().default(32).describe('LoRA alpha'),
  lora_target_modules: z.array(z.string()).default(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']).describe('modules LoRA adapts'),
};

/** What samples the policy on backend=local: our PyTorch loop, or a vLLM engine serving each step's checkpoint (docs/BACKENDS.md). */
const sampler = z
  .enum(['torch', 'vllm'])
  .default('torch')
  .describe('backend=local: torch (our PyTorch decode loop) | vllm (a vLLM engine in .venv-vllm, serving each LoRA checkpoint as an adapter)');

export const policySchema = z
  .object({
    backend: z.enum(['local', 'tinker', 'api']).default('local').describe('policy backend: local (PyTorch), tinker (remote), api (an API model, GEPA/eval only)'),
    ...weights,
    sampler,
    ...samplingSchema.shape,
    api_provider: lmProviderSchema.default('openai').describe('backend=api: provider (scripted: tests only)'),
    api_model: z.string().default('gpt-4o-mini').describe('backend=api: model name'),
    api_base_url: z.string().optional().describe('backend=api: base URL of an OpenAI-compatible server'),
  })
  .strict();
export type PolicyConfig = z.infer<typeof policySchema>;

/**
 * The policy of a workflow that trains it or samples it through the trainer worker: local or tinker
 * only, so the api_* keys (read only when an API model is sampled) are not accepted there.
 */
export const trainablePolicySchema = z
  .object({
    backend: z.enum(['local', 'tinker']).default('local').describe('policy backend: local (PyTorch) or tinker (remote); an API model cannot be trained'),
    ...weights,
    sampler,
    ...samplingSchema.shape,
  })
  .strict();
export type TrainablePolicyConfig = z.infer<typeof trainablePolicySchema>;

/** Which policy model the trainer worker samples from / trains (DESIGN §4.3): the policy's weights settings. */
export const modelRefSchema = trainablePolicySchema.pick({ backend: true, base_model: true, lora_rank: true, lora_alpha: true, lora_target_modules: true, sampler: true }).strict();
export type ModelRef = z.infer<typeof modelRefSchema>;

/** The trainer's model reference of a policy; null for an API policy, which the trainer worker cannot run. */
export function modelRefOf(p: PolicyConfig | TrainablePolicyConfig): ModelRef | null {
  if (p.backend !== 'local' && p.backend !== 'tinker') return null;
  return { backend: p.backend, base_model: p.base_model, lora_rank: p.lora_rank, lora_alpha: p.lora_alpha, lora_target_modules: p.lora_target_modules, sampler: p.sampler };
}
