/** The task registry (DESIGN §4.2). Tasks written in code register with registerTask. */
import { ApplicationFailure } from '@temporalio/common';
import { bindTaskRegistry, type TaskConfig } from '../config/task';
import { arithmeticTask } from './arithmetic';
import { cookbookStyle } from './cookbook';
import { aimeTask, gsm8kTask, hotpotqaTask, jsonlTask, mathTask } from './datasets';
import type { Splits, Task } from './types';
import { FAILURE } from '../failures';
import { tau2AirlineTask } from './tau2/task';

export type { Example, Splits, Task } from './types';

const registry = new Map<string, (cfg: TaskConfig) => Task>([
  // style=cookbook: the same data asked and rewarded as tinker-cookbook math_rl does (cookbook.ts)
  ['arithmetic', (cfg) => (cfg.style === 'cookbook' ? cookbookStyle(arithmeticTask, 'arithmetic') : arithmeticTask)],
  ['gsm8k', (cfg) => (cfg.style === 'cookbook' ? cookbookStyle(gsm8kTask, 'gsm8k') : gsm8kTask)],
  ['math', (cfg) => (cfg.style === 'cookbook' ? cookbookStyle(mathTask, 'math') : mathTask)],
  ['aime', () => aimeTask],
  ['hotpotqa', () => hotpotqaTask],
  ['jsonl', jsonlTask],
  ['tau2-airline', () => tau2AirlineTask],
]);

bindTaskRegistry(() => [...registry.keys()]);

const NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/**
 * Register a task written in code. A config selects it with `env: name` (and `code_task: true`
 * when it runs through a workflow: the workflow sandbox cannot see this process's registry).
 * Register before parsing configs and before starting the worker.
 */
export function registerTask(name: string, factory: (cfg: TaskConfig) => Task): void {
  if (!NAME.test(name)) throw new Error(`registerTask: a task name is letters, digits, _ . - starting with a letter (got ${JSON.stringify(name)})`);
  registry.set(name, factory);
}

/** The task a config selects; an unknown name fails at once (retrying cannot help). */
export function getTask(cfg: TaskConfig): Task {
  const f = registry.get(cfg.env);
  if (!f) {
    throw ApplicationFailure.create({
      type: FAILURE.UnknownTask,
      nonRetryable: true,
      message: `unknown task ${JSON.stringify(cfg.env)} (known: ${[...registry.keys()].join(', ')}); a task written in code must be registered with registerTask in this worker process`,
    });
  }
  return f(cfg);
}

const cache = new Map<string, Promise<Splits>>();

/** Splits memoised per config (activities ask for them on every step). */
export function loadSplitsCached(cfg: TaskConfig): Promise<Splits> {
  const key = JSON.stringify(cfg);
  let p = cache.get(key);
  if (!p) {
    p = getTask(cfg).loadSplits(cfg);
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

export type { TaskConfig };
