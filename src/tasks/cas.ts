/**
 * The computer-algebra check behind math grading, run on a worker thread so that no expression
 * can hang the caller (issue 3: a per-check time limit).
 *
 * Two limits guard each check:
 * - cooperative: the compute engine's own `withTimeLimit` span; most expensive expressions
 *   (`\sum_{n=1}^{10^9} n`, big binomials) stop there and the thread is reused;
 * - hard: the caller waits at most `timeLimitMs + HARD_GRACE_MS` and then terminates the thread
 *   (the engine does not check its deadline inside native BigInt arithmetic: `3^{3^{17}}` runs
 *   for ~20 s otherwise). The next check starts a fresh thread.
 *
 * The call stays synchronous (Atomics.wait on a shared flag, then receiveMessageOnPort), so
 * `Task.score` keeps its synchronous contract. The worker source is a string because the
 * thread must run plain JavaScript both from `dist/` and under jest's TypeScript transform.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/** How one pair (or list of alternative pairs) compared. */
export type CasVerdict = 'equal' | 'different' | 'unparseable' | 'timeout';

export const MATH_CHECK_TIME_LIMIT_MS = 2000;
const HARD_GRACE_MS = 500;
const STARTUP_LIMIT_MS = 60_000; // loading the engine is not the check's time

// Runs in the thread. For each [a, b] pair: parse both (invalid LaTeX -> unparseable); equal when
// the engine says so, when (with free variables) a - b simplifies to 0, or when (constants) both
// evaluate to the same finite real number (relative 1e-9). The first equal pair wins; a timeout stops the check.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.flag);
const port = workerData.port;
let ce;
try {
  const { ComputeEngine } = require(workerData.enginePath);
  ce = new ComputeEngine();
} catch (e) {
  port.postMessage(String(e && e.message));
  Atomics.store(flag, 1, 2);
  Atomics.notify(flag, 1);
  throw e;
}
function comparePair(a, b) {
  const ea = ce.parse(a);
  const eb = ce.parse(b);
  if (!ea.isValid || !eb.isValid) return 'unparseable';
  if (ea.isEqual(eb) === true) return 'equal';
  if (ea.unknowns.length || eb.unknowns.length) {
    try {
      return ce.box(['Subtract', ea, eb]).simplify().is(0) ? 'equal' : 'different';
    } catch (e) {
      if (e && e.name === 'CancellationError') throw e;
      return 'different';
    }
  }
  const va = ea.N().re;
  const vb = eb.N().re;
  if (Number.isFinite(va) && Number.isFinite(vb) && Math.abs(va - vb) <= 1e-9 * Math.max(1, Math.abs(vb))) return 'equal';
  return 'different';
}
port.on('message', ({ pairs, timeLimitMs }) => {
  let verdict = 'different';
  try {
    ce.withTimeLimit({ ms: timeLimitMs, label: 'math-check' }, () => {
      let sawValid = false;
      for (const [a, b] of pairs) {
        let v;
        try {
          v = comparePair(a, b);
        } catch (e) {
          if (e && e.name === 'CancellationError') throw e;
          v = 'different'; // e.g. RangeError: Maximum BigInt size exceeded
        }
        if (v === 'equal') { verdict = 'equal'; return; }
        if (v !== 'unparseable') sawValid = true;
      }
      verdict = sawValid ? 'different' : 'unparseable';
    });
  } catch (e) {
    verdict = e && e.name === 'CancellationError' ? 'timeout' : 'different';
  }
  port.postMessage(verdict);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
Atomics.store(flag, 1, 1);
Atomics.notify(flag, 1);
`;

interface CasThread {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
}

let thread: CasThread | null = null;

function startThread(): CasThread {
  const flag = new Int32Array(new SharedArrayBuffer(8)); // [0]: result posted, [1]: engine loaded
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { enginePath: require.resolve('@cortex-js/compute-engine'), flag: flag.buffer, port: port2 },
    transferList: [port2],
  });
  worker.unref(); // a grading thread never keeps the process alive
  port1.unref();
  worker.on('error', () => undefined); // a failed start is reported below, not as an unhandled event
  Atomics.wait(flag, 1, 0, STARTUP_LIMIT_MS);
  const state = Atomics.load(flag, 1);
  if (state !== 1) {
    void worker.terminate();
    const why = state === 2 ? `: ${String(receiveMessageOnPort(port1)?.message)}` : ` within ${STARTUP_LIMIT_MS} ms`;
    throw new Error(`the math-check thread (@cortex-js/compute-engine) did not start${why}`);
  }
  return { worker, port: port1, flag };
}

/**
 * Compare alternative [pred, gold] LaTeX pairs with the compute engine within `timeLimitMs`:
 * 'equal' as soon as one pair is equal, 'timeout' when the limit ran out first.
 */
export function casCompare(pairs: Array<[string, string]>, timeLimitMs = MATH_CHECK_TIME_LIMIT_MS): CasVerdict {
  if (!pairs.length) return 'different';
  const t = (thread ??= startThread());
  Atomics.store(t.flag, 0, 0);
  t.port.postMessage({ pairs, timeLimitMs });
  if (Atomics.wait(t.flag, 0, 0, timeLimitMs + HARD_GRACE_MS) === 'timed-out') {
    thread = null;
    void t.worker.terminate();
    return 'timeout';
  }
  const reply = receiveMessageOnPort(t.port);
  return (reply?.message as CasVerdict | undefined) ?? 'different';
}
