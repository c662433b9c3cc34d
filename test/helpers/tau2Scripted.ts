/**
 * Scripted stand-ins for the paid models of a tau2 episode (tests only). All are stateless
 * functions of the request, so a resumed episode sees the same replies as an uninterrupted one.
 * - agent: if its system prompt (the policy) contains RULE, it performs the task's gold actions one
 *   call per turn and then closes stating communicate_info; otherwise it never writes (it only
 *   answers and closes), which passes the refusal tasks and fails the others.
 * - user: opens with the scenario, stops when the agent asks whether anything else is needed.
 * - reflector: adds RULE to the policy it is shown.
 */
import type { CompletionRequest } from '../../src/llm';
import type { ToolCompletionRequest } from '../../src/llm/tools';
import { registerScriptedReplies, registerScriptedToolReplies } from './scriptedProviders';
import { loadTau2Tasks, userSystemPrompt, type Tau2Task } from '../../src/tasks/tau2/data';
import { CLOSING_QUESTION } from '../../src/tasks/tau2/scripted';

export const RULE = 'RULE: when the customer asks for a change the policy allows, make it with the tools.';

function taskOfOpening(text: string): Tau2Task {
  const t = loadTau2Tasks().find((x) => text.startsWith(x.user_scenario.instructions.reason_for_call.trim()));
  if (!t) throw new Error(`scripted tau2 agent: no task opens with ${JSON.stringify(text.slice(0, 60))}`);
  return t;
}

/** Agent calls seen, for tests that count them (a resumed episode must not repeat any). */
export const agentCalls: { model: string; n: number; temperature?: number }[] = [];

export function registerScriptedTau2Agent(model = 'scripted-tau2-agent', opts: { failAtCall?: { n: number; times: number } } = {}): void {
  let calls = 0;
  let failures = 0;
  registerScriptedToolReplies(model, (req: ToolCompletionRequest) => {
    calls++;
    agentCalls.push({ model, n: calls, temperature: req.temperature });
    if (opts.failAtCall && calls === opts.failAtCall.n && failures < opts.failAtCall.times) {
      failures++;
      calls--; // this call is paid for again on retry
      throw Object.assign(new Error('scripted 503'), { status: 503 });
    }
    const system = req.messages[0].role === 'system' ? req.messages[0].content : '';
    const firstUser = req.messages.find((m) => m.role === 'user');
    const task = taskOfOpening(firstUser?.content ?? '');
    const done = req.messages.filter((m) => m.role === 'tool').length;
    const gold = system.includes(RULE) ? task.evaluation_criteria.actions : [];
    if (done < gold.length) return { tool_calls: [{ name: gold[done].name, arguments: gold[done].arguments }] };
    const info = system.includes(RULE) ? task.evaluation_criteria.communicate_info : [];
    return { content: `Done.${info.length ? ` Note: ${info.join('; ')}.` : ''} ${CLOSING_QUESTION}` };
  });
}

export function registerScriptedTau2User(model = 'scripted-tau2-user'): void {
  const prompts = new Map(loadTau2Tasks().map((t) => [userSystemPrompt(t), t]));
  registerScriptedReplies(model, (req: CompletionRequest) => {
    const task = prompts.get(req.messages[0].content);
    if (!task) throw new Error('scripted tau2 user: the system prompt is not a tau2 user prompt');
    const own = req.messages.filter((m) => m.role === 'assistant').length;
    const i = task.user_scenario.instructions;
    if (own === 0) return `${i.reason_for_call}\n${i.known_info ?? ''}`.trim();
    const last = req.messages[req.messages.length - 1].content;
    return last.includes(CLOSING_QUESTION) ? "That's all, thanks. ###STOP###" : 'Yes, please proceed.';
  });
}

export const tau2ReflectionPrompts: string[] = [];

export function registerScriptedTau2Reflector(model = 'scripted-tau2-reflector'): void {
  registerScriptedReplies(model, (req: CompletionRequest) => {
    const prompt = req.messages.map((m) => m.content).join('\n');
    tau2ReflectionPrompts.push(prompt);
    const current = /```\n([\s\S]*?)\n```/.exec(prompt)?.[1] ?? '';
    if (current.includes(RULE)) return 'No change needed.';
    return `Improved policy:\n\`\`\`\n${current}\n${RULE}\n\`\`\``;
  });
}
