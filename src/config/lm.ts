import { z } from 'zod';
import { PROVIDERS } from '../constants';

/** Every provider an LM setting may name (reflection, teacher, user simulator, an API policy); scripted: tests only. */
export const lmProviderSchema = z.enum(PROVIDERS);
export type LmProvider = z.infer<typeof lmProviderSchema>;

/** What differs between the LMs a run calls besides the policy: its role, and the defaults of its sampling. */
export interface LmRole {
  /** the role in descriptions: 'reflection', 'teacher' */
  role: string;
  temperature: number;
  max_tokens: number;
  /** what one reply is, in `max tokens of <reply>` */
  reply: string;
  /** the default max_tokens on the `local` provider, where it differs (measured: see reflectionSchema) */
  local_max_tokens?: number;
}

/** The default max_tokens of a role's LM: the role's, or its local one on the `local` provider. */
export function defaultMaxTokens(r: LmRole, provider: LmProvider): number {
  return provider === 'local' && r.local_max_tokens !== undefined ? r.local_max_tokens : r.max_tokens;
}

/**
 * The `lm` part: an LM the TS worker calls for a role (GEPA's reflection, expert iteration's teacher),
 * the same keys for each, the local server by default; only the sampling defaults are the role's.
 */
export function lmSchema(r: LmRole) {
  return z
    .object({
      provider: lmProviderSchema.default('local').describe(`${r.role} LM provider (scripted: tests only)`),
      model: z.string().default('smollm2-135m-instruct').describe(`${r.role} LM model`),
      base_url: z.string().optional().describe('base URL for openai-compatible / local'),
      temperature: z.number().nonnegative().default(r.temperature).describe(`${r.role} sampling temperature`),
      max_tokens: z
        .number()
        .int()
        .positive()
        .optional()
        .describe(`max tokens of ${r.reply} (default ${r.max_tokens}${r.local_max_tokens !== undefined ? `, ${r.local_max_tokens} on the local provider` : ''})`),
    })
    .strict()
    .transform((c) => ({ ...c, max_tokens: c.max_tokens ?? defaultMaxTokens(r, c.provider) }));
}

/**
 * Reflection on the local provider (SmolLM2, its reply bounded by core/gepa proposalGrammar to
 * max_tokens - 4 characters): 160 tokens, and temperature 1.0, by bench/gepa/reflection_replies.js on
 * 4 real reflection prompts x 5 seeds: every reply usable at 96, 160 and 512 tokens, the usable
 * proposals' val mean 0.500 at 160 vs 0.506 at 512 for a third of the completion tokens (43 vs 124 a
 * call); at 160 tokens temperature 0.7 and 0.3 gave 0.400 and 0.269. API reflectors keep 512.
 */
export const reflectionSchema = lmSchema({ role: 'reflection', temperature: 1.0, max_tokens: 512, local_max_tokens: 160, reply: 'a reflection reply' });
export const teacherSchema = lmSchema({ role: 'teacher', temperature: 0.7, max_tokens: 256, reply: 'a hint' });

/** One LM setting, whatever its role (reflection and teacher share this type). */
export type LmConfig = z.infer<ReturnType<typeof lmSchema>>;
export type ReflectionConfig = LmConfig;
export type TeacherConfig = LmConfig;
