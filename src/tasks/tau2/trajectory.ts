/**
 * Recorded trajectories in OpenAI chat format (assistant tool_calls, tool results, user turns) →
 * episode messages, and grading them: the assistant's tool calls are replayed in order on a fresh
 * DB (recorded tool results are ignored), as `gepa-rl grade` does for a line
 * `{"task": "tau2-airline", "task_id" | "task_def", "messages", "termination"?}`.
 */
import { fromOpenAiMessages, parseToolArguments } from '../../llm/tools';
import { parseTau2Task, tau2TaskById, type Tau2Task } from './data';
import { gradeTau2, type Tau2Grade } from './evaluate';
import { AGENT_STOP_TOKEN, isUserStop, type EpisodeMessage, type Termination } from './orchestrator';

export const TERMINATIONS: readonly Termination[] = ['user_stop', 'agent_stop', 'max_steps', 'too_many_errors', 'agent_error', 'user_error', 'incomplete'];

export function episodeFromOpenAi(wire: unknown[]): EpisodeMessage[] {
  const out: EpisodeMessage[] = [];
  const names = new Map<string, string>();
  for (const m of fromOpenAiMessages(wire)) {
    if (m.role === 'system') continue;
    if (m.role === 'user') out.push({ role: 'user', content: m.content });
    else if (m.role === 'tool') out.push({ role: 'tool', tool_call_id: m.tool_call_id, name: names.get(m.tool_call_id) ?? '', content: m.content, error: m.content.startsWith('Error:') });
    else {
      const tool_calls = (m.tool_calls ?? []).map((tc) => {
        names.set(tc.id, tc.name);
        const p = parseToolArguments(tc.arguments);
        return { id: tc.id, name: tc.name, arguments: p.arguments, raw_arguments: tc.arguments, ...(p.error ? { arguments_error: p.error } : {}) };
      });
      out.push({ role: 'assistant', content: m.content, ...(tool_calls.length ? { tool_calls } : {}) });
    }
  }
  return out;
}

/** Without a recorded termination: a user stop token → user stop, an agent ###STOP### → agent stop, else incomplete (reward 0). */
export function inferTermination(messages: readonly EpisodeMessage[]): Termination {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role === 'user') return isUserStop(m.content) ? 'user_stop' : 'incomplete';
    if (m.role === 'assistant' && m.content?.includes(AGENT_STOP_TOKEN)) return 'agent_stop';
    if (m.role === 'assistant' || m.role === 'tool') continue;
  }
  return 'incomplete';
}

export type Tau2GradeLine = Pick<Tau2Grade, 'reward' | 'db_match' | 'communicate_match' | 'feedback' | 'tool_errors'> & { task_id: string; termination: Termination };

export function gradeTau2Line(o: Record<string, unknown>): Tau2GradeLine | { error: string } {
  let task: Tau2Task | undefined;
  try {
    if (o.task_def !== undefined) task = parseTau2Task(o.task_def, 'task_def');
    else if (typeof o.task_id === 'string' || typeof o.task_id === 'number') {
      task = tau2TaskById(String(o.task_id));
      if (!task) return { error: `unknown tau2-airline task_id ${JSON.stringify(o.task_id)} (the airline tasks are "0".."49"); or give the task itself as "task_def"` };
    } else return { error: 'a tau2-airline line needs "task_id" (e.g. "7") or "task_def" (a tau2 Task object)' };
  } catch (e) {
    return { error: (e as Error).message };
  }
  if (!Array.isArray(o.messages)) return { error: `"messages" must be an array of OpenAI chat messages (got ${JSON.stringify(o.messages)?.slice(0, 80)})` };
  let messages: EpisodeMessage[];
  try {
    messages = episodeFromOpenAi(o.messages);
  } catch (e) {
    return { error: `"messages": ${(e as Error).message}` };
  }
  let termination: Termination;
  if (o.termination === undefined) termination = inferTermination(messages);
  else if (typeof o.termination === 'string' && (TERMINATIONS as readonly string[]).includes(o.termination)) termination = o.termination as Termination;
  else return { error: `"termination" must be one of ${TERMINATIONS.join(', ')} (got ${JSON.stringify(o.termination)})` };
  const g = gradeTau2(task, messages, termination);
  return { task_id: task.id, reward: g.reward, db_match: g.db_match, communicate_match: g.communicate_match, feedback: g.feedback, tool_errors: g.tool_errors, termination };
}
