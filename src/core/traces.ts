/**
 * The GEPA trace of one scored sample (DESIGN §5): the record stored in a traces blob, the text it
 * shows as the problem's input, and what of it the reflector reads. Pure.
 */
import type { BlobRef, ChatMessage } from '../types';
import type { TraceRecord } from './gepa/reflection';

export interface RoleUsage {
  calls: number;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
}

export interface EpisodeUsage {
  agent: RoleUsage;
  user: RoleUsage;
  /** calls whose model has no known price (their cost is not in cost_usd) */
  unpriced_calls: number;
}

/** What an episode's trace carries of it, for the evaluation summary (core/tau2.ts). */
export interface Tau2EpisodeSummary {
  task_id: string;
  trial: number;
  seed: number;
  success: boolean;
  termination: string;
  db_changing: boolean;
  usage: EpisodeUsage;
  steps: number;
  tool_errors: number;
  /** the attempt that finished, and the step it resumed from (0: from the start) */
  attempt: number;
  resumed_from_step: number;
  /** conversation + grade in the blob store */
  trace_ref: BlobRef;
}

/** One scored sample as stored in the traces blob. */
export interface ScoredSample {
  /** index into the split */
  index: number;
  id: string;
  sample_index: number;
  input: string;
  messages: ChatMessage[];
  output: string;
  reward: number;
  correct: boolean;
  format_ok: boolean;
  extracted: string | null;
  feedback: string;
  num_tokens: number;
  /** false: not shown to the reflector (episodic tasks record failures only, as the tau-bench adapter does) */
  reflect?: boolean;
  /** episodic tasks: the episode's summary (termination, usage, steps, conversation ref) */
  episode?: Tau2EpisodeSummary;
}

/** A trace's input as the reflector reads it: the user turns of the prompt, one per line (the system prompt is the component under reflection). */
export function traceInput(messages: readonly ChatMessage[]): string {
  return messages
    .filter((m) => m.role === 'user')
    .map((m) => m.content)
    .join('\n');
}

/** The reflector's records of a set of traces: every trace not marked `reflect: false`, as input, output, reward and feedback. */
export function reflectorRecords(traces: readonly Pick<ScoredSample, 'input' | 'output' | 'reward' | 'feedback' | 'reflect'>[]): TraceRecord[] {
  return traces.filter((t) => t.reflect !== false).map((t) => ({ input: t.input, output: t.output, reward: t.reward, feedback: t.feedback }));
}
