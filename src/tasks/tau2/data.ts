/**
 * tau2 task data (data/tau2_airline: tasks.json, split_tasks.json, policy.md, the user-simulator
 * guidelines) and the two prompts tau2 renders from it: the agent's system prompt (a fixed wrapper
 * around the policy) and the user simulator's (guidelines + the scenario, `str(user_scenario)`).
 * Both are byte-equal to fixtures/prompts.json (tested).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { dataPath } from '../datasets';

const actionSchema = z.object({
  action_id: z.string(),
  name: z.string(),
  arguments: z.record(z.string(), z.unknown()),
  requestor: z.enum(['assistant', 'user']).optional(),
  info: z.string().nullable().optional(),
  compare_args: z.array(z.string()).nullable().optional(),
});

const instructionsSchema = z.object({
  domain: z.string(),
  reason_for_call: z.string(),
  known_info: z.string().nullable().optional(),
  unknown_info: z.string().nullable().optional(),
  task_instructions: z.string(),
});

export const tau2TaskSchema = z.object({
  id: z.string(),
  description: z.unknown().optional(),
  user_scenario: z.object({ persona: z.string().nullable().optional(), instructions: instructionsSchema }),
  initial_state: z.null().optional(),
  evaluation_criteria: z.object({
    actions: z.array(actionSchema).default([]),
    communicate_info: z.array(z.string()).default([]),
    nl_assertions: z.array(z.string()).nullable().optional(),
    env_assertions: z.null().optional(),
    reward_basis: z.array(z.enum(['DB', 'COMMUNICATE', 'ACTION', 'NL_ASSERTION', 'ENV_ASSERTION'])).default(['DB', 'COMMUNICATE']),
  }),
  annotations: z.unknown().optional(),
});

export type Tau2Task = z.infer<typeof tau2TaskSchema>;
export type Tau2Action = z.infer<typeof actionSchema>;

/**
 * A task object (tasks.json row or a grade line's `task_def`). Parts of tau2's schema that the
 * airline grading here does not implement are refused with a clear error, never ignored.
 */
export function parseTau2Task(obj: unknown, where = 'task'): Tau2Task {
  const r = tau2TaskSchema.safeParse(obj);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${where}: not a tau2 airline Task (${issues}); initial_state, env_assertions and persona are not supported here`);
  }
  const t = r.data;
  const unsupported = t.evaluation_criteria.reward_basis.filter((b) => b !== 'DB' && b !== 'COMMUNICATE');
  if (unsupported.length) throw new Error(`${where} ${t.id}: reward_basis ${JSON.stringify(unsupported)} is not supported (this grader computes DB × COMMUNICATE, as the airline tasks use)`);
  if (t.evaluation_criteria.actions.some((a) => a.requestor === 'user')) throw new Error(`${where} ${t.id}: user-requested actions (requestor "user") are not supported (airline users have no tools)`);
  if (t.user_scenario.persona) throw new Error(`${where} ${t.id}: a user persona is not supported (no airline task has one)`);
  return t;
}

let tasksCache: Tau2Task[] | null = null;

export function loadTau2Tasks(): Tau2Task[] {
  if (!tasksCache) {
    const raw = JSON.parse(readFileSync(dataPath('tau2_airline', 'tasks.json'), 'utf8')) as unknown[];
    tasksCache = raw.map((t, i) => parseTau2Task(t, `tasks.json row ${i}`));
  }
  return tasksCache;
}

export type Tau2Split = 'train' | 'test' | 'base';

export function loadTau2Split(split: Tau2Split): Tau2Task[] {
  const splits = JSON.parse(readFileSync(dataPath('tau2_airline', 'split_tasks.json'), 'utf8')) as Record<string, string[]>;
  const ids = splits[split];
  if (!ids) throw new Error(`tau2-airline: unknown split ${JSON.stringify(split)} (expected train, test or base)`);
  const byId = new Map(loadTau2Tasks().map((t) => [t.id, t]));
  return ids.map((id) => byId.get(id)!);
}

export const tau2TaskById = (id: string): Tau2Task | undefined => loadTau2Tasks().find((t) => t.id === id);

export function airlinePolicy(): string {
  return readFileSync(dataPath('tau2_airline', 'policy.md'), 'utf8');
}

export const FIRST_AGENT_MESSAGE = 'Hi! How can I help you today?';

const AGENT_INSTRUCTION = `You are a customer service agent that helps the user according to the <policy> provided below.
In each turn you can either:
- Send a message to the user.
- Make a tool call.
You cannot do both at the same time.

Try to be helpful and always follow the policy. Always make sure you generate valid JSON only.`;

/** tau2 LLMAgent's system prompt: the fixed instructions, then the policy (the GEPA component). */
export function agentSystemPrompt(policy: string): string {
  return `<instructions>\n${AGENT_INSTRUCTION}\n</instructions>\n<policy>\n${policy}\n</policy>`;
}

/** Python textwrap.indent(s, "\t"): a tab before every line that is not whitespace-only. */
function indentTab(s: string): string {
  return s
    .split(/(?<=\n)/)
    .map((line) => (line.trim() ? `\t${line}` : line))
    .join('');
}

export function renderScenario(t: Tau2Task): string {
  const i = t.user_scenario.instructions;
  let s = `Domain: ${i.domain}\nReason for call:\n${indentTab(i.reason_for_call)}`;
  if (i.known_info) s += `\nKnown info:\n${indentTab(i.known_info)}`;
  if (i.unknown_info) s += `\nUnknown info:\n${indentTab(i.unknown_info)}`;
  s += `\nTask instructions:\n${indentTab(i.task_instructions)}`;
  return `Instructions:\n${indentTab(s)}`;
}

export function userSystemPrompt(t: Tau2Task): string {
  const guidelines = readFileSync(dataPath('tau2_airline', 'fixtures', 'simulation_guidelines.md'), 'utf8');
  return `${guidelines}\n\n<scenario>\n${renderScenario(t)}\n</scenario>`;
}

/** The user id a scenario states (every airline task's known_info has one). */
export function scenarioUserId(t: Tau2Task): string | null {
  const text = `${t.user_scenario.instructions.known_info ?? ''}\n${t.user_scenario.instructions.reason_for_call}`;
  return /\b[a-z]+_[a-z]+_\d{3,5}\b/.exec(text)?.[0] ?? null;
}

/** The 14 tool schemas exactly as tau2 sends them (OpenAI format, with $defs/anyOf), in tau2's order. */
export function airlineToolSchemas(): import('../../llm/tools').ToolSchema[] {
  return JSON.parse(readFileSync(dataPath('tau2_airline', 'fixtures', 'openai_tools.json'), 'utf8'));
}
