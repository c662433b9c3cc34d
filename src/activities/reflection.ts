/**
 * GEPA's reflective proposal: read the parent's traces, build the reflection prompt and run the
 * proposal protocol of core/gepa/proposal.ts (one turn, or two with gepa.fence_repair), making its
 * LM calls; every decision on a reply (what is adopted, when to ask again) is the core's. Junk or a non-retryable LLM error
 * (a 4xx) becomes a rejected proposal with a reason; retryable provider errors (429/5xx) are
 * retried by Temporal; a provider that cannot be built (missing key or base URL) is a
 * non-retryable ProviderConfig failure that names what is missing.
 */
import {
  afterFirstReply,
  closedAtBound,
  afterRepairReply,
  buildReflectionPrompt,
  debugProposal,
  emptyTally,
  firstTurn,
  parseReflectionReply,
  proposalOutcome,
  reflectionErrorOutcome,
  tallyCall,
  type ProposalOutcome,
  type ReflectionReply,
  type ReflectionTurn,
  type RejectedProposal,
} from '../core/gepa';
import { classifyProviderError, providerForActivity, toActivityFailure, type ProviderName } from '../llm';
import { readBlob } from '../storage/blobs';
import type { BlobRef } from '../types';
import { reflectorRecords, type ScoredSample } from '../core/traces';
import type { TaskConfig } from '../config/task';
import { checkAirlinePolicy } from '../tasks/tau2/guard';

export interface ProposeRequest {
  reflection: { provider: ProviderName; model: string; base_url?: string; temperature: number; max_tokens: number };
  component: string;
  current_text: string;
  traces_refs: BlobRef[];
  rejected: RejectedProposal[];
  template?: string;
  seed: number;
  /** the task, for its checks on a proposed text (tau2-airline: keep the time line, no copied ids) */
  task?: TaskConfig;
  /** gepa.fence_repair: an unfenced reply is not adopted whole but asked once more for a fenced block */
  fence_repair?: boolean;
  /** gepa.debug: the deterministic reflector (core/gepa debugProposal), no LM call */
  debug?: boolean;
}

/** What the run records of one proposal (core/gepa/proposal.ts). */
export type ProposeResult = ProposalOutcome;

export async function proposeComponent(req: ProposeRequest): Promise<ProposeResult> {
  const traces = (await Promise.all(req.traces_refs.map((r) => readBlob<ScoredSample[]>(r)))).flat();
  const records = reflectorRecords(traces);
  const prompt = buildReflectionPrompt({ component: req.component, current_text: req.current_text, records, rejected: req.rejected, template: req.template });
  // gepa.debug: the deterministic rule of core/gepa (no LM call), parsed like any reply
  if (req.debug) return proposalOutcome(parseReflectionReply(debugProposal(req.current_text, records), req.current_text), emptyTally(), null);
  const provider = providerForActivity({ provider: req.reflection.provider, model: req.reflection.model, base_url: req.reflection.base_url });
  const tally = emptyTally();
  const ask = async (turn: ReflectionTurn): Promise<ReflectionReply> => {
    const res = await provider.complete({ max_tokens: req.reflection.max_tokens, temperature: req.reflection.temperature, seed: req.seed, ...turn });
    tallyCall(tally, res);
    return { text: res.texts[0] ?? '', finish_reason: res.finish_reasons[0] };
  };
  let excerpt: string | null = null;
  let atBound = false;
  let parsed;
  try {
    const turn = firstTurn(prompt, { prefill: provider.supportsPrefill, grammar: provider.supportsGrammar }, req.reflection.max_tokens);
    const reply = await ask(turn);
    atBound = closedAtBound(turn, reply);
    const first = afterFirstReply(prompt, reply, req.current_text, { fence_repair: req.fence_repair ?? false, supports_prefill: provider.supportsPrefill });
    ({ parsed, first_reply_excerpt: excerpt } = first);
    if (first.repair) parsed = afterRepairReply(first.parsed, await ask(first.repair), req.current_text);
  } catch (e) {
    const c = classifyProviderError(e);
    if (c.retryable || c.config) throw toActivityFailure(e);
    // a non-retryable provider error of this call (a 4xx) is recorded as a rejected proposal; the run goes on
    return reflectionErrorOutcome(c.message, tally, excerpt);
  }
  const guard = parsed.ok && req.task?.env === 'tau2-airline' ? checkAirlinePolicy(parsed.text, req.current_text) : null;
  return proposalOutcome(parsed, tally, excerpt, guard, atBound);
}
