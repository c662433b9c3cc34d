#!/usr/bin/env node
/**
 * bench/gepa: write the exact train/val examples our gepaOptimization workflow sees, so the
 * reference library optimises over identical data. Uses the built task code (dist/tasks) with the
 * same task config the workflow parses, and the task's own render(), so the user message each side
 * sends is byte-identical.
 *   node bench/gepa/export_data.js '<task config JSON>' out.json
 */
const fs = require('node:fs');
const path = require('node:path');
const ROOT = path.resolve(__dirname, '../..');
const { taskConfigSchema } = require(path.join(ROOT, 'dist/config/task'));
const { getTask } = require(path.join(ROOT, 'dist/tasks'));

async function main() {
  const [cfgJson, out] = process.argv.slice(2);
  if (!cfgJson || !out) throw new Error("usage: export_data.js '<task config JSON>' out.json");
  const cfg = taskConfigSchema.parse(JSON.parse(cfgJson));
  const task = getTask(cfg);
  const splits = await task.loadSplits(cfg);
  const view = (x) => {
    const user = task.render(x);
    if (user.length !== 1 || user[0].role !== 'user') throw new Error(`expected one user message per example, got ${JSON.stringify(user)}`);
    return { id: x.id, question: x.question, answer: x.answer, input: user[0].content };
  };
  const data = { task: cfg, train: splits.train.map(view), val: splits.val.map(view) };
  fs.writeFileSync(out, JSON.stringify(data, null, 1));
  console.log(`wrote ${out}: ${data.train.length} train, ${data.val.length} val (${cfg.env}, ${cfg.arithmetic_digits} digit(s), "${cfg.arithmetic_operators}")`);
}

main().catch((e) => {
  console.error(`export_data: ${e.message}`);
  process.exit(1);
});
