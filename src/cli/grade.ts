/**
 * `gepa-rl grade`: JSONL on stdin ({"task"|"grader", "gold", "completion"}), one JSON line out per
 * input with reward, correct, extracted, feedback — or {"line": n, "error": ...} for a bad line.
 *
 * Math lines ({"grader": "math"}, {"task": "math" | "aime"}) are decided by Math-Verify: they are
 * batched to the Python grader, which this command starts itself
 * (`python -m gepa_rl_trainer.grader --stdin`, the project's .venv or GEPA_RL_PYTHON), so it works
 * whether or not the stack is up. A math line may carry "settings" (Math-Verify's knobs:
 * {"extraction": ["latex", "expr"], "precision": 6, "strict": true, "allow_set_relation_comp": false});
 * runs always use its defaults.
 *
 * A tau2-airline line ({"task": "tau2-airline", "task_id" | "task_def", "messages", "termination"?})
 * is a recorded trajectory, graded by replaying its tool calls (src/tasks/tau2/trajectory.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { gradedByMathVerify, taskConfigSchema, TASK_NAMES, GRADER_NAMES } from '../config/task';
import { getTask, type Task } from '../tasks';
import { repoRoot } from '../tasks/datasets';
import { grade, type GraderName } from '../tasks/graders';
import { gradeTau2Line, type Tau2GradeLine } from '../tasks/tau2/trajectory';
import type { MathVerdict, ScoreResult } from '../types';

type Graded = { reward: number; correct: boolean; extracted: string | null; feedback: string } | Tau2GradeLine | { error: string };
/** A line waiting for Math-Verify: what to send, and how its verdict becomes the answer. */
interface NeedsVerdict {
  math: { gold: string; completion: string; settings?: unknown };
  finish: (v: MathVerdict) => ScoreResult;
}

const answer = (s: ScoreResult): Graded => ({ reward: s.reward, correct: s.correct, extracted: s.extracted, feedback: s.feedback });

/** One line: answered at once, or (math) the pair to send to Math-Verify. */
export function parseLine(obj: unknown): Graded | NeedsVerdict {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return { error: `expected a JSON object, got ${JSON.stringify(obj)?.slice(0, 80)}` };
  const o = obj as Record<string, unknown>;
  if (o.task === 'tau2-airline') return gradeTau2Line(o);
  if (typeof o.gold !== 'string' && typeof o.gold !== 'number') return { error: `"gold" must be a string or number (got ${JSON.stringify(o.gold)})` };
  const completion = typeof o.completion === 'string' ? o.completion : '';
  const gold = String(o.gold);
  let task: Task;
  let config;
  if (typeof o.grader === 'string') {
    if (!(GRADER_NAMES as readonly string[]).includes(o.grader)) return { error: `unknown grader ${JSON.stringify(o.grader)} (expected ${GRADER_NAMES.join(', ')})` };
    const grader = o.grader as GraderName;
    const pattern = typeof o.pattern === 'string' ? o.pattern : undefined;
    config = { env: 'jsonl', jsonl_grader: grader };
    task = { score: (_x, c, verdict) => grade(grader, gold, c, { pattern, verdict }) } as Task;
  } else if (typeof o.task === 'string') {
    if (!(TASK_NAMES as readonly string[]).includes(o.task) || o.task === 'jsonl') return { error: `unknown task ${JSON.stringify(o.task)} (expected ${TASK_NAMES.filter((t) => t !== 'jsonl').join(', ')})` };
    try {
      config = taskConfigSchema.parse({ env: o.task });
      task = getTask(config);
    } catch (e) {
      return { error: (e as Error).message };
    }
  } else return { error: 'each line needs "task" or "grader"' };
  const x = { id: 'grade', question: typeof o.question === 'string' ? o.question : '', answer: gold };
  if (!gradedByMathVerify(config)) return answer(task.score(x, completion));
  return { math: { gold: task.verifierGold?.(x) ?? gold, completion, settings: o.settings }, finish: (v) => task.score(x, completion, v) };
}

/** The interpreter that runs the Python grader: GEPA_RL_PYTHON, else the project's .venv. */
export function graderPython(): string {
  const p = process.env.GEPA_RL_PYTHON ?? path.join(repoRoot(), '.venv/bin/python');
  if (!existsSync(p)) throw new Error(`math lines need the Python grader, but ${p} does not exist: run \`make setup\` (or set GEPA_RL_PYTHON to a Python with math-verify and the trainer package)`);
  return p;
}

/**
 * The Python grader process this command starts (`python -m gepa_rl_trainer.grader --stdin`): a
 * batch of JSON lines and a blank line in, one answer per line out; one process for all batches.
 */
export class MathVerifier {
  private proc: ChildProcessWithoutNullStreams | null = null;
  private out: string[] = [];
  private buf = '';
  private err = '';
  private exited: number | null | undefined;
  private wake: (() => void) | null = null;

  private start(): ChildProcessWithoutNullStreams {
    const root = repoRoot();
    const proc = spawn(graderPython(), ['-m', 'gepa_rl_trainer.grader', '--stdin'], {
      cwd: root,
      env: { ...process.env, PYTHONPATH: [path.join(root, 'trainer'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.out = [];
    this.buf = '';
    this.err = '';
    this.exited = undefined;
    proc.stdout.on('data', (d) => {
      this.buf += d;
      const lines = this.buf.split('\n');
      this.buf = lines.pop()!;
      this.out.push(...lines.filter((l) => l.trim()));
      this.wake?.();
    });
    proc.stderr.on('data', (d) => (this.err = (this.err + d).slice(-4000)));
    proc.on('close', (code) => {
      this.exited = code;
      this.wake?.();
    });
    proc.on('error', (e) => {
      this.err += String(e);
      this.exited = null;
      this.wake?.();
    });
    proc.stdin.on('error', () => undefined); // a dead grader is reported by the answers missing
    return proc;
  }

  /** One verdict (or {error}) per pair, in order; a grader that dies fails this batch's lines only. */
  async grade(pairs: NeedsVerdict['math'][]): Promise<Array<MathVerdict | { error: string }>> {
    if (!pairs.length) return [];
    if (!this.proc) this.proc = this.start();
    this.proc.stdin.write(pairs.map((p) => JSON.stringify(p)).join('\n') + '\n\n');
    while (this.out.length < pairs.length && this.exited === undefined) await new Promise<void>((r) => (this.wake = r));
    this.wake = null;
    if (this.out.length < pairs.length) {
      const why = `the Math-Verify grader (${graderPython()} -m gepa_rl_trainer.grader --stdin) exited with ${this.exited} after ${this.out.length} of ${pairs.length} answers: ${this.err.trim().split('\n').slice(-3).join(' | ')}`;
      this.proc = null;
      return pairs.map(() => ({ error: why }));
    }
    return this.out.splice(0, pairs.length).map((l) => JSON.parse(l) as MathVerdict | { error: string });
  }

  async close(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || this.exited !== undefined) return;
    const done = new Promise((r) => p.once('close', r));
    p.stdin.end();
    await done;
  }
}

/** Math-Verify on one batch of pairs, by a grader process started for it. */
export async function mathVerifyBatch(pairs: NeedsVerdict['math'][]): Promise<Array<MathVerdict | { error: string }>> {
  const v = new MathVerifier();
  try {
    return await v.grade(pairs);
  } finally {
    await v.close();
  }
}

const BATCH = 256; // lines read before their math lines go to the grader together (answers to other lines stream out at once)

export async function runGrade(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<{ lines: number; errors: number }> {
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  let lines = 0;
  let errors = 0;
  let pending: Array<{ line: number; parsed: Graded | NeedsVerdict }> = [];
  const verifier = new MathVerifier();
  const flush = async () => {
    const math = pending.filter((p): p is { line: number; parsed: NeedsVerdict } => 'math' in p.parsed);
    const verdicts = await verifier.grade(math.map((p) => p.parsed.math));
    const byLine = new Map(math.map((p, i) => [p.line, verdicts[i]]));
    for (const p of pending) {
      let out: Record<string, unknown>;
      if ('math' in p.parsed) {
        const v = byLine.get(p.line)!;
        out = 'error' in v ? { error: v.error } : answer(p.parsed.finish(v));
      } else out = p.parsed;
      if ('error' in out) {
        errors++;
        out = { line: p.line, ...out };
      }
      output.write(JSON.stringify(out) + '\n');
    }
    pending = [];
  };
  try {
    for await (const line of rl) {
      if (!line.trim()) continue;
      lines++;
      let parsed: Graded | NeedsVerdict;
      try {
        parsed = parseLine(JSON.parse(line));
      } catch (e) {
        parsed = { error: `not JSON: ${(e as Error).message}` };
      }
      pending.push({ line: lines, parsed });
      // a line without a math verdict to wait for is answered at once (a caller that writes one line and
      // reads its answer, as bench/gepa's reference side does, must not wait for 256 lines)
      if (pending.length >= BATCH || !pending.some((p) => 'math' in p.parsed)) await flush();
    }
    await flush();
  } finally {
    await verifier.close();
  }
  return { lines, errors };
}
