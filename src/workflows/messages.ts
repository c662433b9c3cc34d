/**
 * Every message a client can send to or ask of a workflow (DESIGN §6), defined once: the workflows
 * register handlers for these exact definitions (control.ts, each workflow's `status`), and the CLI
 * and the alternation send them by import, never by string. Only definitions and types live here,
 * so a client process imports it without the workflow code.
 *
 * The GEPA-only queries `frontier` and `candidates` are defined beside gepaOptimization.
 */
import { defineQuery, defineSignal, defineUpdate, type QueryDefinition } from '@temporalio/workflow';
import type { WorkflowType } from '../constants';
import type { ExpertTotals } from '../core/expert';
import type { GepaSummary } from '../core/gepa';
import type { FastSlowState, PoolEntryView, Trial } from '../core/fastslow';

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Finish the current step cleanly, then return results. */
export const stopSignal = defineSignal('stop');
/** Replace the system prompt used from the next step on; returns the previous prompt. */
export const setPromptUpdate = defineUpdate<{ previous: string }, [string]>('set_prompt');

/** The `metrics` query: how many metrics rows this run has logged and the latest value of each metric. */
export interface MetricsSummary {
  rows: number;
  last_key: string | null;
  latest: Record<string, number | string | boolean | null>;
}
export const metricsQuery = defineQuery<MetricsSummary>('metrics');

/** What a progress count counts, per workflow type (see `progress` in each status below). */
export const PROGRESS_UNITS = ['problems', 'batches', 'steps', 'rounds', 'metric calls', 'phases'] as const;
export type ProgressUnit = (typeof PROGRESS_UNITS)[number];

/** How far a run has got: `done` of `total` (0 while the total is not known yet). The CLI draws this. */
export interface Progress {
  done: number;
  total: number;
  unit: ProgressUnit;
}

export function progress(done: number, total: number, unit: ProgressUnit): Progress {
  return { done, total, unit };
}

/** What every workflow's `status` answers, whatever else it adds. */
export interface StatusBase {
  phase: string;
  paused: boolean;
  progress: Progress;
}

/** evaluatePrompt's own status fields. */
export interface EvaluatePromptStatus {
  phase: 'starting' | 'sampling' | 'scoring' | 'done';
  done: number;
  total: number;
  accuracy: number | null;
}

/** What an RL loop's status says of its batches (rlTraining and fastSlowTraining). */
interface RlBatchStatus {
  phase: string;
  batch: number;
  n_batches: number;
  reward: number | null;
  accuracy: number | null;
  test_accuracy: number | null;
  checkpoint: string | null;
}

/** rlTraining's own status fields. */
export interface RlStatus extends RlBatchStatus {
  paused: boolean;
  system_prompt: string;
  /** what makes this run's numbers mean less than their names (e.g. off-policy sampling) */
  warnings: string[];
}

/** fastSlowTraining's own status fields: the prompt pool with each prompt's recent reward and whether it is on the front. */
export interface FastSlowStatus extends RlBatchStatus {
  /** test accuracy under the seed prompt at the last evaluation (test_accuracy: under the best pool prompt) */
  seed_test_accuracy: number | null;
  best_prompt_id: number;
  pool: PoolEntryView[];
  trial: Trial | null;
  counters: FastSlowState['counters'];
  warnings: string[];
}

/** The `status` query's answer of each workflow type (its own fields and the shared StatusBase). */
export interface Statuses {
  /** progress: problems scored */
  evaluatePrompt: EvaluatePromptStatus & StatusBase;
  /** progress: problems evaluated */
  evaluation: StatusBase & { step: number; total: number; accuracy: number | null };
  /** progress: problems traced */
  traceGeneration: StatusBase & { step: number; total: number };
  /** progress: optimiser steps */
  sftTraining: StatusBase & { step: number; total: number; loss: number | null; test_accuracy: number | null; checkpoint: string | null };
  /** progress: RL batches */
  rlTraining: RlStatus & StatusBase;
  /** progress: rounds */
  expertIteration: StatusBase &
    ExpertTotals & {
      round: number;
      n_rounds: number;
      step: number;
      total: number;
      accuracy: number | null;
      test_accuracy: number | null;
      buffer_size: number;
      checkpoint: string | null;
    };
  /** progress: metric calls of the budget; the GEPA fields once the seed is evaluated, the test scores at the end */
  gepaOptimization: StatusBase & Partial<GepaSummary> & { seed_val_score?: number; test_score?: number; seed_test_score?: number; n_test?: number };
  /** progress: phases (child workflows) finished; the running phase's own status is child_workflow_id's */
  gepaRlAlternation: StatusBase & {
    round: number | null;
    step: number;
    total: number;
    prompt_excerpt: string;
    checkpoint: string | null;
    test_accuracy: number | null;
    child_workflow_id: string | null;
  };
  /** progress: RL batches; the prompt pool with each prompt's recent reward and whether it is on the front */
  fastSlowTraining: FastSlowStatus & StatusBase;
}
export type StatusOf<W extends WorkflowType> = Statuses[W];
/** Any workflow's status, as a client that does not know the type sees it. */
export type AnyStatus = Statuses[WorkflowType];

/** One `status` definition per workflow type, each with its answer's type. */
export const statusQueries: { [W in WorkflowType]: QueryDefinition<StatusOf<W>> } = {
  evaluatePrompt: defineQuery('status'),
  evaluation: defineQuery('status'),
  traceGeneration: defineQuery('status'),
  sftTraining: defineQuery('status'),
  rlTraining: defineQuery('status'),
  expertIteration: defineQuery('status'),
  gepaOptimization: defineQuery('status'),
  gepaRlAlternation: defineQuery('status'),
  fastSlowTraining: defineQuery('status'),
};
/** `status` for a client that does not know the workflow's type (the CLI). */
export const statusQuery: QueryDefinition<AnyStatus> = defineQuery('status');
