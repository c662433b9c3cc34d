#!/usr/bin/env bash
# bench/faults: kill -9 of random stack processes during runs on the local model; see bench.js.
#   bench/faults/run.sh [--kills N] [--workflows rl,gepa,expert,alt,fs,vllm] [--procs trainer,worker,temporal,lm,vllm] [--seed S] [--delay MIN,MAX] [--parallel] [--gepa-p P] [--min-in-flight N] [--unkilled]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh >/dev/null
# the one-time dequantised copy of SmolLM2 (trainer/gepa_rl_trainer/models.py), so the bench measures
# recovery from kills and not the first load ever on this machine
PYTHONPATH=trainer .venv/bin/python -c 'from gepa_rl_trainer.models import load_model, SMOLLM2; load_model(SMOLLM2)' 2>/dev/null
node bench/faults/bench.js "$@"
