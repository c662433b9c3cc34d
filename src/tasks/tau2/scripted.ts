/**
 * Deterministic agents and user for offline tests and for measuring floors (no model): the gold
 * replay agent (the task's gold actions, one tool call per message, then a closing message that
 * states the task's communicate_info), the do-nothing agent (text only), and the scripted user
 * (opens with the scenario's reason for call and known info, answers confirmations, stops when the
 * agent asks whether anything else is needed or after a fixed number of agent turns).
 */
import type { Tau2Task } from './data';
import type { AgentReply, EpisodeAgent, EpisodeMessage, EpisodeUser } from './orchestrator';
import type { AirlineTool } from './tools';
import { TOOLS_BY_NAME } from './tools';

export const CLOSING_QUESTION = 'Is there anything else I can help you with?';
export const TRANSFER_SENTENCE = 'YOU ARE BEING TRANSFERRED TO A HUMAN AGENT. PLEASE HOLD ON.';

const isWrite = (name: string) => (TOOLS_BY_NAME.get(name) as AirlineTool | undefined)?.kind === 'write';

export interface GoldReplayOptions {
  /** state communicate_info in the closing message (default true) */
  sayInfo?: boolean;
  /** leave out the last write action (a corruption that must score 0 on DB-changing tasks) */
  dropLastWrite?: boolean;
  /** leave out every write action */
  dropAllWrites?: boolean;
  /** tool calls made before the gold list (reads / generic calls must not change the reward) */
  prepend?: { name: string; arguments: Record<string, unknown> }[];
}

export class GoldReplayAgent implements EpisodeAgent {
  private queue: { name: string; arguments: Record<string, unknown> }[];
  private n = 0;
  constructor(
    private task: Tau2Task,
    private opts: GoldReplayOptions = {},
  ) {
    let actions = task.evaluation_criteria.actions.map((a) => ({ name: a.name, arguments: a.arguments }));
    if (opts.dropAllWrites) actions = actions.filter((a) => !isWrite(a.name));
    if (opts.dropLastWrite) {
      const i = actions.map((a) => isWrite(a.name)).lastIndexOf(true);
      if (i >= 0) actions.splice(i, 1);
    }
    this.queue = [...(opts.prepend ?? []), ...actions];
  }
  async next(): Promise<AgentReply> {
    const a = this.queue.shift();
    if (a) return { content: null, tool_calls: [{ id: `call_${this.task.id}_${this.n++}`, name: a.name, arguments: a.arguments }] };
    const info = this.opts.sayInfo === false ? [] : this.task.evaluation_criteria.communicate_info;
    return { content: `I have taken care of your request.${info.length ? ` For your information: ${info.join('; ')}.` : ''} ${CLOSING_QUESTION}` };
  }
}

/** Never calls a tool: the refusal floor (23/50 on these tasks). */
export class NoopAgent implements EpisodeAgent {
  async next(): Promise<AgentReply> {
    return { content: `I am sorry, but I cannot make any changes to your booking. ${CLOSING_QUESTION}` };
  }
}

export class ScriptedUser implements EpisodeUser {
  private turns = 0;
  constructor(
    private task: Tau2Task,
    private maxTurns = 10,
  ) {}
  async next(history: readonly EpisodeMessage[]): Promise<string> {
    this.turns++;
    const i = this.task.user_scenario.instructions;
    if (this.turns === 1) return `${i.reason_for_call}\n${i.known_info ?? ''}`.trim();
    const last = [...history].reverse().find((m) => m.role === 'assistant' && m.content)?.content ?? '';
    if (last.includes(TRANSFER_SENTENCE)) return '###TRANSFER###';
    if (last.includes(CLOSING_QUESTION) || this.turns >= this.maxTurns) return "That's all, thanks. ###STOP###";
    if (/confirm|proceed|would you like/i.test(last)) return 'Yes, please proceed.';
    return 'Please go ahead.';
  }
}
