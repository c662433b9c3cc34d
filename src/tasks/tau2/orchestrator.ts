/**
 * tau2's half-duplex orchestrator (spec §2.4) over pluggable agent and user: the trajectory starts
 * with the fixed agent greeting; the user speaks, the agent replies with text or tool calls, every
 * tool call of a message is executed in order and its result goes back to the agent. One step is one
 * message or one batch of tool results; the step and error limits are checked only when no tool call
 * is pending. A user message containing a stop token ends the episode (user stop); an agent message
 * containing ###STOP### is an agent stop. Bad agent output never crashes an episode: an unknown
 * tool or unparseable arguments is an error result to the agent (counted toward the error limit),
 * an empty reply is a termination recorded in the trajectory. A thrown agent or user is an
 * infrastructure failure: it propagates (the activity retries from the last checkpoint).
 */
import { FIRST_AGENT_MESSAGE } from './data';
import type { ToolResult } from './env';

export interface EpisodeToolCall {
  id: string;
  name: string;
  /** the parsed argument object; null when `arguments_error` is set */
  arguments: unknown;
  /** the raw argument text as the model sent it (when it came as text) */
  raw_arguments?: string;
  /** why the arguments could not be used (not JSON, not an object) */
  arguments_error?: string;
}

export type EpisodeMessage =
  | { role: 'assistant'; content: string | null; tool_calls?: EpisodeToolCall[]; turn_idx?: number }
  | { role: 'user'; content: string; turn_idx?: number }
  | { role: 'tool'; tool_call_id: string; name: string; content: string; error: boolean; turn_idx?: number };

/** `incomplete`: a recorded trajectory that ends without any stop (only from grading) */
export type Termination = 'user_stop' | 'agent_stop' | 'max_steps' | 'too_many_errors' | 'agent_error' | 'user_error' | 'incomplete';

export interface AgentReply {
  content: string | null;
  tool_calls?: EpisodeToolCall[];
}

/** The agent sees the whole trajectory (it renders its own system prompt and provider format). */
export interface EpisodeAgent {
  next(history: readonly EpisodeMessage[]): Promise<AgentReply>;
}

/** The user simulator sees only text turns (tau2 flips roles for it; it never sees tool calls). */
export interface EpisodeUser {
  next(history: readonly EpisodeMessage[]): Promise<string>;
}

export interface ToolEnv {
  call(name: string, args: unknown): ToolResult;
}

export const USER_STOP_TOKENS = ['###STOP###', '###TRANSFER###', '###OUT-OF-SCOPE###'];
export const AGENT_STOP_TOKEN = '###STOP###';

export const isUserStop = (text: string): boolean => USER_STOP_TOKENS.some((t) => text.includes(t));

type Role = 'agent' | 'user' | 'env';

/** Everything needed to continue an episode after a crash (heartbeated after every step). */
export interface EpisodeCheckpoint {
  messages: EpisodeMessage[];
  steps: number;
  errors: number;
  to: Role;
  from: Role;
  done: boolean;
  termination: Termination | null;
  /** why an agent_error / user_error ended it */
  error_info?: string;
}

export interface EpisodeLimits {
  max_steps: number;
  max_errors: number;
}

export const TAU2_LIMITS: EpisodeLimits = { max_steps: 200, max_errors: 10 };

export function initialCheckpoint(): EpisodeCheckpoint {
  return { messages: [{ role: 'assistant', content: FIRST_AGENT_MESSAGE }], steps: 0, errors: 0, to: 'user', from: 'agent', done: false, termination: null };
}

/**
 * Rebuild the env of a checkpoint by replaying its tool calls in order on a fresh env, checking each
 * reproduces the recorded result (tau2's set_state). A mismatch means the env changed under a
 * recorded episode: an error, never a silently different state.
 */
export function replayToolCalls(env: ToolEnv, messages: readonly EpisodeMessage[]): void {
  const results = new Map<string, EpisodeMessage & { role: 'tool' }>();
  for (const m of messages) if (m.role === 'tool') results.set(m.tool_call_id, m);
  for (const m of messages) {
    if (m.role !== 'assistant' || !m.tool_calls) continue;
    for (const tc of m.tool_calls) {
      const recorded = results.get(tc.id);
      if (!recorded) continue; // a pending call (the checkpoint was taken before its results)
      const r = executeToolCall(env, tc);
      if (r.content !== recorded.content) throw new Error(`replaying tool call ${tc.name} (${tc.id}) gave a different result than recorded: ${r.content.slice(0, 200)} vs ${recorded.content.slice(0, 200)}`);
    }
  }
}

export function executeToolCall(env: ToolEnv, tc: EpisodeToolCall): ToolResult {
  if (tc.arguments_error !== undefined) return { content: `Error: invalid arguments for tool '${tc.name}': ${tc.arguments_error}`, error: true };
  return env.call(tc.name, tc.arguments);
}

export interface RunEpisodeOptions {
  agent: EpisodeAgent;
  user: EpisodeUser;
  env: ToolEnv;
  limits?: EpisodeLimits;
  /** continue from here (the env must already hold its state: see replayToolCalls) */
  checkpoint?: EpisodeCheckpoint;
  /** called after every step with the new checkpoint (the activity heartbeats it) */
  onStep?: (cp: EpisodeCheckpoint) => void | Promise<void>;
}

function emptyReply(r: AgentReply): boolean {
  return !(r.content && r.content.trim()) && !(r.tool_calls && r.tool_calls.length);
}

export async function runEpisode(opts: RunEpisodeOptions): Promise<EpisodeCheckpoint> {
  const limits = opts.limits ?? TAU2_LIMITS;
  const cp: EpisodeCheckpoint = structuredClone(opts.checkpoint ?? initialCheckpoint());
  const end = (t: Termination, info?: string) => {
    cp.done = true;
    cp.termination = t;
    if (info) cp.error_info = info;
  };
  while (!cp.done) {
    const turn = cp.messages.length;
    if (cp.to === 'user') {
      // a thrown error is infrastructure (a provider 429, a dead server): it propagates so the
      // activity retries and resumes from the last checkpoint; bad *output* is handled below
      const text = await opts.user.next(cp.messages);
      if (!text || !text.trim()) {
        end('user_error', 'the user simulator replied with an empty message');
        break;
      }
      cp.messages.push({ role: 'user', content: text, turn_idx: turn });
      if (isUserStop(text)) end('user_stop');
      cp.from = 'user';
      cp.to = 'agent';
    } else if (cp.to === 'agent') {
      const r = await opts.agent.next(cp.messages);
      if (emptyReply(r)) {
        cp.messages.push({ role: 'assistant', content: r.content ?? null, turn_idx: turn });
        end('agent_error', 'the agent replied with neither text nor a tool call');
        break;
      }
      const msg: EpisodeMessage = { role: 'assistant', content: r.content ?? null, turn_idx: turn };
      if (r.tool_calls?.length) msg.tool_calls = r.tool_calls;
      cp.messages.push(msg);
      if (r.content?.includes(AGENT_STOP_TOKEN)) end('agent_stop');
      cp.from = 'agent';
      cp.to = r.tool_calls?.length ? 'env' : 'user';
    } else {
      const last = cp.messages[cp.messages.length - 1];
      const calls = last.role === 'assistant' ? (last.tool_calls ?? []) : [];
      for (const tc of calls) {
        const res = executeToolCall(opts.env, tc);
        if (res.error) cp.errors++;
        cp.messages.push({ role: 'tool', tool_call_id: tc.id, name: tc.name, content: res.content, error: res.error, turn_idx: turn });
      }
      cp.to = cp.from;
      cp.from = 'env';
    }
    cp.steps++;
    if (cp.to !== 'env') {
      // as tau2: either limit overrides a stop set in the same step, and the error limit is checked last
      if (cp.steps >= limits.max_steps) end('max_steps');
      if (cp.errors >= limits.max_errors) end('too_many_errors');
    }
    await opts.onStep?.(cp);
  }
  return cp;
}
