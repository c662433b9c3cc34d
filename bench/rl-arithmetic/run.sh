#!/usr/bin/env bash
# bench/rl-arithmetic: RL on arithmetic with SmolLM2-135M-Instruct through the real stack
# (rlTraining workflow, trainer worker), fixed seed; prints test accuracy and mean reward at the
# start and the end. Override any key: bench/rl-arithmetic/run.sh n_batches=20
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh >/dev/null
bash scripts/stack.sh up --no-lm
ID=bench-rl-arith-$(date +%H%M%S)
node dist/cli/main.js rl --id "$ID" env=arithmetic arithmetic_digits=1 arithmetic_operators=+- n_test=50 \
  n_batches=10 groups_per_batch=16 group_size=4 max_tokens=16 learning_rate=5e-4 eval_every=5 seed=0 \
  "system_prompt=You are a calculator. Reply with only the number." "$@"
node - "runs/$ID/metrics.jsonl" <<'JS'
const rows = require('fs').readFileSync(process.argv[2], 'utf8').trim().split('\n').map(JSON.parse);
const test = rows.filter((r) => 'test/env/all/correct' in r);
const train = rows.filter((r) => String(r.key).startsWith('batch-'));
const f = (x) => (x === undefined ? '-' : x.toFixed(3));
console.log(`test accuracy: start ${f(test[0]['test/env/all/correct'])} -> end ${f(test[test.length - 1]['test/env/all/correct'])}`);
console.log(`test mean reward: start ${f(test[0]['test/env/all/reward/total'])} -> end ${f(test[test.length - 1]['test/env/all/reward/total'])}`);
console.log(`train mean reward: first batch ${f(train[0]['env/all/reward/total'])} -> last batch ${f(train[train.length - 1]['env/all/reward/total'])} over ${train.length} batches`);
JS
