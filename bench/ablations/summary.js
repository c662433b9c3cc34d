#!/usr/bin/env node
// bench/ablations/summary.js: the numbers of bench/ablations/run.sh.
//   summary.js row NAME SEED RUN_DIR SECONDS   one JSON row for one run (start/end test accuracy from its metrics.jsonl files)
//   summary.js print-row < row.json            that row as a line of the per-run table
//   summary.js table results.jsonl...          mean and spread over the seeds, one line per ablation (markdown);
//                                              several files (runs of several invocations) are read as one
//   summary.js compare results.jsonl...        rl against fast-slow at equal RL steps (one table per number of steps):
//                                              last and best test accuracy, steps to reach rl's final accuracy (same
//                                              seed), KL to the base model when logged, samples and reflection calls
const fs = require('fs');
const path = require('path');

function metricRows(dir) {
  const rows = [];
  (function walk(d) {
    for (const f of fs.readdirSync(d, { withFileTypes: true })) {
      if (f.isDirectory() && /^round\d+_/.test(f.name)) walk(path.join(d, f.name));
      else if (f.name === 'metrics.jsonl') {
        const lines = fs.readFileSync(path.join(d, f.name), 'utf8').split('\n').filter(Boolean);
        rows.push(...lines.map((l) => ({ dir: d, ...JSON.parse(l) })));
      }
    }
  })(dir);
  return rows;
}

function row(name, seed, dir, secs) {
  const rows = metricRows(dir);
  // phases in run order: an alternation's own metrics.jsonl has one row per phase, keyed by its folder
  // (round0_gepa, round0_rl, round0_expert, round1_gepa ...), in the order they ran
  const phases = rows.filter((r) => r.dir === dir && /^round\d+_/.test(String(r.key))).map((r) => path.join(dir, r.key));
  const order = (d) => (d === dir ? -1 : phases.indexOf(d));
  const test = rows.filter((r) => typeof r['test/env/all/correct'] === 'number').sort((a, b) => order(a.dir) - order(b.dir) || a.step - b.step);
  const ex = rows.filter((r) => 'expert/hints' in r || 'expert/distill_steps' in r);
  const sum = (k) => ex.reduce((a, r) => a + (typeof r[k] === 'number' ? r[k] : 0), 0);
  const out = { name, seed: Number(seed), start: test[0]?.['test/env/all/correct'] ?? null, end: test[test.length - 1]?.['test/env/all/correct'] ?? null, n_test_evals: test.length, wall_s: Number(secs) };
  // an RL run (rl, fast-slow): its steps, every test evaluation by the steps done before it, the best of them,
  // the policy samples its batches drew, and KL to the base model when the trainer logs it
  const top = rows.filter((r) => r.dir === dir);
  const batches = top.filter((r) => /^batch-\d+$/.test(String(r.key)));
  if (batches.length && !phases.length) {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const evals = top.filter((r) => typeof r['test/env/all/correct'] === 'number').sort((a, b) => a.step - b.step);
    out.steps = batches.length;
    out.evals = evals.map((r) => [r.step, r['test/env/all/correct']]);
    out.best = Math.max(...evals.map((r) => r['test/env/all/correct']));
    out.train_samples = batches.length * cfg.rl.groups_per_batch * cfg.rl.group_size;
    const n_test = Math.min(cfg.n_eval ?? Infinity, cfg.task.n_test ?? Infinity);
    // test samples: one per test problem per evaluation; fast-slow scores the seed prompt too when the best is another
    const extra = evals.filter((r) => typeof r['fast_slow/best_prompt_id'] === 'number' && r['fast_slow/best_prompt_id'] !== 0).length;
    const t22 = top.find((r) => r.key === 'final-2x2');
    out.test_samples = !Number.isFinite(n_test) ? null : n_test * (evals.length + extra + (t22 && t22['fast_slow/best_prompt_id'] !== 0 ? 1 : 0));
    const klKeys = [...new Set(top.flatMap((r) => Object.keys(r)))].filter((k) => /kl/i.test(k) && /base/i.test(k));
    if (klKeys.length) {
      const last = [...top].reverse().find((r) => typeof r[klKeys[0]] === 'number');
      out.kl_base = { key: klKeys[0], step: last?.step ?? null, value: last?.[klKeys[0]] ?? null };
    }
    if (t22) {
      const c = (k) => t22[`test/2x2/${k}/correct`];
      out.table2x2 = { base_seed: c('base_weights/seed_prompt'), base_best: c('base_weights/best_prompt'), trained_seed: c('trained_weights/seed_prompt'), trained_best: c('trained_weights/best_prompt'), best_prompt_id: t22['fast_slow/best_prompt_id'] };
      const lastEval = evals[evals.length - 1];
      out.seed_prompt_end = lastEval?.['test/seed_prompt/env/all/correct'] ?? null;
    }
    const poolFile = path.join(dir, 'fast_slow', 'pool.json');
    if (fs.existsSync(poolFile)) {
      const pool = JSON.parse(fs.readFileSync(poolFile, 'utf8'));
      Object.assign(out, { rounds: pool.counters.rounds, proposed: pool.counters.proposed, accepted: pool.counters.accepted, rejected: pool.counters.rejected, skipped_perfect: pool.counters.skipped_perfect, reflection_calls: pool.reflection_usage.calls });
    }
  }
  if (ex.length) {
    Object.assign(out, { hints: sum('expert/hints'), hints_dropped: sum('expert/hints_dropped'), distilled: sum('expert/distill_examples'), distill_steps: sum('expert/distill_steps') });
    out.distill_loss = ex.filter((r) => typeof r['expert/distill_loss_first_epoch'] === 'number').map((r) => [r['expert/distill_loss_first_epoch'], r['expert/distill_loss_last_epoch']]);
  }
  return out;
}

const f3 = (x) => (x === null || x === undefined ? '  -  ' : x.toFixed(3));

function printRow(r) {
  let line = `${r.name.padEnd(12)} ${String(r.seed).padStart(4)}  test acc ${f3(r.start)} -> ${f3(r.end)}   ${String(r.wall_s).padStart(5)} s`;
  if (r.evals) line += `   ${r.steps} steps, test by step ${r.evals.map(([st, a]) => `${st}:${f3(a)}`).join(' ')}, best ${f3(r.best)}, ${r.train_samples} train samples, ${r.test_samples} test samples`;
  if (r.kl_base) line += `, ${r.kl_base.key} ${r.kl_base.value === null ? '-' : r.kl_base.value.toPrecision(3)} (step ${r.kl_base.step})`;
  if ('reflection_calls' in r) line += `, rounds ${r.rounds} (accepted ${r.accepted}, rejected ${r.rejected}, skipped ${r.skipped_perfect}), ${r.reflection_calls} reflection calls`;
  if (r.table2x2) line += `, 2x2 base/trained x seed/best ${f3(r.table2x2.base_seed)} ${f3(r.table2x2.base_best)} / ${f3(r.table2x2.trained_seed)} ${f3(r.table2x2.trained_best)} (best prompt ${r.table2x2.best_prompt_id})`;
  if ('hints' in r) line += `   hints ${r.hints} (dropped ${r.hints_dropped}), distilled ${r.distilled} in ${r.distill_steps} steps, CE first->last pass ${r.distill_loss.map(([a, b]) => `${a.toFixed(2)}->${b.toFixed(2)}`).join(', ') || '-'}`;
  return line;
}

function stats(xs) {
  const n = xs.length;
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs), n };
}

function readRows(files) {
  return files
    .flatMap((file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)))
    .filter((r) => r.start !== null && r.end !== null);
}

// rl and fast-slow rows of different lengths (GEPA_RL_ABLATION_STEPS) are different ablations
const label = (r) => (r.name === 'rl' || r.name === 'fast-slow') && r.steps ? `${r.name} (${r.steps} steps)` : r.name;

function table(files) {
  const rs = readRows(files).map((r) => ({ ...r, name: label(r) }));
  const names = [...new Set(rs.map((r) => r.name))];
  const lines = ['| ablation | seeds | start test acc (mean ± sd) | end test acc (mean ± sd) | end − start (mean, min..max) | wall per run (mean s) |', '|---|---|---|---|---|---|'];
  for (const n of names) {
    const g = rs.filter((r) => r.name === n);
    const s = stats(g.map((r) => r.start));
    const e = stats(g.map((r) => r.end));
    const d = stats(g.map((r) => r.end - r.start));
    const w = stats(g.map((r) => r.wall_s));
    const pm = (x) => (x.n > 1 ? `${f3(x.mean)} ± ${f3(x.sd)}` : `${f3(x.mean)} (one seed)`);
    lines.push(`| ${n} | ${g.map((r) => r.seed).join(',')} | ${pm(s)} | ${pm(e)} | ${d.mean >= 0 ? '+' : ''}${f3(d.mean)} (${f3(d.min)}..${f3(d.max)}) | ${w.mean.toFixed(0)} |`);
  }
  return lines.join('\n');
}

// steps done at the first test evaluation whose accuracy reaches `target` (null: never)
function stepsToReach(r, target) {
  const hit = r.evals.find(([, a]) => a >= target - 1e-9);
  return hit ? hit[0] : null;
}

function compare(files) {
  const rs = readRows(files).filter((r) => (r.name === 'rl' || r.name === 'fast-slow') && r.evals);
  const lines = [];
  for (const steps of [...new Set(rs.map((r) => r.steps))].sort((a, b) => a - b)) {
    const at = rs.filter((r) => r.steps === steps);
    const rl = new Map(at.filter((r) => r.name === 'rl').map((r) => [r.seed, r]));
    lines.push(`${steps} RL steps`, '', "| arm | seeds | end test acc (mean ± sd) | end test acc under the seed prompt (mean ± sd) | best test acc (mean ± sd) | steps to rl's final acc, per seed | end − rl's end, per seed | KL to base (last) | train samples / run | test samples / run | reflection calls / run | children kept / proposed | wall per run (mean s) |", '|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const name of ['rl', 'fast-slow']) {
      const g = at.filter((r) => r.name === name).sort((a, b) => a.seed - b.seed);
      if (!g.length) continue;
      const pm = (xs) => { const x = stats(xs); return x.n > 1 ? `${f3(x.mean)} ± ${f3(x.sd)}` : `${f3(x.mean)} (one seed)`; };
      const perSeed = (fn) => g.map((r) => (rl.has(r.seed) ? fn(r, rl.get(r.seed)) : '?')).join(', ');
      const reach = perSeed((r, b) => { const s = stepsToReach(r, b.end); return s === null ? 'never' : String(s); });
      const diff = perSeed((r, b) => `${r.end - b.end >= 0 ? '+' : ''}${f3(r.end - b.end)}`);
      const kl = g.every((r) => r.kl_base && typeof r.kl_base.value === 'number') ? pm(g.map((r) => r.kl_base.value)) : 'not logged';
      const mean = (xs) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : null);
      const refl = g.every((r) => 'reflection_calls' in r) ? mean(g.map((r) => r.reflection_calls)).toFixed(1) : '0';
      const kept = g.every((r) => 'accepted' in r) ? `${g.reduce((a, r) => a + r.accepted, 0)} / ${g.reduce((a, r) => a + r.proposed, 0)}` : '-';
      // fast-slow's test accuracy is under the pool's best prompt; beside it the seed prompt under the same weights (rl: its only prompt)
      const seedEnd = pm(g.map((r) => (typeof r.seed_prompt_end === 'number' ? r.seed_prompt_end : r.end)));
      lines.push(`| ${name} | ${g.map((r) => r.seed).join(',')} | ${pm(g.map((r) => r.end))} | ${seedEnd} | ${pm(g.map((r) => r.best))} | ${reach} | ${diff} | ${kl} | ${mean(g.map((r) => r.train_samples)).toFixed(0)} | ${mean(g.map((r) => r.test_samples ?? 0)).toFixed(0)} | ${refl} | ${kept} | ${mean(g.map((r) => r.wall_s)).toFixed(0)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'row') console.log(JSON.stringify(row(...args)));
else if (cmd === 'print-row') console.log(printRow(JSON.parse(fs.readFileSync(0, 'utf8'))));
else if (cmd === 'table') console.log(table(args));
else if (cmd === 'compare') console.log(compare(args));
else {
  console.error('usage: summary.js row NAME SEED RUN_DIR SECONDS | print-row < row.json | table results.jsonl... | compare results.jsonl...');
  process.exit(2);
}
