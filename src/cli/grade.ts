/**
 * `gepa-rl grade`: JSONL on stdin ({"task"|"grader", "gold", "completion"}), one JSON line out per
 * input with reward, correct, extracted, feedback — or {"line": n, "error": ...} for a bad line.
 * A tau2-airline line ({"task": "tau2-airline", "task_id" | "task_def", "messages", "termination"?})
 * is a recorded trajectory, graded by replaying its tool calls (src/tasks/tau2/trajectory.ts).
 */
import * as readline from 'node:readline';
import { taskConfigSchema, TASK_NAMES, GRADER_NAMES } from '../config/task';
import { getTask } from '../tasks';
import { grade, type GraderName } from '../tasks/graders';
import { gradeTau2Line, type Tau2GradeLine } from '../tasks/tau2/trajectory';

export function gradeLine(obj: unknown): { reward: number; correct: boolean; extracted: string | null; feedback: string } | Tau2GradeLine | { error: string } {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return { error: `expected a JSON object, got ${JSON.stringify(obj)?.slice(0, 80)}` };
  const o = obj as Record<string, unknown>;
  if (o.task === 'tau2-airline') return gradeTau2Line(o);
  if (typeof o.gold !== 'string' && typeof o.gold !== 'number') return { error: `"gold" must be a string or number (got ${JSON.stringify(o.gold)})` };
  const completion = typeof o.completion === 'string' ? o.completion : '';
  const gold = String(o.gold);
  let s;
  if (typeof o.grader === 'string') {
    if (!(GRADER_NAMES as readonly string[]).includes(o.grader)) return { error: `unknown grader ${JSON.stringify(o.grader)} (expected ${GRADER_NAMES.join(', ')})` };
    s = grade(o.grader as GraderName, gold, completion, { pattern: typeof o.pattern === 'string' ? o.pattern : undefined });
  } else if (typeof o.task === 'string') {
    if (!(TASK_NAMES as readonly string[]).includes(o.task) || o.task === 'jsonl') return { error: `unknown task ${JSON.stringify(o.task)} (expected ${TASK_NAMES.filter((t) => t !== 'jsonl').join(', ')})` };
    let task;
    try {
      task = getTask(taskConfigSchema.parse({ env: o.task }));
    } catch (e) {
      return { error: (e as Error).message };
    }
    s = task.score({ id: 'grade', question: typeof o.question === 'string' ? o.question : '', answer: gold }, completion);
  } else return { error: 'each line needs "task" or "grader"' };
  return { reward: s.reward, correct: s.correct, extracted: s.extracted, feedback: s.feedback };
}

export async function runGrade(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<{ lines: number; errors: number }> {
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  let lines = 0;
  let errors = 0;
  for await (const line of rl) {
    if (!line.trim()) continue;
    lines++;
    let out: Record<string, unknown>;
    try {
      out = gradeLine(JSON.parse(line));
    } catch (e) {
      out = { error: `not JSON: ${(e as Error).message}` };
    }
    if ('error' in out) {
      errors++;
      out = { line: lines, ...out };
    }
    output.write(JSON.stringify(out) + '\n');
  }
  return { lines, errors };
}
