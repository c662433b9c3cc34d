/**
 * The teacher's hint (DESIGN §5): the prompt that asks for it, the verdict on a reply (kept,
 * regenerated, dropped), and the system prompt a student samples under with it. Pure.
 */
import { hintLeaks } from './leak';

/**
 * The problem as the student is asked it, for the teacher: the task's rendered user messages
 * (HotpotQA's include the paragraphs the answer must come from), not the bare question field.
 */
export function problemText(messages: ReadonlyArray<{ content: string }>): string {
  return messages.map((m) => m.content).join('\n\n');
}

/** The teacher's prompt: problem, the answer it must not reveal, the student's attempt, and how many earlier hints leaked. */
export function buildHintPrompt(args: { problem: string; answer: string; attempt: string; previous_leaks: number }): string {
  return [
    'A student tried to solve the problem below and got it wrong. Write a short hint that helps the student',
    'find the right method on their own. The hint must NOT state or imply the final answer, nor any number equal to it.',
    '',
    `Problem:\n${args.problem}`,
    '',
    `Correct final answer (for you only; never reveal it): ${args.answer}`,
    '',
    `The student's attempt:\n${args.attempt.slice(0, 2000)}`,
    args.previous_leaks > 0 ? `\nYour previous ${args.previous_leaks} hint(s) revealed the answer and were discarded. Do not include the answer.` : '',
    '',
    'Reply with the hint only.',
  ].join('\n');
}

/** The system prompt of expert search: the clean prompt s with the hint appended (distillation rebuilds the prompt without it). */
export function hintedSystemPrompt(systemPrompt: string, hint: string | null | undefined): string {
  return hint ? `${systemPrompt}\n\nHint: ${hint}` : systemPrompt;
}

/** The teacher activity's reply error for a problem without a gold answer (no hint can be checked against it). */
export const NO_GROUND_TRUTH_REPLY = 'no ground truth';

export type HintOutcome = { kind: 'hint'; hint: string } | { kind: 'dropped' } | { kind: 'no_ground_truth' } | { kind: 'error'; message: string };

/**
 * Decide one teacher reply: a hint that leaks the answer is regenerated while attempts remain
 * (`attempt` counts from 0, `maxRegenerations` more tries after the first), then dropped.
 */
export function judgeHint(
  reply: { hint: string | null; answer_forms: string[]; error: string | null },
  attempt: number,
  maxRegenerations: number,
): { outcome: HintOutcome | null; leaked: boolean } {
  if (reply.error === NO_GROUND_TRUTH_REPLY) return { outcome: { kind: 'no_ground_truth' }, leaked: false };
  if (reply.error) return { outcome: { kind: 'error', message: reply.error }, leaked: false };
  const hint = (reply.hint ?? '').trim();
  // an empty reply is no hint at all: regenerated like a leaking one, but not counted as a leak
  const leaked = hint.length > 0 && hintLeaks(hint, reply.answer_forms).leaks;
  if (hint.length > 0 && !leaked) return { outcome: { kind: 'hint', hint }, leaked: false };
  if (attempt >= maxRegenerations) return { outcome: { kind: 'dropped' }, leaked };
  return { outcome: null, leaked };
}
