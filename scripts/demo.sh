#!/usr/bin/env bash
# make demo: start the embedded stack, run a GEPA+RL experiment on arithmetic with the local model
# (SmolLM2-135M-Instruct) attached with live progress, write the HTML report, print where it is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/stack.sh up
RUN_ID=${GEPA_RL_DEMO_ID:-demo-$(date +%Y%m%d-%H%M%S)}
t0=$SECONDS
# Small enough to finish in minutes on 2 CPU cores; every key is documented by `gepa-rl help gepa-rl`.
node dist/cli/main.js gepa-rl --id "$RUN_ID" \
  env=arithmetic arithmetic_digits=1 arithmetic_operators=+ n_val=8 n_test=16 \
  n_rounds=1 skip_first_gepa=false gepa_iterations=2 max_metric_calls=40 \
  rl_batches_per_round=3 groups_per_batch=8 group_size=4 max_tokens=24 eval_every=3 \
  reflection.max_tokens=160 parallelism=1 format_guard=true \
  "$@"
node dist/cli/main.js report "runs/$RUN_ID"
echo
echo "demo finished in $(( SECONDS - t0 ))s"
echo "run directory: runs/$RUN_ID   (config.json, metrics.jsonl, report.html; per phase: round0_gepa/prompts.jsonl, round0_rl/checkpoints/ ...)"
echo "report:        file://$PWD/runs/$RUN_ID/report.html"
UI_URL=${GEPA_RL_UI_URL:-http://localhost:${GEPA_RL_UI_PORT:-8233}}
echo "Temporal UI:   ${UI_URL%/}/namespaces/${TEMPORAL_NAMESPACE:-default}/workflows/$RUN_ID"
echo "stop the stack with: make down"
