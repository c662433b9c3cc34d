/** The task registry (DESIGN §4.2). Tasks written in code register with registerTask. */
import type { TaskConfig } from '../config/task';
import { arithmeticTask } from './arithmetic';
import { aimeTask, gsm8kTask, hotpotqaTask, jsonlTask, mathTask } from './datasets';
import type { Example, Splits, Task } from './types';

export type { Example, Splits, Task } from './types';

const registry = new Map<string, (cfg: TaskConfig) => Task>([
  ['arithmetic', () => arithmeticTask],
  ['gsm8k', () => gsm8kTask],
  ['math', () => mathTask],
  ['aime', () => aimeTask],
  ['hotpotqa', () => hotpotqaTask],
  ['jsonl', jsonlTask],
]);

export function registerTask(name: string, factory: (cfg: TaskConfig) => Task): void {
  registry.set(name, factory);
}

export function getTask(cfg: TaskConfig): Task {
  const f = registry.get(cfg.env);
  if (!f) throw new Error(`unknown task ${JSON.stringify(cfg.env)} (known: ${[...registry.keys()].join(', ')})`);
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
export type { Example as TaskExample };
