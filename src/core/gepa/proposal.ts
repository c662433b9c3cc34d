/**
 * One reflective proposal, as a protocol of at most two turns with the reflection LM (the activity
 * makes the calls; every decision is here): the reflection prompt, then, with gepa.fence_repair, one
 * repair turn when the first reply had no fenced block. Also the outcome the run records for a
 * proposal, including a reflection LM that failed after its retries.
 */
import { closePrefilledReply, FENCE_PREFILL, FENCE_REPAIR_PROMPT, MAX_PROPOSAL_CHARS, parseReflectionReply, proposalCharBound, proposalGrammar, shouldAskForFence, type ParsedReflection } from './reflection';
import type { RejectedProposal } from './types';

/** What the run records of one proposal (the reflection activity's result). */
export interface ProposalOutcome {
  ok: boolean;
  text: string;
  reason: RejectedProposal['reason'] | null;
  usage: { prompt_tokens: number; completion_tokens: number };
  cost_usd: number | null;
  /** reflection LM calls made (2 when the fence-repair turn was asked for) */
  calls: number;
  /** the first reply had no fenced block and the repair turn was asked for; its excerpt is kept */
  first_reply_unfenced: boolean;
  first_reply_excerpt: string | null;
  /** the proposal filled the grammar's character bound, which closed the block for the model (it may have had more to write): adopted as a cut-off reply is by the reference, and marked */
  closed_at_bound: boolean;
}

/** One request to the reflection LM: the conversation so far, and where the provider can continue a started reply, its start and stop. */
export interface ReflectionTurn {
  messages: Array<{ role: 'user' | 'assistant'; content: string }>;
  prefill?: string;
  stop?: string[];
  /** where the provider also constrains its output (GBNF), the shape of the continuation */
  grammar?: string;
  /** with grammar: the most characters of the proposal it allows (proposalCharBound) */
  char_bound?: number;
}

/** What the reflection LM's provider can do with a turn (src/llm's LlmProvider flags). */
export interface ReflectionProviderCaps {
  /** continues a started reply */
  prefill: boolean;
  /** constrains the continuation with a GBNF grammar */
  grammar: boolean;
}

export interface ReflectionReply {
  text: string;
  finish_reason?: string;
}

/** The start of an unfenced first reply kept in the record; also the most of an error message kept. */
export const REPLY_EXCERPT_CHARS = 500;

/**
 * The reflection prompt. Where the provider continues a started reply (the local server), the reply
 * is begun inside the fence and stops at the closing one: a small model can no longer answer a bare
 * fence, or add prose after it. Where it also takes a grammar, the continuation is a proposal of at
 * most proposalCharBound(maxTokens) characters that must close the fence (proposalGrammar): a small
 * model that copies the examples into the block is made to close it instead of running on to the
 * token limit, a reply that would be rejected as truncated.
 */
export function firstTurn(prompt: string, caps: ReflectionProviderCaps, maxTokens: number): ReflectionTurn {
  const messages: ReflectionTurn['messages'] = [{ role: 'user', content: prompt }];
  if (!caps.prefill) return { messages };
  const turn: ReflectionTurn = { messages, prefill: FENCE_PREFILL, stop: ['```'] };
  if (!caps.grammar) return turn;
  const bound = proposalCharBound(maxTokens);
  return { ...turn, grammar: proposalGrammar(bound), char_bound: bound };
}

/** The reply to a grammar-bounded turn used every character the bound allows (the grammar, not the model, closed the block). */
export function closedAtBound(turn: ReflectionTurn, reply: ReflectionReply): boolean {
  if (turn.char_bound === undefined) return false;
  const body = reply.text.startsWith(FENCE_PREFILL) ? reply.text.slice(FENCE_PREFILL.length) : reply.text;
  return (body.endsWith('```') ? body.slice(0, -3) : body).length >= turn.char_bound;
}

/**
 * The first reply parsed (a reply begun inside the fence is closed first: closePrefilledReply); with
 * fence_repair, an unfenced one earns the repair turn: the same conversation asked to restate the
 * proposal inside a fence (only a provider that cannot be begun inside the fence gets there).
 */
export function afterFirstReply(
  prompt: string,
  reply: ReflectionReply,
  currentText: string,
  o: { fence_repair: boolean; supports_prefill: boolean },
): { parsed: ParsedReflection; repair: ReflectionTurn | null; first_reply_excerpt: string | null } {
  const text = o.supports_prefill ? closePrefilledReply(reply.text, reply.finish_reason) : reply.text;
  const parsed = parseReflectionReply(text, currentText, { finishReason: reply.finish_reason, requireFence: o.fence_repair });
  if (!o.fence_repair || !shouldAskForFence(parsed)) return { parsed, repair: null, first_reply_excerpt: null };
  const messages: ReflectionTurn['messages'] = [
    { role: 'user', content: prompt },
    { role: 'assistant', content: text },
    { role: 'user', content: FENCE_REPAIR_PROMPT },
  ];
  return { parsed, repair: { messages }, first_reply_excerpt: text.slice(0, REPLY_EXCERPT_CHARS) };
}

/** The repair reply replaces the first only when it is usable; else the first stays the recorded rejection. */
export function afterRepairReply(first: ParsedReflection, reply: ReflectionReply, currentText: string): ParsedReflection {
  const second = parseReflectionReply(reply.text, currentText, { finishReason: reply.finish_reason, requireFence: true });
  return second.ok ? second : first;
}

/** Usage summed over the calls of one proposal. */
export interface CallTally {
  calls: number;
  usage: { prompt_tokens: number; completion_tokens: number };
  cost_usd: number | null;
}

export const emptyTally = (): CallTally => ({ calls: 0, usage: { prompt_tokens: 0, completion_tokens: 0 }, cost_usd: null });

export function tallyCall(t: CallTally, r: { usage: { prompt_tokens: number; completion_tokens: number }; cost_usd: number | null }): void {
  t.calls += 1;
  t.usage.prompt_tokens += r.usage.prompt_tokens;
  t.usage.completion_tokens += r.usage.completion_tokens;
  if (r.cost_usd !== null) t.cost_usd = (t.cost_usd ?? 0) + r.cost_usd;
}

/**
 * The outcome of a parsed proposal. A task's check on the text (`guard`: why it is refused, or null)
 * turns an adopted text into a rejection; a rejected reply travels back only as far as the run
 * records it (a runaway reply never reaches history whole).
 */
export function proposalOutcome(parsed: ParsedReflection, tally: CallTally, firstReplyExcerpt: string | null, guard: string | null = null, atBound = false): ProposalOutcome {
  const meta = { usage: tally.usage, cost_usd: tally.cost_usd, calls: tally.calls, first_reply_unfenced: firstReplyExcerpt !== null, first_reply_excerpt: firstReplyExcerpt, closed_at_bound: atBound };
  if (parsed.ok && guard) return { ok: false, text: `${guard}. Proposed: ${parsed.text}`.slice(0, 4000), reason: 'task guard', ...meta };
  if (parsed.ok) return { ok: true, text: parsed.text, reason: null, ...meta };
  return { ok: false, text: parsed.text.slice(0, MAX_PROPOSAL_CHARS), reason: parsed.reason, ...meta };
}

/** A reflection LM error (a 4xx for this call, or any failure after Temporal's retries): a rejected proposal, the run goes on. */
export function reflectionErrorOutcome(message: string, tally: CallTally = emptyTally(), firstReplyExcerpt: string | null = null, maxChars = REPLY_EXCERPT_CHARS): ProposalOutcome {
  return { ok: false, text: message.slice(0, maxChars), reason: 'reflection error', usage: tally.usage, cost_usd: tally.cost_usd, calls: tally.calls, first_reply_unfenced: firstReplyExcerpt !== null, first_reply_excerpt: firstReplyExcerpt, closed_at_bound: false };
}
