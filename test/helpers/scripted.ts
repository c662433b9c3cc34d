/**
 * Scripted stand-ins for paid APIs (allowed in tests only): a policy whose accuracy depends on the
 * system prompt, and a reflection LM whose proposals depend only on the text it is shown (never on
 * call order), so interrupted and uninterrupted runs see the same replies.
 */
import type { CompletionRequest } from '../../src/llm';
import { registerScriptedReplies } from './scriptedProviders';

function solve(question: string): number | null {
  const m = /(-?\d+)\s*([+\-*])\s*(-?\d+)/.exec(question);
  if (!m) return null;
  const a = Number(m[1]);
  const b = Number(m[3]);
  return m[2] === '+' ? a + b : m[2] === '-' ? a - b : a * b;
}

/** Correct on '+' problems always; on every problem once the prompt says "step by step". */
export function registerScriptedPolicy(model = 'scripted-policy'): void {
  registerScriptedReplies(model, (req: CompletionRequest) => {
    const system = req.messages.find((m) => m.role === 'system')?.content ?? '';
    const user = req.messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n');
    const v = solve(user);
    if (v === null) return 'I do not know.';
    const good = /step by step/i.test(system) || user.includes('+');
    return `The answer is ${good ? v : v + 1}`;
  });
}

/** Every reflection prompt the scripted reflector was shown (for assertions). */
export const reflectionPrompts: string[] = [];

/**
 * Adds "Think step by step." to the text; when the text says JUNK, writes a reply cut off at the
 * token limit (rejected as truncated); when it already says step by step, hands the same text back
 * (rejected as unchanged).
 */
export function registerScriptedReflector(model = 'scripted-reflector'): void {
  registerScriptedReplies(model, (req: CompletionRequest) => {
    const prompt = req.messages.map((m) => m.content).join('\n');
    reflectionPrompts.push(prompt);
    const current = /```\n([\s\S]*?)\n```/.exec(prompt)?.[1] ?? '';
    if (current.includes('JUNK')) return { text: 'Sure! Think step by step and answer', finish_reason: 'length' };
    if (!/step by step/i.test(current)) return `Here is a better version:\n\`\`\`\n${current}\nThink step by step.\n\`\`\``;
    return `The instructions look fine to me:\n\`\`\`\n${current}\n\`\`\``;
  });
}

/**
 * A policy for merge tests: '-' right iff the prompt says "subtract carefully", '*' iff "multiply
 * carefully", '+' unless "subtract carefully" comes without "multiply carefully" (two siblings that
 * each fix one component are worth merging).
 */
export function registerTipsPolicy(model = 'tips-policy'): void {
  registerScriptedReplies(model, (req: CompletionRequest) => {
    const sys = req.messages.find((m) => m.role === 'system')?.content ?? '';
    const m = /(-?\d+)\s*([+\-*])\s*(-?\d+)/.exec(req.messages.filter((x) => x.role === 'user').map((x) => x.content).join('\n'));
    if (!m) return 'no idea';
    const v = solve(m[0])!;
    const S = sys.includes('subtract carefully');
    const M = sys.includes('multiply carefully');
    const ok = m[2] === '+' ? !S || M : m[2] === '-' ? S : M;
    return `The answer is ${ok ? v : v + 1}`;
  });
}
