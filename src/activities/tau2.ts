/**
 * tau2-airline episodes on the TS worker (DESIGN §4.2 "Episodic tasks"). One episode = one activity
 * (tau2Episode): the whole agent/user/env loop in process, a heartbeat after every step carrying
 * the checkpoint (the message list, or its blob ref once large) and the usage so far, so a retried
 * attempt (a killed worker, a 429) continues from its last step instead of paying again. The agent
 * and user are stateless functions of the trajectory, and the env is rebuilt by replaying the
 * recorded tool calls, so the checkpoint is all a resume needs. The conversation goes to the blob
 * store; the workflow gets the score, feedback and refs.
 */
import * as path from 'node:path';
import { activityInfo, heartbeat } from '@temporalio/activity';
import type { TaskConfig } from '../config/task';
import { DEFAULT_SYSTEM_PROMPT } from '../config';
import { providerForActivity, toActivityFailure, type ProviderName } from '../llm';
import { createToolProvider } from '../llm/tools';
import { FileBlobStore, readBlob } from '../storage/blobs';
import { writeJsonAtomic } from '../storage/runDir';
import { airlinePolicy, airlineToolSchemas, loadTau2Split, scenarioUserId, renderScenario, type Tau2Task } from '../tasks/tau2/data';
import { AirlineEnv } from '../tasks/tau2/env';
import { gradeTau2, goldState } from '../tasks/tau2/evaluate';
import { LlmToolAgent, LlmUser, type CallUsage } from '../tasks/tau2/llmAgents';
import { initialCheckpoint, replayToolCalls, runEpisode, type EpisodeCheckpoint, type EpisodeMessage } from '../tasks/tau2/orchestrator';
import type { BlobRef } from '../types';
import type { ScoredSample } from './tasks';

export interface Tau2EpisodeRequest {
  task: TaskConfig;
  split: 'train' | 'val' | 'test';
  index: number;
  trial: number;
  /** the candidate's policy text (the GEPA component); the generic default prompt stands for policy.md */
  policy: string;
  agent: { provider: ProviderName; model: string; base_url?: string; temperature: number };
  /** the same for every candidate, so comparisons are paired */
  seed: number;
  blob_dir: string;
}

export interface EpisodeUsage {
  agent: { calls: number; tokens_in: number; tokens_out: number; cost_usd: number };
  user: { calls: number; tokens_in: number; tokens_out: number; cost_usd: number };
  /** calls whose model has no known price (their cost is not in cost_usd) */
  unpriced_calls: number;
}

export interface Tau2EpisodeResult {
  task_id: string;
  trial: number;
  seed: number;
  reward: number;
  success: boolean;
  termination: string;
  db_match: boolean;
  db_changing: boolean;
  steps: number;
  message_count: number;
  tool_errors: number;
  feedback: string;
  usage: EpisodeUsage;
  /** the attempt that finished, and the step it resumed from (0: from the start) */
  attempt: number;
  resumed_from_step: number;
  /** conversation + grade in the blob store */
  trace_ref: BlobRef;
  /** the GEPA trace (Inputs / Generated Outputs / Feedback) */
  sample: ScoredSample;
}

export type Tau2EpisodeSummary = Pick<Tau2EpisodeResult, 'task_id' | 'trial' | 'seed' | 'success' | 'termination' | 'db_changing' | 'usage' | 'steps' | 'tool_errors' | 'attempt' | 'resumed_from_step' | 'trace_ref'>;

/** What a heartbeat carries: the checkpoint inline while small, else its blob ref. */
interface Heartbeat {
  checkpoint?: EpisodeCheckpoint;
  checkpoint_ref?: BlobRef;
  usage: CallUsage[];
}

const INLINE_CHECKPOINT_BYTES = 256_000;

export function emptyUsage(): EpisodeUsage {
  return { agent: { calls: 0, tokens_in: 0, tokens_out: 0, cost_usd: 0 }, user: { calls: 0, tokens_in: 0, tokens_out: 0, cost_usd: 0 }, unpriced_calls: 0 };
}

export function sumUsage(calls: CallUsage[]): EpisodeUsage {
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

function taskAt(req: Pick<Tau2EpisodeRequest, 'task' | 'split' | 'index'>): Tau2Task {
  const split = req.split === 'test' ? 'test' : 'train'; // val is train (see src/tasks/tau2/task.ts)
  const t = loadTau2Split(split)[req.index];
  if (!t) throw new Error(`tau2-airline ${req.split} split has ${loadTau2Split(split).length} tasks; index ${req.index} is out of range`);
  return t;
}

export function policyText(p: string): string {
  return !p.trim() || p === DEFAULT_SYSTEM_PROMPT ? airlinePolicy() : p;
}

/** The source adapter's record (Inputs / Generated Outputs), built for train episodes; test episodes carry no gold. */
function gepaSample(req: Tau2EpisodeRequest, task: Tau2Task, messages: EpisodeMessage[], g: ReturnType<typeof gradeTau2>): ScoredSample {
  const train = req.split !== 'test';
  const input = JSON.stringify(
    {
      user_instruction: renderScenario(task),
      user_id: scenarioUserId(task),
      ...(train ? { expected_actions: task.evaluation_criteria.actions.map((a) => a.name) } : {}),
    },
    null,
    1,
  );
  const lastTurns = messages
    .filter((m) => m.role !== 'tool' && m.content)
    .slice(-4)
    .map((m) => `${m.role === 'user' ? 'user' : 'agent'}: ${String(m.content).slice(0, 300)}`);
  const output = JSON.stringify({ actions_taken: g.actions_taken.map((a) => a.name), final_reward: g.reward, message_count: messages.length, termination: g.termination, last_turns: lastTurns }, null, 1);
  return {
    index: req.index,
    id: task.id,
    sample_index: req.trial,
    input,
    messages: [],
    output,
    reward: g.reward,
    correct: g.success,
    format_ok: true,
    extracted: null,
    // test episodes never show the gold state (leakage): only the outcome
    feedback: train ? g.feedback : g.success ? 'Task completed successfully.' : `Task failed (${g.termination}).`,
    num_tokens: 0,
    reflect: train && !g.success,
  };
}

export async function tau2Episode(req: Tau2EpisodeRequest): Promise<Tau2EpisodeResult> {
  const info = activityInfo();
  const task = taskAt(req);
  let agentProvider;
  try {
    agentProvider = createToolProvider({ provider: req.agent.provider, model: req.agent.model, base_url: req.agent.base_url });
  } catch (e) {
    throw toActivityFailure(e);
  }
  const userProvider = providerForActivity({ provider: req.task.tau2_user_provider, model: req.task.tau2_user_model, base_url: req.task.tau2_user_base_url });
  const store = new FileBlobStore(req.blob_dir);
  const hb = info.heartbeatDetails as Heartbeat | undefined;
  let checkpoint: EpisodeCheckpoint = initialCheckpoint();
  const usage: CallUsage[] = hb?.usage ? [...hb.usage] : [];
  if (hb?.checkpoint) checkpoint = hb.checkpoint;
  else if (hb?.checkpoint_ref) checkpoint = await readBlob<EpisodeCheckpoint>(hb.checkpoint_ref);
  const resumedFrom = checkpoint.steps;
  const env = new AirlineEnv();
  replayToolCalls(env, checkpoint.messages);
  // a pending tool batch (checkpoint taken between the agent's call and its results) runs on resume
  const agent = new LlmToolAgent(agentProvider, policyText(req.policy), airlineToolSchemas(), { temperature: req.agent.temperature, max_tokens: req.task.tau2_agent_max_tokens, seed: req.seed }, (u) => usage.push(u));
  const user = new LlmUser(userProvider, task, { temperature: 0, max_tokens: req.task.tau2_user_max_tokens, seed: req.seed }, (u) => usage.push(u));
  let final: EpisodeCheckpoint;
  try {
    final = await runEpisode({
      agent,
      user,
      env,
      checkpoint,
      limits: { max_steps: req.task.tau2_max_steps, max_errors: req.task.tau2_max_errors },
      onStep: async (cp) => {
        const text = JSON.stringify(cp);
        const beat: Heartbeat = text.length > INLINE_CHECKPOINT_BYTES ? { checkpoint_ref: await store.put(cp), usage } : { checkpoint: cp, usage };
        heartbeat(beat);
      },
    });
  } catch (e) {
    throw toActivityFailure(e);
  }
  const g = gradeTau2(task, final.messages, final.termination!, { errorInfo: final.error_info });
  const trace_ref = await store.put({ task_id: task.id, trial: req.trial, seed: req.seed, split: req.split, checkpoint: final, grade: g, usage });
  const result: Tau2EpisodeResult = {
    task_id: task.id,
    trial: req.trial,
    seed: req.seed,
    reward: g.reward,
    success: g.success,
    termination: g.termination,
    db_match: g.db_match,
    db_changing: goldState(task).hash !== env.db.base.hash(),
    steps: final.steps,
    message_count: final.messages.length,
    tool_errors: g.tool_errors,
    feedback: g.feedback,
    usage: sumUsage(usage),
    attempt: info.attempt,
    resumed_from_step: resumedFrom,
    trace_ref,
    sample: null as unknown as ScoredSample,
  };
  const { sample: _s, feedback: _f, reward: _r, db_match: _d, message_count: _m, ...summary } = result;
  result.sample = { ...gepaSample(req, task, final.messages, g), num_tokens: usage.reduce((a, u) => a + u.completion_tokens, 0), episode: summary };
  return result;
}

/** One blob of GEPA traces (ScoredSample[]) from finished episodes, as scoreRollouts writes for other tasks. */
export async function tau2CollectTraces(req: { samples: ScoredSample[]; blob_dir: string }): Promise<{ traces_ref: BlobRef }> {
  return { traces_ref: await new FileBlobStore(req.blob_dir).put(req.samples) };
}

/** pass^k = mean over tasks of C(c, k) / C(n, k) (n trials, c successes). */
export function passHatK(successes_T: boolean[][], k: number): number {
  const comb = (n: number, r: number) => {
    if (r > n) return 0;
    let x = 1;
    for (let i = 0; i < r; i++) x = (x * (n - i)) / (i + 1);
    return x;
  };
  const rows = successes_T.filter((s) => s.length >= k);
  if (!rows.length) return 0;
  return rows.reduce((a, s) => a + comb(s.filter(Boolean).length, k) / comb(s.length, k), 0) / rows.length;
}

export interface Tau2EvaluationSummary {
  n_tasks: number;
  trials: number;
  pass_hat: Record<string, number>;
  /** pass^1 on the tasks whose gold changes the DB, and on those where it does not */
  pass1_db_changing: number;
  pass1_no_change: number;
  /** what an agent that never writes scores on these tasks (measured offline with the do-nothing agent) */
  refusal_floor: number;
  per_task: { task_id: string; db_changing: boolean; successes: number; trials: number; noop_success: boolean; terminations: string[]; attempts: number[]; resumed_from_steps: number[] }[];
  usage: EpisodeUsage;
  cost_per_episode_usd: number;
  mean_steps: number;
}

/** The tau2 evaluation summary (pass^1..k, per-task table, refusal floor), written to tau2_evaluation.json. */
export async function writeTau2Evaluation(req: { run_dir: string; split: 'train' | 'val' | 'test'; traces_refs: BlobRef[] }): Promise<Tau2EvaluationSummary> {
  const samples = (await Promise.all(req.traces_refs.map((r) => readBlob<ScoredSample[]>(r)))).flat();
  const results = samples.map((s) => s.episode).filter((e): e is Tau2EpisodeSummary => !!e);
  if (results.length !== samples.length) throw new Error(`writeTau2Evaluation: ${samples.length - results.length} of ${samples.length} traces are not tau2 episodes`);
  const summary = summariseTau2(req.split, results);
  await writeJsonAtomic(path.join(req.run_dir, 'tau2_evaluation.json'), summary);
  return summary;
}

export function summariseTau2(splitName: 'train' | 'val' | 'test', results: Tau2EpisodeSummary[]): Tau2EvaluationSummary {
  const req = { split: splitName, results };
  const byTask = new Map<string, typeof req.results>();
  for (const r of req.results) byTask.set(r.task_id, [...(byTask.get(r.task_id) ?? []), r]);
  const split = req.split === 'test' ? 'test' : 'train';
  const tasks = new Map(loadTau2Split(split).map((t) => [t.id, t]));
  const per_task = [...byTask.entries()].map(([task_id, rs]) => {
    const t = tasks.get(task_id)!;
    const noop = noopPasses(t);
    return { task_id, db_changing: rs[0].db_changing, successes: rs.filter((r) => r.success).length, trials: rs.length, noop_success: noop, terminations: rs.map((r) => r.termination), attempts: rs.map((r) => r.attempt), resumed_from_steps: rs.map((r) => r.resumed_from_step) };
  });
  const trials = Math.min(...per_task.map((p) => p.trials));
  const succ = [...byTask.values()].map((rs) => rs.map((r) => r.success));
  const pass_hat: Record<string, number> = {};
  for (let k = 1; k <= trials; k++) pass_hat[`pass^${k}`] = passHatK(succ, k);
  const sub = (changing: boolean) => {
    const rows = [...byTask.values()].filter((rs) => rs[0].db_changing === changing).map((rs) => rs.map((r) => r.success));
    return rows.length ? passHatK(rows, 1) : 0;
  };
  const usage = emptyUsage();
  for (const r of req.results) {
    for (const role of ['agent', 'user'] as const) {
      usage[role].calls += r.usage[role].calls;
      usage[role].tokens_in += r.usage[role].tokens_in;
      usage[role].tokens_out += r.usage[role].tokens_out;
      usage[role].cost_usd += r.usage[role].cost_usd;
    }
    usage.unpriced_calls += r.usage.unpriced_calls;
  }
  const summary: Tau2EvaluationSummary = {
    n_tasks: per_task.length,
    trials,
    pass_hat,
    pass1_db_changing: sub(true),
    pass1_no_change: sub(false),
    refusal_floor: per_task.filter((p) => p.noop_success).length / Math.max(1, per_task.length),
    per_task,
    usage,
    cost_per_episode_usd: (usage.agent.cost_usd + usage.user.cost_usd) / Math.max(1, req.results.length),
    mean_steps: req.results.reduce((a, r) => a + r.steps, 0) / Math.max(1, req.results.length),
  };
  return summary;
}

/**
 * Whether an agent that never calls a tool passes this task: its DB stays initial, so it passes iff
 * the gold actions change nothing and there is nothing to communicate (the do-nothing agent's
 * 23/50, checked episode by episode in test/tasks/tau2/episode.test.ts).
 */
export function noopPasses(task: Tau2Task): boolean {
  return goldState(task).hash === new AirlineEnv().hash() && task.evaluation_criteria.communicate_info.length === 0;
}
