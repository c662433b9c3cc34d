/**
 * tau2-airline's rules on finished episodes (tau2-bench's metrics): token usage summed by role,
 * pass^k over trials, the evaluation summary with its refusal floor, and what the reflector sees of
 * an episode (the source adapter's Inputs / Generated Outputs / Feedback). Pure: the episodes are
 * run by activities/tau2.ts, the do-nothing verdict of a task comes from tasks/tau2.
 */
import type { EpisodeUsage, ScoredSample, Tau2EpisodeSummary } from './traces';

export type { EpisodeUsage, RoleUsage, Tau2EpisodeSummary } from './traces';

/** One LM call of an episode (tasks/tau2/llmAgents.ts CallUsage has these fields); cost null: no known price. */
export interface EpisodeCall {
  role: 'agent' | 'user';
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number | null;
}

export function emptyUsage(): EpisodeUsage {
  return { agent: { calls: 0, tokens_in: 0, tokens_out: 0, cost_usd: 0 }, user: { calls: 0, tokens_in: 0, tokens_out: 0, cost_usd: 0 }, unpriced_calls: 0 };
}

/** An episode's usage from its calls: counted by role; an unpriced call counts its tokens, not its cost. */
export function sumUsage(calls: readonly EpisodeCall[]): EpisodeUsage {
  const u = emptyUsage();
  for (const c of calls) {
    const s = u[c.role];
    s.calls++;
    s.tokens_in += c.prompt_tokens;
    s.tokens_out += c.completion_tokens;
    if (c.cost_usd === null) u.unpriced_calls++;
    else s.cost_usd += c.cost_usd;
  }
  return u;
}

/** The usage of several episodes together. */
export function addUsage(usages: readonly EpisodeUsage[]): EpisodeUsage {
  const total = emptyUsage();
  for (const u of usages) {
    for (const role of ['agent', 'user'] as const) {
      total[role].calls += u[role].calls;
      total[role].tokens_in += u[role].tokens_in;
      total[role].tokens_out += u[role].tokens_out;
      total[role].cost_usd += u[role].cost_usd;
    }
    total.unpriced_calls += u.unpriced_calls;
  }
  return total;
}

/** C(n, r), 0 when r > n. */
function choose(n: number, r: number): number {
  if (r > n) return 0;
  let x = 1;
  for (let i = 0; i < r; i++) x = (x * (n - i)) / (i + 1);
  return x;
}

/**
 * pass^k (tau2-bench) = mean over tasks of C(c, k) / C(n, k), n a task's trials and c its
 * successes (`successesByTask[task][trial]`): the chance that k trials drawn without replacement all
 * succeed. Tasks with fewer than k trials are left out; 0 when none is left.
 */
export function passHatK(successesByTask: readonly (readonly boolean[])[], k: number): number {
  const rows = successesByTask.filter((s) => s.length >= k);
  if (!rows.length) return 0;
  return rows.reduce((a, s) => a + choose(s.filter(Boolean).length, k) / choose(s.length, k), 0) / rows.length;
}

export interface Tau2TaskRow {
  task_id: string;
  db_changing: boolean;
  successes: number;
  trials: number;
  noop_success: boolean;
  terminations: string[];
  attempts: number[];
  resumed_from_steps: number[];
}

export interface Tau2EvaluationSummary {
  n_tasks: number;
  trials: number;
  pass_hat: Record<string, number>;
  /** pass^1 on the tasks whose gold changes the DB, and on those where it does not */
  pass1_db_changing: number;
  pass1_no_change: number;
  /** what an agent that never writes scores on these tasks: the share of tasks the do-nothing agent passes */
  refusal_floor: number;
  per_task: Tau2TaskRow[];
  usage: EpisodeUsage;
  cost_per_episode_usd: number;
  mean_steps: number;
}

/**
 * The evaluation summary of a set of episodes: pass^1..k with k the fewest trials any task had,
 * pass^1 apart for tasks whose gold changes the DB and those where it does not, the refusal floor
 * (`noopPasses(task_id)`: whether the do-nothing agent passes that task), usage and cost per episode.
 */
export function summariseTau2(episodes: readonly Tau2EpisodeSummary[], noopPasses: (task_id: string) => boolean): Tau2EvaluationSummary {
  const byTask = new Map<string, Tau2EpisodeSummary[]>();
  for (const e of episodes) byTask.set(e.task_id, [...(byTask.get(e.task_id) ?? []), e]);
  const per_task: Tau2TaskRow[] = [...byTask.entries()].map(([task_id, es]) => ({
    task_id,
    db_changing: es[0].db_changing,
    successes: es.filter((e) => e.success).length,
    trials: es.length,
    noop_success: noopPasses(task_id),
    terminations: es.map((e) => e.termination),
    attempts: es.map((e) => e.attempt),
    resumed_from_steps: es.map((e) => e.resumed_from_step),
  }));
  // no episodes: no pass^k (Math.min() of nothing is Infinity, a loop without end)
  const trials = per_task.length ? Math.min(...per_task.map((p) => p.trials)) : 0;
  const successesOf = (es: Tau2EpisodeSummary[]) => es.map((e) => e.success);
  const pass_hat: Record<string, number> = {};
  for (let k = 1; k <= trials; k++) pass_hat[`pass^${k}`] = passHatK([...byTask.values()].map(successesOf), k);
  const pass1Where = (changing: boolean) => {
    const rows = [...byTask.values()].filter((es) => es[0].db_changing === changing).map(successesOf);
    return rows.length ? passHatK(rows, 1) : 0;
  };
  const usage = addUsage(episodes.map((e) => e.usage));
  return {
    n_tasks: per_task.length,
    trials,
    pass_hat,
    pass1_db_changing: pass1Where(true),
    pass1_no_change: pass1Where(false),
    refusal_floor: per_task.filter((p) => p.noop_success).length / Math.max(1, per_task.length),
    per_task,
    usage,
    cost_per_episode_usd: (usage.agent.cost_usd + usage.user.cost_usd) / Math.max(1, episodes.length),
    mean_steps: episodes.reduce((a, e) => a + e.steps, 0) / Math.max(1, episodes.length),
  };
}

/** What the reflector is shown of one episode, besides the task's policy text. */
export interface EpisodeView {
  split: 'train' | 'val' | 'test';
  index: number;
  trial: number;
  task_id: string;
  user_instruction: string;
  user_id: string | null;
  /** the gold action names, shown for train and val episodes only */
  expected_actions: string[];
  /** the conversation; tool results are left out */
  messages: readonly { role: string; content?: string | null }[];
  grade: { reward: number; success: boolean; termination: string; feedback: string; actions_taken: readonly { name: string }[] };
}

/** The last text turns the reflector sees, and how much of each. */
export const EPISODE_LAST_TURNS = 4;
export const EPISODE_TURN_CHARS = 300;

/**
 * The GEPA trace of one episode (tau2-bench's GEPA adapter): Inputs = the user's instruction and
 * id (with the expected actions on train/val), Generated Outputs = the actions taken, the reward,
 * the length, the termination and the last text turns; Feedback = the grader's on train/val, only
 * the outcome on test (no gold state leaks). Only failed train/val episodes go to the reflector.
 */
export function episodeTrace(v: EpisodeView): ScoredSample {
  const train = v.split !== 'test';
  const input = JSON.stringify({ user_instruction: v.user_instruction, user_id: v.user_id, ...(train ? { expected_actions: v.expected_actions } : {}) }, null, 1);
  const lastTurns = v.messages
    .filter((m) => m.role !== 'tool' && m.content)
    .slice(-EPISODE_LAST_TURNS)
    .map((m) => `${m.role === 'user' ? 'user' : 'agent'}: ${String(m.content).slice(0, EPISODE_TURN_CHARS)}`);
  const g = v.grade;
  const output = JSON.stringify({ actions_taken: g.actions_taken.map((a) => a.name), final_reward: g.reward, message_count: v.messages.length, termination: g.termination, last_turns: lastTurns }, null, 1);
  return {
    index: v.index,
    id: v.task_id,
    sample_index: v.trial,
    input,
    messages: [],
    output,
    reward: g.reward,
    correct: g.success,
    format_ok: true,
    extracted: null,
    feedback: train ? g.feedback : g.success ? 'Task completed successfully.' : `Task failed (${g.termination}).`,
    num_tokens: 0,
    reflect: train && !g.success,
  };
}
