#!/usr/bin/env node
/**
 * bench/faults: kill -9 a random process of the stack (trainer worker, TS worker, Temporal dev server,
 * local LM server) at random moments while a run on the local model goes on, restart it with the stack
 * script, then check the run directory and the history:
 *   completed; no metrics / checkpoint / prompt row lost or duplicated; GEPA's budget never exceeded;
 *   sampling work redone after a restart (attempts beyond the first of a sampling activity: at most the
 *   one in flight per kill); recovery time per kill (from the kill to the next completed activity of
 *   that run, children included).
 * Usage: node bench/faults/bench.js [--kills N] [--workflows rl,gepa,expert,alt] [--seed S]
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
const { connectSettings } = require(path.join(ROOT, 'dist/connection'));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const KILLS = Number(arg('kills', '3'));
const WORKFLOWS = arg('workflows', 'rl,gepa,expert,alt').split(',');
let seed = Number(arg('seed', '1'));
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const MODEL = ['policy.max_tokens=24', 'task.n_val=4', 'task.n_test=4', 'rl.n_eval=4'];
const RUNS = {
  rl: { cmd: 'rl', type: 'rlTraining', lm: false, args: ['env=arithmetic', 'n_batches=4', 'groups_per_batch=4', 'group_size=4', 'eval_every=0', ...MODEL] },
  gepa: { cmd: 'gepa', type: 'gepaOptimization', lm: true, args: ['env=arithmetic', 'max_metric_calls=28', 'gepa.minibatch_size=3', 'reflection.max_tokens=160', ...MODEL] },
  expert: {
    cmd: 'expert-iteration',
    type: 'expertIteration',
    lm: true,
    args: ['env=arithmetic', 'expert.n_rounds=2', 'expert.problems_per_round=4', 'expert.attempts_per_problem=2', 'teacher.max_tokens=64', ...MODEL],
  },
  alt: {
    cmd: 'gepa-rl',
    type: 'gepaRlAlternation',
    lm: true,
    args: ['env=arithmetic', 'n_rounds=1', 'rl_batches_per_round=2', 'skip_first_gepa=false', 'max_metric_calls=20', 'groups_per_batch=4', 'group_size=4', 'reflection.max_tokens=160', ...MODEL],
  },
};

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
const stackUp = (lm) => {
  const r = sh('bash', ['scripts/stack.sh', 'up', ...(lm ? [] : ['--no-lm'])]);
  if (r.code !== 0) throw new Error(`stack up failed:\n${r.out}`);
};
const pidOf = (name) => {
  try {
    return Number(fs.readFileSync(path.join(ROOT, '.data/pids', `${name}.pid`), 'utf8').trim());
  } catch {
    return null;
  }
};

const jsonl = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } }) : []);
const ms = (t) => Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);

/** Rows of one run folder: duplicates by key (metrics, prompts) and by step (checkpoints); checkpoints named by metrics rows but absent from the index are lost. */
function checkFolder(dir) {
  let dup = 0;
  let lost = 0;
  for (const f of ['metrics.jsonl', 'prompts.jsonl', 'proposals.jsonl', 'samples.jsonl']) {
    const keys = jsonl(path.join(dir, f)).map((r) => r.key);
    dup += keys.length - new Set(keys).size;
  }
  const ck = jsonl(path.join(dir, 'checkpoints.jsonl'));
  const steps = ck.map((r) => r.step);
  dup += steps.length - new Set(steps).size;
  const indexed = new Set(ck.map((r) => r.path));
  for (const m of jsonl(path.join(dir, 'metrics.jsonl'))) if (typeof m.checkpoint === 'string' && m.checkpoint.startsWith(dir) && !indexed.has(m.checkpoint)) lost++;
  const batches = jsonl(path.join(dir, 'metrics.jsonl')).filter((m) => /^batch-\d+$/.test(m.key)).map((m) => Number(m.key.slice(6)));
  if (batches.length) for (let b = 0; b <= Math.max(...batches); b++) if (!batches.includes(b)) lost++;
  return { dup, lost };
}

async function histories(client, workflowId) {
  const out = [];
  const root = (await client.workflow.getHandle(workflowId).fetchHistory()).events;
  out.push(root);
  for (const e of root) {
    const a = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (a) out.push((await client.workflow.getHandle(a.workflowId).fetchHistory()).events);
  }
  return out;
}

async function benchOne(client, key, kills) {
  const spec = RUNS[key];
  stackUp(spec.lm);
  const id = `bench-faults-${key}-${Date.now()}`;
  const start = sh('node', ['dist/cli/main.js', spec.cmd, '--detach', '--id', id, 'seed=3', ...spec.args]);
  if (start.code !== 0) throw new Error(`start of ${key} failed:\n${start.out}`);
  const handle = client.workflow.getHandle(id);
  const procs = ['trainer', 'worker', 'temporal', ...(spec.lm ? ['lm'] : [])];
  const killLog = [];
  for (let k = 0; k < kills; k++) {
    await sleep(8000 + rand() * 22000);
    const desc = await handle.describe().catch(() => null);
    if (desc && desc.status.name !== 'RUNNING') break; // finished before all kills: fewer kills counted
    const name = procs[Math.floor(rand() * procs.length)];
    const pid = pidOf(name);
    if (!pid) continue;
    process.kill(pid, 'SIGKILL');
    const at = Date.now();
    killLog.push({ name, at });
    process.stdout.write(`  ${key}: kill -9 ${name} (pid ${pid})\n`);
    stackUp(spec.lm);
  }
  let status = 'TIMEOUT';
  try {
    await Promise.race([handle.result(), sleep(45 * 60_000).then(() => Promise.reject(new Error('timeout')))]);
    status = 'COMPLETED';
  } catch (e) {
    status = (await handle.describe().catch(() => ({ status: { name: String(e.message) } }))).status.name;
  }
  const hs = await histories(client, id);
  const completions = hs.flat().filter((e) => e.activityTaskCompletedEventAttributes).map((e) => ms(e.eventTime)).sort((a, b) => a - b);
  const recovery = killLog.map((k) => {
    const next = completions.find((t) => t > k.at);
    return { name: k.name, s: next === undefined ? null : (next - k.at) / 1000 };
  });
  let redone = 0;
  for (const events of hs) {
    const types = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes.activityType.name]));
    for (const e of events) {
      const a = e.activityTaskStartedEventAttributes;
      if (a && ['policy_sample', 'apiSample'].includes(types.get(String(a.scheduledEventId)))) redone += a.attempt - 1;
    }
  }
  const runDir = path.join(ROOT, 'runs', id.replace(/[^A-Za-z0-9._-]/g, '_'));
  const folders = [runDir, ...fs.readdirSync(runDir).filter((f) => /^round\d+_/.test(f)).map((f) => path.join(runDir, f))];
  let dup = 0;
  let lost = 0;
  let overBudget = false;
  for (const f of folders) {
    const c = checkFolder(f);
    dup += c.dup;
    lost += c.lost;
    const cfg = fs.existsSync(path.join(f, 'config.json')) ? JSON.parse(fs.readFileSync(path.join(f, 'config.json'), 'utf8')) : {};
    const max = cfg.gepa?.max_metric_calls;
    const used = jsonl(path.join(f, 'metrics.jsonl')).reduce((m, r) => Math.max(m, r['gepa/metric_calls'] ?? 0), 0);
    if (max && used > max) overBudget = true;
  }
  return { key, type: spec.type, status, kills: killLog.length, lost, dup, redone, overBudget, recovery };
}

async function main() {
  const settings = connectSettings();
  stackUp(WORKFLOWS.some((w) => RUNS[w].lm));
  const connection = await Connection.connect(settings.connectionOptions);
  const client = new Client({ connection, namespace: settings.namespace });
  const results = [];
  for (const w of WORKFLOWS) {
    if (!RUNS[w]) throw new Error(`unknown workflow ${w} (expected ${Object.keys(RUNS).join(', ')})`);
    console.log(`${RUNS[w].type}: ${KILLS} kills at random moments`);
    results.push(await benchOne(client, w, KILLS));
  }
  await connection.close();
  const fmt = (r) => r.recovery.map((x) => `${x.name} ${x.s === null ? '-' : x.s.toFixed(0)}s`).join(', ') || '-';
  console.log('\n| workflow | kills | survived | rows lost | rows duplicated | repeated metric calls | budget kept | recovery per kill (kill -> next completed activity) |');
  console.log('|---|---|---|---|---|---|---|---|');
  let killed = 0;
  let survived = 0;
  let lost = 0;
  let dup = 0;
  for (const r of results) {
    const ok = r.status === 'COMPLETED' && r.lost === 0 && r.dup === 0 && !r.overBudget;
    killed += r.kills;
    survived += ok ? r.kills : 0;
    lost += r.lost;
    dup += r.dup;
    console.log(`| ${r.type} | ${r.kills} | ${ok ? r.kills : 0} (${r.status}) | ${r.lost} | ${r.dup} | ${r.redone} | ${r.overBudget ? 'NO' : 'yes'} | ${fmt(r)} |`);
  }
  console.log(`\nfaults: ${survived} kills survived of ${killed}, ${lost} lost, ${dup} duplicated`);
  process.exit(survived === killed && lost === 0 && dup === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
