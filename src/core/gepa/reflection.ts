/**
 * The reflection step's text: the prompt shown to the reflection LM (our own words, covering what
 * the reference template covers) and the parsing of its reply. Only a closed fenced block is
 * adopted; anything else is a rejected proposal with a reason.
 */
import type { RejectedProposal } from './types';

export interface TraceRecord {
  input: string;
  output: string;
  reward: number;
  feedback: string;
}

const MAX_FIELD = 2000;

function clip(s: string, n = MAX_FIELD): string {
  return s.length > n ? `${s.slice(0, n)} …[${s.length - n} more characters]` : s;
}

export function formatRecords(records: readonly TraceRecord[]): string {
  return records
    .map(
      (r, i) =>
        `### Example ${i + 1}\n#### Inputs\n${clip(r.input)}\n#### Generated Outputs\n${clip(r.output)}\n#### Feedback\n(score ${r.reward}) ${clip(r.feedback)}`,
    )
    .join('\n\n');
}

export function formatRejected(rejected: readonly RejectedProposal[]): string {
  if (!rejected.length) return '';
  const lines = rejected.map(
    (r, i) => `${i + 1}. (${r.reason}${r.child_score !== null ? `, scored ${r.child_score} vs parent ${r.parent_score}` : ''}) ${clip(r.text, 400)}`,
  );
  return `## Earlier proposals that were rejected (do not repeat them)\n${lines.join('\n')}`;
}

export const DEFAULT_REFLECTION_TEMPLATE = `You are improving the instructions that an assistant follows for a task.

## Current instructions ({component})
\`\`\`
{current_text}
\`\`\`

## How the assistant did with these instructions
Each example shows the task input, what the assistant produced, and feedback on it.

{examples}

{rejected}

## Your job
Read the examples carefully. Work out what the task really requires, including any
domain-specific facts, conventions of the expected answer format, and strategies that worked
or failed. Then write a new, improved version of the instructions that would make the assistant
succeed on these examples and on similar unseen ones. Keep what already works; be specific.

Reply with the complete new instructions inside one fenced block that starts and ends with \`\`\`.`;

export function buildReflectionPrompt(args: {
  component: string;
  current_text: string;
  records: readonly TraceRecord[];
  rejected: readonly RejectedProposal[];
  template?: string;
}): string {
  const t = args.template ?? DEFAULT_REFLECTION_TEMPLATE;
  // one pass over the placeholders, so text inside a value is never substituted again
  const values: Record<string, string> = {
    component: args.component,
    current_text: args.current_text,
    examples: formatRecords(args.records),
    rejected: formatRejected(args.rejected),
  };
  return t.replace(/\{(component|current_text|examples|rejected)\}/g, (_, k: string) => values[k]);
}

export type ParsedReflection = { ok: true; text: string } | { ok: false; reason: 'unfenced' | 'unclosed fence' | 'empty' | 'unchanged'; text: string };

/** The content of the last complete ``` fenced block (optional language tag dropped). */
export function parseReflectionReply(reply: string, currentText?: string): ParsedReflection {
  const fences = [...reply.matchAll(/^[ \t]*```/gm)].map((m) => m.index!);
  if (fences.length === 0) return { ok: false, reason: 'unfenced', text: reply };
  if (fences.length % 2 === 1 && fences.length < 2) return { ok: false, reason: 'unclosed fence', text: reply };
  // pair fences in order; an odd trailing fence is an unclosed block after complete ones
  if (fences.length % 2 === 1) fences.pop();
  const open = fences[fences.length - 2];
  const close = fences[fences.length - 1];
  const afterOpen = reply.indexOf('\n', open);
  if (afterOpen < 0 || afterOpen > close) return { ok: false, reason: 'empty', text: reply };
  const body = reply.slice(afterOpen + 1, close).replace(/\s+$/, '');
  if (!body.trim()) return { ok: false, reason: 'empty', text: reply };
  if (currentText !== undefined && body.trim() === currentText.trim()) return { ok: false, reason: 'unchanged', text: body };
  return { ok: true, text: body.trim() };
}

/**
 * Small reflection LMs often answer in prose without the fenced block. Such a reply is never
 * adopted; instead the reflector is asked once, in the same conversation, to restate its proposal
 * inside a fence. Only an unfenced (not a truncated or unchanged) reply earns this second turn.
 */
export const FENCE_REPAIR_PROMPT =
  'Now write the complete new instructions, and nothing else, inside one fenced block that starts with a line ``` and ends with a line ```.';

/** The start of a restatement on providers that continue a started reply (see closingFenceOnItsLine). */
export const FENCE_PREFILL = '```\n';

/**
 * A prefilled restatement that closed its block on the last text line ("be brief```") gets that
 * closing fence on its own line; a reply that never wrote the closing fence stays unclosed.
 */
export function closingFenceOnItsLine(reply: string): string {
  return reply.replace(/([^\n])```\s*$/, '$1\n```');
}

export function shouldAskForFence(parsed: ParsedReflection): boolean {
  return !parsed.ok && parsed.reason === 'unfenced' && parsed.text.trim().length > 0;
}
