/**
 * tau2's reward for the airline tasks (spec §2.5): 0 unless the episode ended by a user or agent
 * stop; otherwise DB × COMMUNICATE. DB: the trajectory's tool calls replayed in order on a fresh DB
 * must hash like the task's gold actions replayed on a fresh DB. COMMUNICATE: every
 * `communicate_info` string, lower-cased, is a substring of some non-empty agent message with its
 * commas removed. Plus the diagnostics GEPA's reflection reads: the DB difference between expected
 * and actual state, write calls that differ, missing strings, and the source adapter's feedback lines.
 */
import { loadAirlineDb, type AirlineDbData, type BaseDb } from './db';
import { AirlineEnv } from './env';
import { executeToolCall, type EpisodeMessage, type Termination } from './orchestrator';
import type { Tau2Task } from './data';
import { pyDumps } from './pyjson';

export interface Tau2Grade {
  reward: number;
  success: boolean;
  db_match: boolean;
  communicate_match: boolean;
  communicate: { info: string; met: boolean }[];
  termination: Termination;
  tool_errors: number;
  actions_taken: { name: string; error: boolean }[];
  feedback: string;
  /** expected vs actual DB, as paths (empty when db_match) */
  db_diff: string[];
  db_hash: string;
  gold_hash: string;
}

const goldCache = new Map<string, { hash: string; env: AirlineEnv }>();

/** The task's gold actions on a fresh DB (errors in gold actions are swallowed, as tau2 does), memoised. */
export function goldState(task: Tau2Task, base: BaseDb = loadAirlineDb()): { hash: string; env: AirlineEnv } {
  const key = JSON.stringify(task.evaluation_criteria.actions);
  let g = goldCache.get(key);
  if (!g || g.env.db.base !== base) {
    const env = new AirlineEnv(base);
    for (const a of task.evaluation_criteria.actions) env.call(a.name, a.arguments);
    g = { hash: env.hash(), env };
    goldCache.set(key, g);
  }
  return g;
}

export function communicateChecks(task: Tau2Task, messages: readonly EpisodeMessage[]): { info: string; met: boolean }[] {
  const texts = messages
    .filter((m): m is EpisodeMessage & { role: 'assistant' } => m.role === 'assistant' && !!m.content && !!m.content.trim())
    .map((m) => m.content!.toLowerCase().replace(/,/g, ''));
  return task.evaluation_criteria.communicate_info.map((info) => ({ info, met: texts.some((t) => t.includes(info.toLowerCase())) }));
}

/** The agent's tool calls, in order. */
export function agentToolCalls(messages: readonly EpisodeMessage[]) {
  return messages.flatMap((m) => (m.role === 'assistant' && m.tool_calls ? m.tool_calls : []));
}

/** Paths where the actual DB differs from the expected one (only records either side touched). */
export function dbDiff(expected: AirlineEnv, actual: AirlineEnv, limit = 20): string[] {
  const keys = new Map<string, { table: keyof AirlineDbData; key: string }>();
  for (const t of [...expected.db.touched(), ...actual.db.touched()]) keys.set(`${t.table}.${t.key}`, t);
  const out: string[] = [];
  const show = (v: unknown) => (v === undefined ? 'absent' : pyDumps(v).slice(0, 160));
  const walk = (p: string, e: unknown, a: unknown) => {
    if (out.length >= limit) return;
    if (e && a && typeof e === 'object' && typeof a === 'object' && Array.isArray(e) === Array.isArray(a)) {
      const ks = new Set([...Object.keys(e as object), ...Object.keys(a as object)]);
      for (const k of ks) walk(`${p}.${k}`, (e as Record<string, unknown>)[k], (a as Record<string, unknown>)[k]);
    } else if (pyDumps(e ?? null) !== pyDumps(a ?? null) || (e === undefined) !== (a === undefined)) {
      out.push(`${p}: expected ${show(e)}, got ${show(a)}`);
    }
  };
  for (const { table, key } of keys.values()) {
    const e = expected.db.get(table, key);
    const a = actual.db.get(table, key);
    if (e === undefined) out.push(`${table}.${key}: not expected, but the agent created it`);
    else if (a === undefined) out.push(`${table}.${key}: expected to be created, but missing`);
    else walk(`${table}.${key}`, e, a);
    if (out.length >= limit) break;
  }
  return out;
}

/** The source adapter's feedback lines (expected vs taken action names), then the richer ones. */
function buildFeedback(task: Tau2Task, g: Omit<Tau2Grade, 'feedback'>, errorInfo?: string): string {
  if (g.success) return 'Task completed successfully.';
  const parts: string[] = [];
  if (errorInfo) parts.push(`Error: ${errorInfo}`);
  const expected = [...new Set(task.evaluation_criteria.actions.map((a) => a.name))].sort();
  const taken = [...new Set(g.actions_taken.map((a) => a.name))].sort();
  if (!g.actions_taken.length) parts.push('Agent failed to take any actions');
  else if (JSON.stringify(expected) !== JSON.stringify(taken)) parts.push(`Expected actions: [${expected.join(', ')}], but agent took: [${taken.join(', ')}]`);
  if (g.termination !== 'user_stop' && g.termination !== 'agent_stop') parts.push(`The episode ended by ${g.termination}, which scores 0`);
  if (!g.db_match) parts.push(`The final database differs from the expected one: ${g.db_diff.slice(0, 8).join('; ') || 'hash differs'}`);
  for (const c of g.communicate) if (!c.met) parts.push(`The agent never told the user "${c.info}"`);
  if (g.tool_errors) parts.push(`${g.tool_errors} tool call(s) returned an error`);
  return parts.length ? parts.join(' | ') : 'Task failed without clear error';
}

/**
 * Grade a trajectory: its tool calls are replayed on a fresh DB (recorded tool results are not
 * trusted), compared with the gold state; communicate_info is checked on the agent's messages.
 */
export function gradeTau2(task: Tau2Task, messages: readonly EpisodeMessage[], termination: Termination, opts: { base?: BaseDb; errorInfo?: string } = {}): Tau2Grade {
  const base = opts.base ?? loadAirlineDb();
  const env = new AirlineEnv(base);
  const calls = agentToolCalls(messages);
  const results = calls.map((tc) => ({ name: tc.name, ...executeToolCall(env, tc) }));
  const gold = goldState(task, base);
  const db_hash = env.hash();
  const basis = task.evaluation_criteria.reward_basis;
  const db_match = db_hash === gold.hash;
  const communicate = communicateChecks(task, messages);
  const communicate_match = communicate.every((c) => c.met);
  const stopped = termination === 'user_stop' || termination === 'agent_stop';
  let reward = stopped ? 1 : 0;
  if (stopped && basis.includes('DB') && !db_match) reward = 0;
  if (stopped && basis.includes('COMMUNICATE') && !communicate_match) reward = 0;
  const g = {
    reward,
    success: Math.abs(reward - 1) <= 1e-6,
    db_match,
    communicate_match,
    communicate,
    termination,
    tool_errors: results.filter((r) => r.error).length,
    actions_taken: results.map((r) => ({ name: r.name, error: r.error })),
    db_diff: db_match ? [] : dbDiff(gold.env, env),
    db_hash,
    gold_hash: gold.hash,
  };
  return { ...g, feedback: buildFeedback(task, g, opts.errorInfo) };
}
