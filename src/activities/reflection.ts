/**
 * GEPA's reflective proposal: read the parent's traces, build the reflection prompt (core/gepa),
 * ask the reflection LM once, parse its reply (core/gepa: between the first and last fence, or the
 * whole reply; truncated, empty and unchanged replies rejected). Junk or a non-retryable LLM error
 * (a 4xx) becomes a rejected proposal with a reason; retryable provider errors (429/5xx) are
 * retried by Temporal; a provider that cannot be built (missing key or base URL) is a
 * non-retryable ProviderConfig failure that names what is missing.
 */
import { buildReflectionPrompt, closePrefilledReply, debugProposal, FENCE_PREFILL, FENCE_REPAIR_PROMPT, MAX_PROPOSAL_CHARS, parseReflectionReply, shouldAskForFence, type RejectedProposal, type TraceRecord } from '../core/gepa';
import { classifyProviderError, providerForActivity, toActivityFailure, type ProviderName } from '../llm';
import { readBlob } from '../storage/blobs';
import type { BlobRef } from '../types';
import type { ScoredSample } from './tasks';
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

export interface ProposeResult {
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
}

const EXCERPT = 500;

export async function proposeComponent(req: ProposeRequest): Promise<ProposeResult> {
  const traces = (await Promise.all(req.traces_refs.map((r) => readBlob<ScoredSample[]>(r)))).flat();
  const records: TraceRecord[] = traces.filter((t) => t.reflect !== false).map((t) => ({ input: t.input, output: t.output, reward: t.reward, feedback: t.feedback }));
  const prompt = buildReflectionPrompt({ component: req.component, current_text: req.current_text, records, rejected: req.rejected, template: req.template });
  if (req.debug) {
    // gepa.debug: the deterministic rule of core/gepa (no LM call), parsed like any reply
    const parsed = parseReflectionReply(debugProposal(req.current_text, records), req.current_text);
    return { ok: parsed.ok, text: parsed.text, reason: parsed.ok ? null : parsed.reason, usage: { prompt_tokens: 0, completion_tokens: 0 }, cost_usd: null, calls: 0, first_reply_unfenced: false, first_reply_excerpt: null };
  }
  const provider = providerForActivity({ provider: req.reflection.provider, model: req.reflection.model, base_url: req.reflection.base_url });
  const ask = (messages: Array<{ role: 'user' | 'assistant'; content: string }>, extra: { prefill?: string; stop?: string[] } = {}) =>
    provider.complete({ messages, max_tokens: req.reflection.max_tokens, temperature: req.reflection.temperature, seed: req.seed, ...extra });
  const usage = { prompt_tokens: 0, completion_tokens: 0 };
  let cost: number | null = null;
  let calls = 0;
  let firstUnfenced: string | null = null;
  const add = (r: { usage: typeof usage; cost_usd: number | null }) => {
    calls += 1;
    usage.prompt_tokens += r.usage.prompt_tokens;
    usage.completion_tokens += r.usage.completion_tokens;
    if (r.cost_usd !== null) cost = (cost ?? 0) + r.cost_usd;
  };
  const meta = () => ({ calls, first_reply_unfenced: firstUnfenced !== null, first_reply_excerpt: firstUnfenced });
  const requireFence = req.fence_repair ?? false;
  let parsed;
  try {
    // where the provider continues a started reply (the local server), the reply is begun inside the
    // fence and stops at the closing one: a small model can no longer answer a bare fence, or add prose after it
    const begun = provider.supportsPrefill;
    const res = await ask([{ role: 'user', content: prompt }], begun ? { prefill: FENCE_PREFILL, stop: ['```'] } : {});
    add(res);
    const reply = begun ? closePrefilledReply(res.texts[0] ?? '', res.finish_reasons[0]) : (res.texts[0] ?? '');
    parsed = parseReflectionReply(reply, req.current_text, { finishReason: res.finish_reasons[0], requireFence });
    if (requireFence && shouldAskForFence(parsed)) {
      // (only a provider that cannot be begun inside the fence gets here)
      firstUnfenced = reply.slice(0, EXCERPT);
      const again = await ask([
        { role: 'user', content: prompt },
        { role: 'assistant', content: reply },
        { role: 'user', content: FENCE_REPAIR_PROMPT },
      ]);
      add(again);
      const second = parseReflectionReply(again.texts[0] ?? '', req.current_text, { finishReason: again.finish_reasons[0], requireFence });
      // keep the first reply as the recorded rejection unless the second one is usable
      if (second.ok) parsed = second;
    }
  } catch (e) {
    const c = classifyProviderError(e);
    if (c.retryable || c.config) throw toActivityFailure(e);
    // a non-retryable provider error of this call (a 4xx) is recorded as a rejected proposal; the run goes on
    return { ok: false, text: c.message.slice(0, EXCERPT), reason: 'reflection error', usage, cost_usd: cost, ...meta() };
  }
  if (parsed.ok && req.task?.env === 'tau2-airline') {
    const why = checkAirlinePolicy(parsed.text, req.current_text);
    if (why) return { ok: false, text: `${why}. Proposed: ${parsed.text}`.slice(0, 4000), reason: 'task guard', usage, cost_usd: cost, ...meta() };
  }
  // a rejected reply travels back only as far as the run records it (a runaway reply never reaches history whole)
  const text = parsed.ok ? parsed.text : parsed.text.slice(0, MAX_PROPOSAL_CHARS);
  return { ok: parsed.ok, text, reason: parsed.ok ? null : parsed.reason, usage, cost_usd: cost, ...meta() };
}
