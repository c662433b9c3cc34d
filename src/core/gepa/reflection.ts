/**
 * The reflection step's text: the prompt shown to the reflection LM (our own words, covering what
 * the reference template covers) and the parsing of its reply (parseReflectionReply): a complete
 * reply is adopted as the reference does; a truncated, empty, unchanged or runaway one is a
 * rejected proposal with a reason.
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

/**
 * One block per sampled output. With several samples of one problem (gepa.rollouts_per_problem),
 * each block also says how that problem's samples scored: their mean and spread, so the reflector
 * can tell an instruction that always fails from one that fails by chance.
 */
export function formatRecords(records: readonly TraceRecord[]): string {
  const byInput = new Map<string, number[]>();
  for (const r of records) byInput.set(r.input, [...(byInput.get(r.input) ?? []), r.reward]);
  return records
    .map((r, i) => {
      const xs = byInput.get(r.input)!;
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length);
      const spread = xs.length > 1 ? `; this problem's ${xs.length} samples: mean ${+m.toFixed(3)}, spread ${+sd.toFixed(3)}` : '';
      return `### Example ${i + 1}\n#### Inputs\n${clip(r.input)}\n#### Generated Outputs\n${clip(r.output)}\n#### Feedback\n(score ${r.reward}${spread}) ${clip(r.feedback)}`;
    })
    .join('\n\n');
}

/**
 * gepa.debug: a deterministic reflector that needs no LM, to try a pipeline end to end (never a
 * default). Its rule: append to the text the line `Note: <feedback>` for the first failed record
 * (reward below 1) whose feedback the text does not hold yet (the feedback's first line, at most
 * 200 characters); when every failure is already noted, or nothing failed, append `Check your
 * answer before you reply.` once; after that the proposal is the text unchanged (rejected).
 */
export function debugProposal(currentText: string, records: readonly TraceRecord[]): string {
  for (const r of records) {
    if (r.reward >= 1) continue;
    const line = `Note: ${(r.feedback.split('\n')[0] ?? '').trim().slice(0, 200)}`;
    if (line.length > 6 && !currentText.includes(line)) return `${currentText.trim()}\n${line}`.trim();
  }
  const fallback = 'Check your answer before you reply.';
  return currentText.includes(fallback) ? currentText : `${currentText.trim()}\n${fallback}`.trim();
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

export type RejectReason = 'unfenced' | 'unclosed fence' | 'empty' | 'unchanged' | 'truncated' | 'too long';
export type ParsedReflection = { ok: true; text: string } | { ok: false; reason: RejectReason; text: string };

/** A proposal longer than this is rejected (a runaway reply, never a prompt), and only its start is kept. */
export const MAX_PROPOSAL_CHARS = 20_000;

export interface ParseOptions {
  /** the provider's finish reason: 'length' (or Anthropic's 'max_tokens') means the reply was cut off */
  finishReason?: string;
  /** reject a reply without a fenced block instead of adopting it whole (with gepa.fence_repair) */
  requireFence?: boolean;
}

const FENCE = /```/g;

/**
 * The proposed text of a reflection reply, as the reference adopts it: the text between the first
 * and the last ``` fence (a language tag right after the opening fence dropped), so a proposal that
 * itself holds a code block stays whole; without any fence, the whole reply stripped. Rejected: a
 * reply cut off by the token limit, one with an odd number of fences (a block opened and never
 * closed), an empty one, one identical to the parent's text, and a runaway one.
 */
export function parseReflectionReply(reply: string, currentText?: string, opts: ParseOptions = {}): ParsedReflection {
  if (opts.finishReason === 'length' || opts.finishReason === 'max_tokens') return { ok: false, reason: 'truncated', text: reply.slice(0, MAX_PROPOSAL_CHARS) };
  if (reply.length > MAX_PROPOSAL_CHARS * 4) return { ok: false, reason: 'too long', text: reply.slice(0, MAX_PROPOSAL_CHARS) };
  const fences = [...reply.matchAll(FENCE)].map((m) => m.index!);
  let body: string;
  if (fences.length === 0) {
    if (opts.requireFence) return { ok: false, reason: reply.trim() ? 'unfenced' : 'empty', text: reply };
    body = reply;
  } else if (fences.length % 2 === 1) {
    return { ok: false, reason: 'unclosed fence', text: reply };
  } else {
    body = reply.slice(fences[0] + 3, fences[fences.length - 1]);
    // a language tag (```text) or nothing on the opening fence's line
    const tag = /^[^\s`]*[ \t]*\n/.exec(body);
    if (tag) body = body.slice(tag[0].length);
  }
  const text = body.trim();
  if (!text) return { ok: false, reason: 'empty', text: reply };
  if (text.length > MAX_PROPOSAL_CHARS) return { ok: false, reason: 'too long', text: text.slice(0, MAX_PROPOSAL_CHARS) };
  if (currentText !== undefined && text === currentText.trim()) return { ok: false, reason: 'unchanged', text };
  return { ok: true, text };
}

/**
 * With gepa.fence_repair (off by default), a reply without a fenced block is not adopted whole:
 * the reflector is asked once, in the same conversation, to restate its proposal inside a fence.
 * Only an unfenced (not a truncated or unchanged) reply earns this second turn.
 */
export const FENCE_REPAIR_PROMPT =
  'Now write the complete new instructions, and nothing else, inside one fenced block that starts with a line ``` and ends with a line ```.';

/** The start of a reply on providers that continue a started one (see closePrefilledReply). */
export const FENCE_PREFILL = '```\n';

/**
 * Tokens kept, out of a bounded reply's max_tokens, for its closing fence (``` is one or two
 * tokens, and a newline may precede it).
 */
export const CLOSING_FENCE_TOKENS = 4;

/**
 * The most characters of a proposal that a reply of max_tokens always has room for, closing fence
 * included: under proposalGrammar every token writes at least one character (except where a
 * tokenizer splits one non-ASCII character into bytes: such a reply can still reach the limit,
 * and is rejected as truncated as before). The one rule for the size of a bounded proposal.
 */
export function proposalCharBound(maxTokens: number): number {
  return Math.max(1, maxTokens - CLOSING_FENCE_TOKENS);
}

/**
 * A GBNF grammar (llama.cpp's) for the continuation of a reply begun inside the fence
 * (FENCE_PREFILL): a proposal of 1..maxChars characters that starts with a visible one and holds
 * no backtick, then the closing fence. The model cannot run on to the token limit (it must close
 * the block within maxChars characters) nor end the reply before closing it; a backtick is the
 * closing fence's alone, so the stop string ``` ends the reply exactly there.
 */
export function proposalGrammar(maxChars: number): string {
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new Error(`proposalGrammar needs a positive whole number of characters (got ${maxChars})`);
  const rest = maxChars > 1 ? ` [^\`]{0,${maxChars - 1}}` : '';
  return `root ::= [^\` \\t\\r\\n]${rest} "\`\`\`"`;
}

/**
 * A prefilled restatement that closed its block on the last text line ("be brief```") gets that
 * closing fence on its own line; a reply that never wrote the closing fence stays unclosed.
 */
export function closingFenceOnItsLine(reply: string): string {
  return reply.replace(/([^\n])```\s*$/, '$1\n```');
}

/**
 * The reply of a call begun inside the fence (FENCE_PREFILL, stopped at the closing fence; the local
 * server): the closing fence on its own line (closingFenceOnItsLine), and a reply that the model
 * ended itself before writing it (finish reason stop) closed, since the model finished its reply;
 * only the token limit cuts one off, and that one (finish reason length) stays truncated.
 */
export function closePrefilledReply(reply: string, finishReason: string | undefined): string {
  const closed = closingFenceOnItsLine(reply);
  const fences = closed.match(/```/g)?.length ?? 0;
  return finishReason === 'stop' && fences % 2 === 1 ? `${closed.trimEnd()}\n\`\`\`` : closed;
}

export function shouldAskForFence(parsed: ParsedReflection): boolean {
  return !parsed.ok && parsed.reason === 'unfenced' && parsed.text.trim().length > 0;
}
