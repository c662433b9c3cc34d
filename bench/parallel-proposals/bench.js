#!/usr/bin/env node
/**
 * bench/parallel-proposals: wall time of one short GEPA run on the local stack (policy in the trainer
 * worker, SmolLM2 reflection on the local LM server) at each gepa.parallel_proposals P, same seed and
 * budget. Prints per P: wall seconds, iterations, metric calls, reflections, best val.
 * Usage (after bench/parallel-proposals/run.sh started the stack): node bench/parallel-proposals/bench.js [--p 1,2,4] [--budget 60] [--seed 3] [--val 6] [--policy tiny-random]
 * The policy defaults to the tests' tiny random model (16 tokens a reply), so on a busy CPU the time
 * goes to what P overlaps: reflections on the LM server (SmolLM2), orchestration and policy calls;
 * --policy smollm2-135m-instruct measures the real model (slow where the cores are shared).
 */
const path = require('node:path');
const ROOT = path.resolve(__dirname, '../..');
process.chdir(ROOT);
process.env.TEMPORAL_ADDRESS ||= `localhost:${process.env.GEPA_RL_TEMPORAL_PORT || 7233}`;
const { Client, Connection } = require('@temporalio/client');
const { connectSettings } = require(path.join(ROOT, 'dist/connection'));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
};
const PS = arg('p', '1,2,4').split(',').map(Number);
const BUDGET = Number(arg('budget', '60'));
const SEED = Number(arg('seed', '3'));
const POLICY = arg('policy', 'tiny-random');
const VAL = Number(arg('val', '6'));

async function main() {
  const s = connectSettings();
  const client = new Client({ connection: await Connection.connect(s.connectionOptions), namespace: s.namespace });
  const out = [];
  for (const p of PS) {
    const id = `bench-pp-p${p}-${Date.now()}`;
    const input = {
      run: { run_id: id, output_dir: path.join(ROOT, 'runs'), seed: SEED },
      task: { env: 'arithmetic', n_val: VAL },
      policy: { base_model: POLICY, max_tokens: 16 },
      reflection: { max_tokens: 128 },
      gepa: { max_metric_calls: BUDGET, minibatch_size: 3, parallel_proposals: p },
    };
    const t0 = Date.now();
    const r = await client.workflow.execute('gepaOptimization', { taskQueue: 'gepa-rl', workflowId: id, args: [input] });
    const wall = (Date.now() - t0) / 1000;
    const row = { p, wall_s: +wall.toFixed(1), iterations: r.iteration, metric_calls: r.metric_calls, reflections: r.reflection_usage.calls, accepted: r.counters.accepted, best_val: r.best_val_score, seed_val: r.seed_val_score };
    out.push(row);
    console.log(JSON.stringify(row));
  }
  const base = out.find((r) => r.p === 1);
  for (const r of out) console.log(`P=${r.p}: wall ${r.wall_s} s${base ? ` (${(r.wall_s / base.wall_s).toFixed(2)}x of P=1)` : ''}, ${r.iterations} iterations, ${r.metric_calls}/${BUDGET} metric calls, ${r.reflections} reflections, best val ${r.best_val}`);
  process.exit(0);
}
main().catch((e) => (console.error(e), process.exit(1)));
