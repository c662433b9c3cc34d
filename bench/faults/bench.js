#!/usr/bin/env node
/**
 * bench/faults: kill -9 a random process of the stack (trainer worker, TS worker, Temporal dev server,
 * local LM server) at random moments (seeded) while a run on the local model goes on, restart it with
 * the stack script, wait until the run completes an activity again, and so on N times per run. Then
 * check the run directory against the run's own history (children included):
 *   - completed;
 *   - rows: every row a completed appendRows activity wrote (metrics, prompts, proposals, samples,
 *     prompt changes) is in its file exactly once, and every checkpoint a completed train_step
 *     returned has exactly one row in checkpoints.jsonl (lost = missing, duplicated = more than once);
 *   - GEPA's metric calls: the rollouts its evaluations asked for equal the budget it paid
 *     (metric_calls), never above max_metric_calls; rollouts sampled again by a retried attempt are
 *     "repeated", and allowed only for an attempt that was in flight at a kill;
 *   - recovery per kill: from the kill to the next completed activity of the run, and to the moment
 *     every activity that was in flight at the kill had completed (its retry included).
 *   - nothing paid twice: every train_step (run id, step) and every reflection (proposeComponent) is
 *     scheduled once; an attempt done again is allowed only for one in flight at a kill; the
 *     reflection calls the run counted (its reflection_usage) equal those its completed reflections
 *     returned; fastSlowTraining's rollouts.jsonl (writeRolloutRows) has each planned rollout once,
 *     under the prompt the history planned;
 *   - with --unkilled, each workflow first runs once without kills (same seed) and the killed run must
 *     write the same row keys, train the same steps and reflect the same number of times;
 *   - no vLLM server left behind by a dead trainer worker.
 * A shuffled deck of process kinds (seeded) decides what dies, so every kind is killed once before any
 * is killed twice (a run without the LM server draws only the other kinds; vllm, the trainer worker's
 * vLLM child server, only while a policy.sampler=vllm run goes on, and then it and the trainer worker
 * only mid-batch: the engine is up and a policy_sample is in flight).
 *
 * Usage: node bench/faults/bench.js [--kills N] [--workflows rl,gepa,expert,alt,fs,vllm]
 *          [--procs trainer,worker,temporal,lm,vllm] [--seed S] [--delay MIN,MAX] [--parallel] [--gepa-p P]
 *          [--min-in-flight N] [--unkilled | --unkilled-id WORKFLOW_ID]
 * fs is fastSlowTraining (gepa-rl fast-slow, a GEPA round after every step); vllm is rlTraining with
 * policy.sampler=vllm. --min-in-flight N waits (up to 2 min) before each kill until the runs it hits
 * have N activities started and in flight (with --gepa-p 4: a kill with several iterations in flight).
 * --unkilled-id ID compares with a completed run of the same workflow, config and seed already on the
 * server (bench-faults-<key>-unkilled-... of an earlier --unkilled, or one started by hand with the same keys).
 * --gepa-p P runs the gepa workload with gepa.parallel_proposals=P and a budget that pays the seed
 * plus P iterations at once (3 + 7P metric calls, at least 15), so a kill finds P iterations in flight.
 * --parallel starts the runs at once and every kill hits each run going on then (that uses the killed
 * process): the same checks in about the time of the longest run, on a machine where one at a time
 * takes too long; the runs then also wait on each other for the one trainer worker.
 * The runs and kills are saved to .data/bench-faults-last.json; --check FILE runs the checks again.
 * --policy tiny-random trains the tests' tiny model instead of SmolLM2 (reflection and teacher stay
 * SmolLM2 on the LM server): the same processes and code paths, for a machine too busy for SmolLM2.
 * (bench/faults/run.sh builds and sets up first; ports from GEPA_RL_TEMPORAL_PORT / _UI_PORT / _LM_PORT.)
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
process.chdir(ROOT);
// the stack script's server (and every CLI call below) unless TEMPORAL_ADDRESS points elsewhere
process.env.TEMPORAL_ADDRESS ||= `localhost:${process.env.GEPA_RL_TEMPORAL_PORT || 7233}`;
const { Client, Connection } = require('@temporalio/client');
const { defaultPayloadConverter } = require('@temporalio/common');
const { connectSettings } = require(path.join(ROOT, 'dist/connection'));

const USAGE = 'usage: node bench/faults/bench.js [--kills N] [--workflows rl,gepa,expert,alt,fs,vllm] [--procs trainer,worker,temporal,lm,vllm] [--seed S] [--delay MIN,MAX] [--parallel] [--gepa-p P] [--min-in-flight N] [--unkilled | --unkilled-id ID] [--policy MODEL] [--check <stack dir>/bench-faults-last.json]';
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  if (process.argv[i + 1] === undefined) throw new Error(`--${name} needs a value. ${USAGE}`);
  return process.argv[i + 1];
};
const KINDS = ['trainer', 'worker', 'temporal', 'lm', 'vllm'];
const KILLS = Number(arg('kills', '2'));
const WORKFLOWS = arg('workflows', 'rl,gepa,expert,alt,fs').split(',');
const PROCS = arg('procs', KINDS.join(',')).split(',');
const [DELAY_MIN, DELAY_MAX] = arg('delay', '10,40').split(',').map(Number);
const PARALLEL = process.argv.includes('--parallel');
const CHECK = arg('check', null);
const GEPA_P = Number(arg('gepa-p', '1'));
const MIN_IN_FLIGHT = Number(arg('min-in-flight', '0'));
const UNKILLED = process.argv.includes('--unkilled');
// a completed unkilled run of the same config and seed (for one workflow), instead of running one again
const UNKILLED_ID = arg('unkilled-id', null);
// the stack script's state folder (scripts/stack.sh: GEPA_RL_STACK_DIR, relative to the repository root, else .data)
const STACK_DIR = path.resolve(ROOT, process.env.GEPA_RL_STACK_DIR || '.data');
let seed = Number(arg('seed', '1'));
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// small enough for a few minutes per run on a busy CPU, big enough for several activities per kill
const POLICY = arg('policy', 'smollm2-135m-instruct');
const MODEL = [`policy.base_model=${POLICY}`, 'policy.max_tokens=12', 'task.n_val=3', 'task.n_test=2'];
const RUNS = {
  rl: { cmd: 'rl', type: 'rlTraining', lm: false, args: ['env=arithmetic', 'n_batches=6', 'groups_per_batch=2', 'group_size=2', 'eval_every=0', 'n_eval=2', ...MODEL] },
  // val 3, minibatch 2: the seed costs 3, an iteration at most 2 + 2 + 3 = 7
  gepa: {
    cmd: 'gepa',
    type: 'gepaOptimization',
    lm: true,
    args: ['env=arithmetic', `max_metric_calls=${Math.max(15, 3 + 7 * GEPA_P)}`, 'gepa.minibatch_size=2', 'gepa.parallelism=2', `gepa.parallel_proposals=${GEPA_P}`, 'reflection.max_tokens=128', ...MODEL],
  },
  expert: {
    cmd: 'expert-iteration',
    type: 'expertIteration',
    lm: true,
    args: ['env=arithmetic', 'expert.n_rounds=2', 'expert.problems_per_round=2', 'expert.attempts_per_problem=2', 'teacher.max_tokens=48', 'n_eval=2', ...MODEL],
  },
  alt: {
    cmd: 'gepa-rl',
    type: 'gepaRlAlternation',
    lm: true,
    args: ['env=arithmetic', 'n_rounds=1', 'rl_batches_per_round=2', 'skip_first_gepa=false', 'gepa_iterations=1', 'max_metric_calls=10', 'gepa.minibatch_size=2', 'gepa.parallelism=2', 'groups_per_batch=2', 'group_size=2', 'reflection.max_tokens=128', 'n_eval=2', ...MODEL],
  },
  // one-digit sums so SmolLM2 gets some right at 12 tokens: groups with a reward spread, so steps train
  // a GEPA round (one reflection) after every step but the last, its child on trial in the next
  fs: {
    cmd: 'fast-slow',
    type: 'fastSlowTraining',
    lm: true,
    args: ['env=arithmetic', 'task.arithmetic_digits=1', 'n_batches=4', 'groups_per_batch=2', 'group_size=4', 'fast_slow.gepa_every=1', 'fast_slow.score_window=2', 'eval_every=0', 'n_eval=2', 'reflection.max_tokens=128', ...MODEL],
  },
  vllm: {
    cmd: 'rl',
    type: 'rlTraining',
    lm: false,
    vllm: true,
    args: ['env=arithmetic', 'task.arithmetic_digits=1', 'policy.sampler=vllm', 'n_batches=4', 'groups_per_batch=2', 'group_size=4', 'eval_every=0', 'n_eval=2', ...MODEL],
  },
};
const SAMPLING = ['policy_sample', 'apiSample', 'tau2Episode'];

function checkArgs() {
  const bad = [];
  if (!Number.isInteger(KILLS) || KILLS < 0) bad.push(`--kills must be a whole number >= 0 (got ${arg('kills')})`);
  for (const w of WORKFLOWS) if (!RUNS[w]) bad.push(`--workflows: unknown workflow ${w} (expected some of ${Object.keys(RUNS).join(',')})`);
  if (!Number.isInteger(MIN_IN_FLIGHT) || MIN_IN_FLIGHT < 0) bad.push(`--min-in-flight must be a whole number >= 0 (got ${arg('min-in-flight')})`);
  if (!Number.isInteger(GEPA_P) || GEPA_P < 1) bad.push(`--gepa-p must be a whole number >= 1 (got ${arg('gepa-p')})`);
  for (const p of PROCS) if (!KINDS.includes(p)) bad.push(`--procs: unknown process ${p} (expected some of ${KINDS.join(',')})`);
  if (!(DELAY_MIN >= 0 && DELAY_MAX >= DELAY_MIN)) bad.push(`--delay must be MIN,MAX seconds with 0 <= MIN <= MAX (got ${arg('delay')})`);
  if (bad.length) throw new Error(`${bad.join('\n')}\n${USAGE}`);
}

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
const stackUp = (lm) => {
  const r = sh('bash', ['scripts/stack.sh', 'up', ...(lm ? [] : ['--no-lm'])]);
  if (r.code !== 0) throw new Error(`stack up failed:\n${r.out}`);
  return r.out;
};
const pidFile = (name) => {
  try {
    return Number(fs.readFileSync(path.join(STACK_DIR, 'pids', `${name}.pid`), 'utf8').trim());
  } catch {
    return null;
  }
};
/** Processes whose command line holds vllm_server.py: pid, port and the trainer worker (--parent-pid) that started it. */
function vllmServers() {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let argv;
    try {
      argv = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv.some((a) => a.endsWith('vllm_server.py'))) continue;
    const opt = (k) => Number(argv[argv.indexOf(k) + 1]);
    let state = '';
    try {
      state = fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.[0] ?? '';
    } catch {
      continue;
    }
    if (state !== 'Z') out.push({ pid: Number(d), port: opt('--port'), parent: opt('--parent-pid') });
  }
  return out;
}
/** The vLLM server of this stack's trainer worker (the only one whose --parent-pid is our trainer), or null. */
const vllmOf = () => vllmServers().find((v) => v.parent === pidFile('trainer')) ?? null;
const pidOf = (name) => (name === 'vllm' ? (vllmOf()?.pid ?? null) : pidFile(name));
// the vLLM server binds its port only once the engine has loaded, and answers one request at a time
// (/health waits while a batch generates), so "up" is: it accepts a connection
const listening = (port) =>
  new Promise((resolve) => {
    const sock = require('node:net').connect({ host: '127.0.0.1', port }, () => (sock.destroy(), resolve(true)));
    sock.on('error', () => resolve(false));
    sock.setTimeout(3000, () => (sock.destroy(), resolve(false)));
  });

/** Process kinds in a seeded shuffled order; every kind is drawn once before any is drawn again. */
const deck = [];
function drawKind(available) {
  for (;;) {
    if (!deck.some((k) => available.includes(k))) {
      const fresh = PROCS.filter((k) => !deck.includes(k));
      for (let i = fresh.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [fresh[i], fresh[j]] = [fresh[j], fresh[i]];
      }
      deck.push(...fresh);
    }
    const i = deck.findIndex((k) => available.includes(k));
    if (i >= 0) return deck.splice(i, 1)[0];
  }
}

const jsonl = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } }) : []);
const ms = (t) => Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
const decode = (p) => (p?.payloads ?? []).map((x) => defaultPayloadConverter.fromPayload(x));

/** The run's histories: the root and every child (recursively), each with its workflow type and id. */
async function histories(client, workflowId) {
  const out = [];
  const todo = [workflowId];
  while (todo.length) {
    const id = todo.shift();
    const events = (await client.workflow.getHandle(id).fetchHistory()).events;
    const type = events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
    out.push({ id, type, events });
    for (const e of events) {
      const a = e.startChildWorkflowExecutionInitiatedEventAttributes;
      if (a) todo.push(a.workflowId);
    }
  }
  return out;
}

/** Activities of one history: scheduled (type, id, input), started attempt, completion time and result. */
function activities(h) {
  const byEvent = new Map();
  for (const e of h.events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) byEvent.set(String(e.eventId), { wf: h.id, id: s.activityId, type: s.activityType.name, input: decode(s.input)[0], attempt: 1, done: null, result: undefined });
    const st = e.activityTaskStartedEventAttributes;
    if (st) Object.assign(byEvent.get(String(st.scheduledEventId)), { attempt: st.attempt, startedAt: ms(e.eventTime) });
    const c = e.activityTaskCompletedEventAttributes;
    if (c) Object.assign(byEvent.get(String(c.scheduledEventId)), { done: ms(e.eventTime), result: decode(c.result)[0] });
  }
  return [...byEvent.values()];
}

/**
 * Activities in flight (root and running children): `${workflowId}/${activityId}`. With `startedBy`:
 * only those a worker had started by then (asked right after a kill, before the restart: what the
 * dead process held, which the server still counts as running; the snapshot before the kill can miss
 * a call dispatched in between).
 */
async function inFlight(client, workflowId, startedBy) {
  const ids = [workflowId];
  try {
    const hs = await histories(client, workflowId);
    ids.push(...hs.slice(1).map((h) => h.id));
  } catch {
    return [];
  }
  const out = [];
  for (const id of ids) {
    const d = await client.workflow.getHandle(id).describe().catch(() => null);
    if (!d || d.status.name !== 'RUNNING') continue;
    for (const p of d.raw.pendingActivities ?? []) {
      const started = p.lastStartedTime ? ms(p.lastStartedTime) : null;
      if (startedBy === undefined || (started !== null && started <= startedBy && (p.state === 2 || p.state === 'PENDING_ACTIVITY_STATE_STARTED'))) out.push(`${id}/${p.activityId}`);
    }
  }
  return out;
}

/** Activities a worker has started and not completed (root and running children), with their types. */
async function startedNow(client, workflowId) {
  const out = [];
  let ids = [workflowId];
  try {
    ids = (await histories(client, workflowId)).map((h) => h.id);
  } catch {
    return out;
  }
  for (const id of ids) {
    const d = await client.workflow.getHandle(id).describe().catch(() => null);
    if (!d || d.status.name !== 'RUNNING') continue;
    for (const p of d.raw.pendingActivities ?? []) if (p.state === 2 || p.state === 'PENDING_ACTIVITY_STATE_STARTED') out.push({ key: `${id}/${p.activityId}`, type: p.activityType?.name });
  }
  return out;
}

/**
 * Waits (up to capMs) until a kill of `name` hits what it should: vllm, and the trainer worker while a
 * vllm run goes on, only mid-batch (the engine has listened for 10 s and a policy_sample of a vllm run is in flight); with --min-in-flight N, N started
 * activities in the runs. False when that moment did not come (the runs ended, or the cap).
 */
const midBatch = (name, runs) => name === 'vllm' || (name === 'trainer' && runs.some((r) => r.spec.vllm));
async function readyToKill(client, runs, name, capMs) {
  const until = Date.now() + capMs;
  let healthySince = null; // the engine has listened since then (the trainer polls its /health: 10 s and it has seen it up, so the kill is mid-batch, not mid-load)
  while (Date.now() < until) {
    const live = [];
    for (const r of runs) if (r.running && (await isRunning(client, r))) live.push(r);
    if (!live.length) return false;
    const started = (await Promise.all(live.map((r) => startedNow(client, r.id)))).flat();
    let ok = started.length >= MIN_IN_FLIGHT;
    if (midBatch(name, live)) {
      const v = vllmOf();
      const vllmRuns = live.filter((r) => r.spec.vllm);
      const sampling = (await Promise.all(vllmRuns.map((r) => startedNow(client, r.id)))).flat().some((a) => a.type === 'policy_sample');
      const healthy = v !== null && (await listening(v.port));
      healthySince = healthy ? (healthySince ?? Date.now()) : null;
      ok = ok && sampling && healthy && Date.now() - healthySince >= 10_000;
    }
    if (ok) return true;
    await sleep(1000);
  }
  return false;
}

/** Waits until the run has completed an activity after `t` (or closed); the time of that completion, or null. */
async function nextCompletion(client, workflowId, t, capMs) {
  const until = Date.now() + capMs;
  while (Date.now() < until) {
    try {
      const hs = await histories(client, workflowId);
      const done = hs.flatMap(activities).map((a) => a.done).filter((d) => d !== null && d > t);
      if (done.length) return Math.min(...done);
      const d = await client.workflow.getHandle(workflowId).describe();
      if (d.status.name !== 'RUNNING') return null;
    } catch {
      // the Temporal server is restarting: ask again
    }
    await sleep(2000);
  }
  return null;
}

/** Rows of the run folders checked against the rows and checkpoints the history says were written. */
function checkRows(acts) {
  const expected = new Map(); // file path -> Set of keys
  for (const a of acts) {
    if (a.type !== 'appendRows' || a.done === null) continue;
    const f = path.resolve(a.input.run_dir, a.input.file);
    if (!expected.has(f)) expected.set(f, new Set());
    for (const r of a.input.rows) expected.get(f).add(r.key);
  }
  // fastSlowTraining's rollouts.jsonl: row k of step s is keyed fs-s-k and carries the prompt the history planned for it
  const plannedPrompt = new Map(); // file path -> key -> prompt id
  for (const a of acts) {
    if (a.type !== 'writeRolloutRows' || a.done === null) continue;
    const f = path.resolve(a.input.run_dir, 'rollouts.jsonl');
    if (!expected.has(f)) (expected.set(f, new Set()), plannedPrompt.set(f, new Map()));
    a.input.row_prompt.forEach((pid, k) => (expected.get(f).add(`fs-${a.input.step}-${k}`), plannedPrompt.get(f).set(`fs-${a.input.step}-${k}`, pid)));
  }
  let lost = 0;
  let dup = 0;
  const detail = [];
  for (const [f, want] of plannedPrompt) {
    for (const r of jsonl(f)) {
      if (want.has(r.key) && want.get(r.key) !== r.prompt_id) (lost++, detail.push(`${path.relative(ROOT, f)} ${r.key} under prompt ${r.prompt_id}, planned ${want.get(r.key)}`));
    }
  }
  for (const [f, keys] of expected) {
    const counts = new Map();
    for (const r of jsonl(f)) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
    for (const k of keys) {
      const n = counts.get(k) ?? 0;
      if (n === 0) (lost++, detail.push(`lost ${path.relative(ROOT, f)} ${k}`));
      if (n > 1) (dup += n - 1, detail.push(`${n}x ${path.relative(ROOT, f)} ${k}`));
    }
  }
  const ckRows = new Map(); // index file -> rows
  for (const a of acts) {
    if (a.type !== 'train_step' || a.done === null) continue;
    const out = path.resolve(a.result.checkpoint_out);
    const index = path.join(path.dirname(path.dirname(out)), 'checkpoints.jsonl');
    if (!ckRows.has(index)) ckRows.set(index, jsonl(index));
    const n = ckRows.get(index).filter((r) => path.resolve(r.path) === out).length;
    if (n === 0) (lost++, detail.push(`lost checkpoint row ${path.relative(ROOT, out)}`));
    if (n > 1) (dup += n - 1, detail.push(`${n}x checkpoint row ${path.relative(ROOT, out)}`));
    const done = fs.existsSync(path.join(out, 'DONE'));
    const pruned = ckRows.get(index).some((r) => path.resolve(r.path) === out && r.pruned);
    if (!done && !pruned) (lost++, detail.push(`checkpoint ${path.relative(ROOT, out)} is neither complete nor pruned`));
  }
  for (const [index, rows] of ckRows) {
    const steps = rows.map((r) => r.step);
    const extra = steps.length - new Set(steps).size;
    if (extra) (dup += extra, detail.push(`${extra} repeated steps in ${path.relative(ROOT, index)}`));
  }
  return { lost, dup, detail, rowsChecked: [...expected.values()].reduce((n, s) => n + s.size, 0) + [...ckRows.values()].reduce((n, r) => n + r.length, 0) };
}

/**
 * GEPA's metric calls per gepaOptimization history: asked = rollouts of its evaluations (the indices
 * of every buildPrompts, times the rollouts per problem); paid = metric_calls of its result; repeated =
 * rollouts sampled again by a retried sampling attempt, split into those in flight at a kill and the rest.
 */
function checkMetricCalls(hs, acts, pendingAtKills) {
  let repeatedInFlight = 0;
  let repeatedBeyond = 0;
  let mismatch = 0;
  let over = false;
  const notes = [];
  const sizeOf = new Map(); // prompts_ref uri -> problems
  for (const a of acts) if (a.type === 'buildPrompts' && a.result) sizeOf.set(a.result.prompts_ref.uri, a.input.indices.length);
  for (const a of acts) {
    if (!SAMPLING.includes(a.type) || a.attempt <= 1) continue;
    const n = a.type === 'tau2Episode' ? 1 : (sizeOf.get(a.input.prompts_ref?.uri) ?? 0) * (a.input.num_samples ?? 1);
    const redone = n * (a.attempt - 1);
    if (pendingAtKills.has(`${a.wf}/${a.id}`)) repeatedInFlight += redone;
    else repeatedBeyond += redone;
  }
  for (const h of hs) {
    if (h.type !== 'gepaOptimization') continue;
    const end = h.events.find((e) => e.workflowExecutionCompletedEventAttributes);
    if (!end) continue;
    const res = decode(end.workflowExecutionCompletedEventAttributes.result)[0];
    const k = decode(h.events[0].workflowExecutionStartedEventAttributes.input)[0]?.gepa?.rollouts_per_problem ?? 1;
    const asked = activities(h).filter((a) => a.type === 'buildPrompts' && a.done !== null).reduce((s, a) => s + a.input.indices.length * k, 0);
    if (asked !== res.metric_calls) (mismatch += Math.abs(asked - res.metric_calls), notes.push(`${h.id}: evaluations asked ${asked} rollouts, metric_calls ${res.metric_calls}`));
    if (res.metric_calls > res.max_metric_calls) (over = true, notes.push(`${h.id}: metric_calls ${res.metric_calls} > limit ${res.max_metric_calls}`));
  }
  return { repeatedInFlight, repeatedBeyond, mismatch, over, notes };
}

/**
 * Work that costs (a train step, a reflection): each scheduled once (train_step per trainer run id and
 * step, proposeComponent per workflow, reflection seed and component), attempts done again split into
 * those in flight at a kill and the rest; the reflection calls each run counted (reflection_usage)
 * against the calls its completed reflections returned.
 */
function checkPaidTwice(hs, acts, pendingAtKills) {
  const PAID = { train_step: (a) => `${a.input.run_id}/${a.input.step}`, proposeComponent: (a) => `${a.wf}/${JSON.stringify(a.input.seed)}/${a.input.component}` };
  const out = { notes: [] };
  for (const [type, keyOf] of Object.entries(PAID)) {
    const mine = acts.filter((a) => a.type === type);
    const byKey = new Map();
    for (const a of mine) byKey.set(keyOf(a), (byKey.get(keyOf(a)) ?? 0) + 1);
    const twice = [...byKey.values()].reduce((n, c) => n + c - 1, 0);
    let inFlight = 0;
    let beyond = 0;
    for (const a of mine) {
      if (a.attempt <= 1) continue;
      if (pendingAtKills.has(`${a.wf}/${a.id}`)) inFlight += a.attempt - 1;
      else beyond += a.attempt - 1;
    }
    if (twice) out.notes.push(`${type}: ${twice} scheduled twice`);
    out[type] = { scheduled: mine.length, done: mine.filter((a) => a.done !== null).length, twice, inFlight, beyond };
  }
  // reflection calls: the run's own count against what its completed reflections returned
  let counted = 0;
  let returned = 0;
  for (const h of hs) {
    const got = activities(h).filter((a) => a.type === 'proposeComponent' && a.done !== null).reduce((n, a) => n + (a.result?.calls ?? 0), 0);
    let usage = null;
    if (h.type === 'gepaOptimization') {
      const end = h.events.find((e) => e.workflowExecutionCompletedEventAttributes);
      usage = end ? decode(end.workflowExecutionCompletedEventAttributes.result)[0]?.reflection_usage : null;
    } else if (h.type === 'fastSlowTraining') {
      const dir = activities(h).find((a) => a.type === 'appendRows')?.input.run_dir;
      try {
        usage = JSON.parse(fs.readFileSync(path.join(dir, 'fast_slow/pool.json'), 'utf8')).reflection_usage;
      } catch {
        usage = null;
      }
    } else continue;
    if (!usage) continue;
    counted += usage.calls;
    returned += got;
    if (usage.calls !== got) out.notes.push(`${h.id}: reflection_usage.calls ${usage.calls}, its completed reflections returned ${got}`);
  }
  out.reflectionCalls = { counted, returned };
  out.bad = out.train_step.twice + out.train_step.beyond + out.proposeComponent.twice + out.proposeComponent.beyond + (counted !== returned ? 1 : 0);
  return out;
}

/** What a run's folders and history hold, to compare a killed run with an unkilled one of the same seed. */
function footprint(acts) {
  const keys = {}; // run-dir-relative file -> sorted keys
  const dirs = [...new Set(acts.filter((a) => a.input?.run_dir).map((a) => a.input.run_dir))];
  const rollouts = new Map();
  for (const dir of dirs) {
    for (const f of ['metrics.jsonl', 'proposals.jsonl', 'prompts.jsonl', 'samples.jsonl', 'rollouts.jsonl', 'checkpoints.jsonl']) {
      const rows = jsonl(path.join(dir, f));
      if (!rows.length) continue;
      const name = `${dirs.indexOf(dir)}/${f}`;
      keys[name] = [...new Set(rows.map((r) => r.key ?? `step-${r.step}`))].sort();
      if (f === 'rollouts.jsonl') for (const r of rows) rollouts.set(`${name}/${r.key}`, JSON.stringify([r.prompt_id, r.reward, r.output]));
    }
  }
  const trainSteps = acts.filter((a) => a.type === 'train_step' && a.done !== null).map((a) => a.input.step).sort((a, b) => a - b);
  const reflections = acts.filter((a) => a.type === 'proposeComponent' && a.done !== null).length;
  return { keys, rollouts: Object.fromEntries(rollouts), trainSteps, reflections };
}

/** Differences between a killed run's footprint and its unkilled twin's: what must match, and rollouts whose content differs. */
function compareFootprints(killed, clean) {
  const diffs = [];
  for (const f of new Set([...Object.keys(killed.keys), ...Object.keys(clean.keys)])) {
    const a = killed.keys[f] ?? [];
    const b = clean.keys[f] ?? [];
    const missing = b.filter((k) => !a.includes(k));
    const extra = a.filter((k) => !b.includes(k));
    if (missing.length || extra.length) diffs.push(`${f}: ${missing.length} keys of the unkilled run missing (${missing.slice(0, 3).join(',')}), ${extra.length} extra (${extra.slice(0, 3).join(',')})`);
  }
  if (killed.trainSteps.join(',') !== clean.trainSteps.join(',')) diffs.push(`train steps ${killed.trainSteps.join(',')} vs unkilled ${clean.trainSteps.join(',')}`);
  if (killed.reflections !== clean.reflections) diffs.push(`reflections ${killed.reflections} vs unkilled ${clean.reflections}`);
  const contentDiffers = Object.keys(clean.rollouts).filter((k) => k in killed.rollouts && killed.rollouts[k] !== clean.rollouts[k]).length;
  return { diffs, contentDiffers, trainSteps: clean.trainSteps.length, reflections: clean.reflections };
}

/** Starts one run (the CLI, detached); returns its state for the kill loop and the checks. */
function startRun(key, tag = '') {
  const spec = RUNS[key];
  const id = `bench-faults-${key}${tag}-${Date.now()}`;
  const start = sh('node', ['dist/cli/main.js', spec.cmd, '--detach', '--id', id, 'seed=3', ...spec.args]);
  if (start.code !== 0) throw new Error(`start of ${key} failed:\n${start.out}`);
  return { key, spec, id, t0: Date.now(), killLog: [], running: true };
}

const isRunning = async (client, run) => {
  const d = await client.workflow.getHandle(run.id).describe().catch(() => null);
  return d === null || d.status.name === 'RUNNING'; // unknown while the server restarts: still running
};

/**
 * Kills until every run has seen `kills` kills of a process it uses (the LM server only for runs that
 * call it) or has finished. One kill at a time; the next only after every run it hit completed an
 * activity again, so each recovery is measured alone.
 */
const trainerPids = new Set(); // trainer workers this bench killed: a vLLM server of theirs still alive at the end is left behind
async function killLoop(client, runs, kills) {
  const anyLm = runs.some((r) => r.spec.lm);
  for (;;) {
    for (const r of runs) if (r.running) r.running = await isRunning(client, r);
    const want = runs.filter((r) => r.running && r.killLog.length < kills);
    if (!want.length) return;
    await sleep((DELAY_MIN + rand() * (DELAY_MAX - DELAY_MIN)) * 1000);
    const kinds = PROCS.filter((p) => (p !== 'lm' || want.some((r) => r.spec.lm)) && (p !== 'vllm' || want.some((r) => r.spec.vllm)));
    if (!kinds.length) return;
    const name = drawKind(kinds);
    const mid = midBatch(name, want);
    if ((mid || MIN_IN_FLIGHT > 0) && !(await readyToKill(client, want, name, mid ? 15 * 60_000 : 2 * 60_000))) {
      process.stdout.write(`  (no moment to kill ${name}${mid ? ' mid-batch' : ` with ${MIN_IN_FLIGHT} in flight`} came; the kill is skipped)\n`);
      continue;
    }
    const pid = pidOf(name);
    if (!pid) {
      deck.unshift(name);
      continue;
    }
    if (name === 'trainer') trainerPids.add(pid);
    const hit = [];
    const hits = (r) => r.running && (name !== 'lm' || r.spec.lm) && (name !== 'vllm' || r.spec.vllm);
    const waited = mid || MIN_IN_FLIGHT > 0;
    // after a wait for the moment, kill at once (what is in flight is asked right after, from the
    // dead process's started activities); otherwise snapshot first (a Temporal kill leaves no one to ask)
    if (!waited) for (const r of runs) if (hits(r) && (await isRunning(client, r))) hit.push({ r, pending: await inFlight(client, r.id) });
    process.kill(pid, 'SIGKILL');
    const at = Date.now();
    if (waited) for (const r of runs) if (hits(r)) hit.push({ r, pending: [] });
    if (name !== 'temporal') for (const h of hit) h.pending = [...new Set([...h.pending, ...(await inFlight(client, h.r.id, at))])];
    const up = stackUp(anyLm);
    const restartS = (Date.now() - at) / 1000;
    process.stdout.write(`  kill -9 ${name} (pid ${pid}): hits ${hit.map((h) => `${h.r.key} (+${((at - h.r.t0) / 1000).toFixed(0)}s, ${h.pending.length} in flight)`).join(', ') || 'no run'}; restarted in ${restartS.toFixed(0)}s${/healthy after/.test(up) ? '' : ' (nothing to restart)'}\n`);
    for (const h of hit) h.r.killLog.push({ name, at, pending: h.pending, restartS });
    await Promise.all(
      hit.map(async (h) => {
        const next = await nextCompletion(client, h.r.id, at, 30 * 60_000);
        process.stdout.write(`  ${h.r.key}: ${next === null ? 'no activity completed after the kill' : `next activity completed ${((next - at) / 1000).toFixed(0)}s after the kill`}\n`);
      }),
    );
  }
}

/** Waits for the run's end and checks its folder and history. */
async function finishRun(client, run) {
  const { key, spec, id, t0, killLog } = run;
  const handle = client.workflow.getHandle(id);
  let status = 'TIMEOUT';
  try {
    await Promise.race([handle.result(), sleep(90 * 60_000).then(() => Promise.reject(new Error('timeout')))]);
    status = 'COMPLETED';
  } catch (e) {
    status = (await handle.describe().catch(() => ({ status: { name: String(e.message) } }))).status.name;
  }
  const hs = await histories(client, id);
  const acts = hs.flatMap(activities);
  const closed = hs[0].events.at(-1);
  const wallS = (ms(closed.eventTime) - t0) / 1000;
  const completions = acts.map((a) => a.done).filter((d) => d !== null).sort((a, b) => a - b);
  const recovery = killLog.map((k) => {
    const next = completions.find((t) => t > k.at);
    const inflight = acts.filter((a) => k.pending.includes(`${a.wf}/${a.id}`));
    const allDone = inflight.length && inflight.every((a) => a.done !== null) ? Math.max(...inflight.map((a) => a.done)) : null;
    // a retried attempt's start (the history keeps the last attempt's): when Temporal gave the work to a live worker again
    const retried = inflight.filter((a) => a.attempt > 1 && a.startedAt > k.at);
    return {
      name: k.name,
      retry: retried.length ? (Math.max(...retried.map((a) => a.startedAt)) - k.at) / 1000 : undefined,
      next: next === undefined ? null : (next - k.at) / 1000,
      inflight: inflight.length ? (allDone === null ? null : (allDone - k.at) / 1000) : undefined,
      types: [...new Set(inflight.map((a) => a.type))],
    };
  });
  const pendingAtKills = new Set(killLog.flatMap((k) => k.pending));
  const rows = checkRows(acts);
  const calls = checkMetricCalls(hs, acts, pendingAtKills);
  const paid = checkPaidTwice(hs, acts, pendingAtKills);
  const cmp = run.clean ? compareFootprints(footprint(acts), run.clean) : null;
  for (const d of [...rows.detail, ...calls.notes, ...paid.notes, ...(cmp?.diffs ?? [])].slice(0, 20)) process.stdout.write(`  ${key}: ${d}\n`);
  return { key, type: spec.type, status, kills: killLog.length, rows, calls, paid, cmp, recovery, wallS, maxInFlight: Math.max(0, ...killLog.map((k) => k.pending.length)) };
}

async function main() {
  checkArgs();
  const settings = connectSettings();
  stackUp(WORKFLOWS.some((w) => RUNS[w].lm));
  const connection = await Connection.connect(settings.connectionOptions);
  const client = new Client({ connection, namespace: settings.namespace });
  const results = [];
  const saved = path.join(STACK_DIR, 'bench-faults-last.json');
  // the same workflow with the same seed and no kills: what the killed run must match
  const unkilled = async (w) => {
    if (UNKILLED_ID) {
      console.log(`  ${RUNS[w].type} unkilled: ${UNKILLED_ID} (given)`);
      return footprint((await histories(client, UNKILLED_ID)).flatMap(activities));
    }
    const t = Date.now();
    const run = startRun(w, '-unkilled');
    await client.workflow.getHandle(run.id).result();
    const acts = (await histories(client, run.id)).flatMap(activities);
    console.log(`  ${RUNS[w].type} unkilled (${run.id}): ${((Date.now() - t) / 1000).toFixed(0)}s`);
    return footprint(acts);
  };
  const save = (runs) => fs.writeFileSync(saved, JSON.stringify(runs.map(({ spec, ...r }) => r), null, 1));
  if (CHECK) {
    // the checks again over the runs (and kills) a previous bench recorded
    const runs = JSON.parse(fs.readFileSync(path.resolve(CHECK), 'utf8')).map((r) => ({ ...r, spec: RUNS[r.key] }));
    for (const r of runs) results.push(await finishRun(client, r));
  } else if (PARALLEL) {
    console.log(`${WORKFLOWS.map((w) => RUNS[w].type).join(', ')} at once: kills at random moments until each has seen ${KILLS}`);
    const clean = {};
    if (UNKILLED || UNKILLED_ID) for (const w of WORKFLOWS) clean[w] = await unkilled(w);
    const runs = WORKFLOWS.map((w) => ({ ...startRun(w), clean: clean[w] }));
    await killLoop(client, runs, KILLS);
    save(runs);
    for (const r of runs) results.push(await finishRun(client, r));
  } else {
    const done = [];
    for (const w of WORKFLOWS) {
      console.log(`${RUNS[w].type}: ${KILLS} kills at random moments`);
      stackUp(RUNS[w].lm);
      const clean = UNKILLED || UNKILLED_ID ? await unkilled(w) : undefined;
      const run = { ...startRun(w), clean };
      await killLoop(client, [run], KILLS);
      done.push(run);
      save(done);
      results.push(await finishRun(client, run));
    }
  }
  await connection.close();
  const s = (x) => (x === null ? 'never' : `${x.toFixed(0)}s`);
  const fmt = (r) =>
    r.recovery.map((x) => `${x.name} ${s(x.next)}${x.inflight === undefined ? '' : ` / ${s(x.inflight)} (${x.types.join(',')}${x.retry === undefined ? '' : `; retried after ${s(x.retry)}`})`}`).join('; ') || '-';
  console.log('\n| workflow | kills | survived | rows lost | rows duplicated | repeated metric calls: in flight at a kill / beyond | budget kept | train steps: done (redone in flight / beyond; scheduled twice) | reflections: done (redone in flight / beyond; scheduled twice), calls counted / returned | vs unkilled run | run time | recovery per kill: next completed activity / in-flight activities done (their types; retry started) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  let killed = 0;
  let survived = 0;
  let lost = 0;
  let dup = 0;
  let beyond = 0;
  let paidTwice = 0;
  const paidCell = (p) => `${p.done} (${p.inFlight} / ${p.beyond}; ${p.twice})`;
  const cmpCell = (c) => (c ? (c.diffs.length ? `${c.diffs.length} DIFFERENCES` : `same keys, ${c.trainSteps} train steps, ${c.reflections} reflections; ${c.contentDiffers} rollouts differ in content`) : '-');
  for (const r of results) {
    const budgetOk = !r.calls.over && r.calls.mismatch === 0;
    const cmpOk = !r.cmp || r.cmp.diffs.length === 0;
    const ok = r.status === 'COMPLETED' && r.rows.lost === 0 && r.rows.dup === 0 && budgetOk && r.calls.repeatedBeyond === 0 && r.paid.bad === 0 && cmpOk;
    paidTwice += r.paid.bad;
    killed += r.kills;
    survived += ok ? r.kills : 0;
    lost += r.rows.lost;
    dup += r.rows.dup;
    beyond += r.calls.repeatedBeyond;
    console.log(
      `| ${r.type} | ${r.kills} | ${ok ? r.kills : 0} (${r.status}) | ${r.rows.lost} of ${r.rows.rowsChecked} | ${r.rows.dup} | ${r.calls.repeatedInFlight} / ${r.calls.repeatedBeyond} | ${budgetOk ? 'yes' : 'NO'} | ${paidCell(r.paid.train_step)} | ${paidCell(r.paid.proposeComponent)}, ${r.paid.reflectionCalls.counted} / ${r.paid.reflectionCalls.returned} | ${cmpCell(r.cmp)} | ${r.wallS.toFixed(0)}s | ${fmt(r)} |`,
    );
  }
  const killedKinds = new Set(results.flatMap((r) => r.recovery.map((x) => x.name)));
  console.log(`\nprocess kinds killed: ${[...killedKinds].sort().join(', ')}`);
  // a vLLM server whose trainer worker this bench killed, still alive: left behind (it should exit with its parent)
  await sleep(trainerPids.size ? 5000 : 0);
  const orphans = vllmServers().filter((v) => trainerPids.has(v.parent));
  if (orphans.length) console.log(`vLLM servers left behind by killed trainer workers: ${orphans.map((v) => `pid ${v.pid} (parent ${v.parent})`).join(', ')}`);
  console.log(`faults: ${survived} kills survived of ${killed}, ${lost} lost, ${dup} duplicated, ${paidTwice} paid twice${beyond ? `, ${beyond} metric calls repeated beyond the ones in flight` : ''}${orphans.length ? `, ${orphans.length} vLLM servers left behind` : ''}`);
  process.exit(survived === killed && lost === 0 && dup === 0 && beyond === 0 && paidTwice === 0 && !orphans.length ? 0 : 1);
}

main().catch((e) => {
  console.error(e.message ?? e);
  process.exit(1);
});
