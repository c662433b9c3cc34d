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
import { initialCheckpoint, replayToolCalls, runEpisode, type EpisodeCheckpoint } from '../tasks/tau2/orchestrator';
import type { BlobRef } from '../types';
import type { ScoredSample } from '../core/traces';
import { episodeTrace, summariseTau2, sumUsage, type EpisodeUsage, type Tau2EpisodeSummary, type Tau2EvaluationSummary } from '../core/tau2';

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

/** What a heartbeat carries: the checkpoint inline while small, else its blob ref. */
interface Heartbeat {
  checkpoint?: EpisodeCheckpoint;
  checkpoint_ref?: BlobRef;
  usage: CallUsage[];
}

const INLINE_CHECKPOINT_BYTES = 256_000;

function taskAt(req: Pick<Tau2EpisodeRequest, 'task' | 'split' | 'index'>): Tau2Task {
  const split = req.split === 'test' ? 'test' : 'train'; // val is train (see src/tasks/tau2/task.ts)
  const t = loadTau2Split(split)[req.index];
  if (!t) throw new Error(`tau2-airline ${req.split} split has ${loadTau2Split(split).length} tasks; index ${req.index} is out of range`);
  return t;
}

export function policyText(p: string): string {
  return !p.trim() || p === DEFAULT_SYSTEM_PROMPT ? airlinePolicy() : p;
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
  const view = {
    split: req.split,
    index: req.index,
    trial: req.trial,
    task_id: task.id,
    user_instruction: renderScenario(task),
    user_id: scenarioUserId(task),
    expected_actions: task.evaluation_criteria.actions.map((a) => a.name),
    messages: final.messages,
    grade: g,
  };
  result.sample = { ...episodeTrace(view), num_tokens: usage.reduce((a, u) => a + u.completion_tokens, 0), episode: summary };
  return result;
}

/** One blob of GEPA traces (ScoredSample[]) from finished episodes, as scoreRollouts writes for other tasks. */
export async function tau2CollectTraces(req: { samples: ScoredSample[]; blob_dir: string }): Promise<{ traces_ref: BlobRef }> {
  return { traces_ref: await new FileBlobStore(req.blob_dir).put(req.samples) };
}

/** The tau2 evaluation summary (pass^1..k, per-task table, refusal floor), written to tau2_evaluation.json. */
export async function writeTau2Evaluation(req: { run_dir: string; split: 'train' | 'val' | 'test'; traces_refs: BlobRef[] }): Promise<Tau2EvaluationSummary> {
  const samples = (await Promise.all(req.traces_refs.map((r) => readBlob<ScoredSample[]>(r)))).flat();
  const results = samples.map((s) => s.episode).filter((e): e is Tau2EpisodeSummary => !!e);
  if (results.length !== samples.length) throw new Error(`writeTau2Evaluation: ${samples.length - results.length} of ${samples.length} traces are not tau2 episodes`);
  const tasks = new Map(loadTau2Split(req.split === 'test' ? 'test' : 'train').map((t) => [t.id, t]));
  const summary = summariseTau2(results, (id) => noopPasses(tasks.get(id)!));
  await writeJsonAtomic(path.join(req.run_dir, 'tau2_evaluation.json'), summary);
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
