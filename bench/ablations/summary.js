#!/usr/bin/env node
// bench/ablations/summary.js: the numbers of bench/ablations/run.sh.
//   summary.js row NAME SEED RUN_DIR SECONDS   one JSON row for one run (start/end test accuracy from its metrics.jsonl files)
//   summary.js print-row < row.json            that row as a line of the per-run table
//   summary.js table results.jsonl...          mean and spread over the seeds, one line per ablation (markdown);
//                                              several files (runs of several invocations) are read as one
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
  if (ex.length) {
    Object.assign(out, { hints: sum('expert/hints'), hints_dropped: sum('expert/hints_dropped'), distilled: sum('expert/distill_examples'), distill_steps: sum('expert/distill_steps') });
    out.distill_loss = ex.filter((r) => typeof r['expert/distill_loss_first_epoch'] === 'number').map((r) => [r['expert/distill_loss_first_epoch'], r['expert/distill_loss_last_epoch']]);
  }
  return out;
}

const f3 = (x) => (x === null || x === undefined ? '  -  ' : x.toFixed(3));

function printRow(r) {
  let line = `${r.name.padEnd(12)} ${String(r.seed).padStart(4)}  test acc ${f3(r.start)} -> ${f3(r.end)}   ${String(r.wall_s).padStart(5)} s`;
  if ('hints' in r) line += `   hints ${r.hints} (dropped ${r.hints_dropped}), distilled ${r.distilled} in ${r.distill_steps} steps, CE first->last pass ${r.distill_loss.map(([a, b]) => `${a.toFixed(2)}->${b.toFixed(2)}`).join(', ') || '-'}`;
  return line;
}

function stats(xs) {
  const n = xs.length;
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs), n };
}

function table(files) {
  const rs = files
    .flatMap((file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)))
    .filter((r) => r.start !== null && r.end !== null);
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

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'row') console.log(JSON.stringify(row(...args)));
else if (cmd === 'print-row') console.log(printRow(JSON.parse(fs.readFileSync(0, 'utf8'))));
else if (cmd === 'table') console.log(table(args));
else {
  console.error('usage: summary.js row NAME SEED RUN_DIR SECONDS | print-row < row.json | table results.jsonl...');
  process.exit(2);
}
