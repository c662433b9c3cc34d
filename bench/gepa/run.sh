#!/usr/bin/env bash
# bench/gepa: our gepaOptimization workflow vs the reference `gepa` library (gepa-ai/gepa, PyPI), side
# by side on the same arithmetic train/val examples (exported from our task code), the same policy
# and reflection LM (SmolLM2-135M-Instruct behind the local OpenAI-compatible server of the stack),
# the same grading rule (our `gepa-rl grade`) and the same metric-call budget.
# Prints each side's best val score and wall time, and the wall-time ratio ours / reference.
#   bash bench/gepa/run.sh                      # both sides, 5 seeds x 2 settings (about 30-75 min on the shared 2-core machine)
#   GEPA_BENCH_ONLY=reference bash bench/gepa/run.sh
# Knobs (env): GEPA_BENCH_SETTINGS (api,local) GEPA_BENCH_LATENCY_MS (1500, the api setting's added
#   latency a call) GEPA_BENCH_SEEDS (0,1,2,3,4) GEPA_BENCH_BUDGET (72) GEPA_BENCH_N_VAL (16)
#   GEPA_BENCH_PARALLEL_PROPOSALS (4, ours; empty: the workflow's default 1) GEPA_BENCH_PARALLELISM (10, ours) GEPA_BENCH_REFERENCE_LM
#   (litellm | callable) GEPA_BENCH_MAX_TOKENS (16) GEPA_BENCH_REFLECTION_MAX_TOKENS (160); see bench/gepa/bench.py.
# The local LM server's slots: GEPA_RL_LM_SLOTS (default one per core) when the stack starts it.
# The reference library lives in the bench's own venv (bench/gepa/.venv), created on first run;
# results and logs go to .data/bench-gepa/<stamp>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=bench/gepa/.venv
GEPA_VERSION=${GEPA_BENCH_GEPA_VERSION:-0.1.4}
# litellm: the reference's DefaultAdapter with a model string calls litellm.batch_completion
LITELLM_VERSION=${GEPA_BENCH_LITELLM_VERSION:-1.110.2}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import gepa, litellm" 2>/dev/null; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "gepa==$GEPA_VERSION" "litellm==$LITELLM_VERSION"
fi
bash scripts/setup.sh >/dev/null
bash scripts/stack.sh up
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec "$VENV/bin/python" bench/gepa/bench.py
