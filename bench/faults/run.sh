#!/usr/bin/env bash
# bench/faults: kill -9 of random stack processes during runs on the local model; see bench.js.
#   bench/faults/run.sh [--kills N] [--workflows rl,gepa,expert,alt] [--seed S]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh >/dev/null
node bench/faults/bench.js "$@"
