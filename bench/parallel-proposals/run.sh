#!/usr/bin/env bash
# bench/parallel-proposals: one short GEPA run per gepa.parallel_proposals on a stack of its own
# (other ports and state dir, so it runs beside a default stack); see bench.js.
#   bench/parallel-proposals/run.sh [--p 1,2,4] [--budget 60] [--seed 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
export GEPA_RL_STACK_DIR=${GEPA_RL_STACK_DIR:-$PWD/.data/bench-pp} GEPA_RL_TEMPORAL_PORT=${GEPA_RL_TEMPORAL_PORT:-7351} GEPA_RL_UI_PORT=${GEPA_RL_UI_PORT:-8351} GEPA_RL_LM_PORT=${GEPA_RL_LM_PORT:-8851}
export TEMPORAL_ADDRESS=localhost:$GEPA_RL_TEMPORAL_PORT GEPA_RL_LOCAL_LM_URL=http://127.0.0.1:$GEPA_RL_LM_PORT/v1
# a fresh Temporal state each time: a run left by an interrupted bench would compete with the new ones
bash scripts/stack.sh down >/dev/null 2>&1 || true
rm -f "$GEPA_RL_STACK_DIR/temporal.db"
bash scripts/stack.sh up
trap 'bash scripts/stack.sh down' EXIT
node bench/parallel-proposals/bench.js "$@"
