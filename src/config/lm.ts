import { z } from 'zod';
import { PROVIDERS } from '../llm/providers';

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
      max_tokens: z.number().int().positive().default(r.max_tokens).describe(`max tokens of ${r.reply}`),
    })
    .strict();
}

export const reflectionSchema = lmSchema({ role: 'reflection', temperature: 1.0, max_tokens: 512, reply: 'a reflection reply' });
export const teacherSchema = lmSchema({ role: 'teacher', temperature: 0.7, max_tokens: 256, reply: 'a hint' });

/** One LM setting, whatever its role (reflection and teacher share this type). */
export type LmConfig = z.infer<ReturnType<typeof lmSchema>>;
export type ReflectionConfig = LmConfig;
export type TeacherConfig = LmConfig;
