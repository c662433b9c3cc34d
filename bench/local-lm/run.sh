#!/usr/bin/env bash
# Tokens/s at batch 1 of the llama.cpp local server (src/llm/localServer.ts), against the recorded
# rate of the previous PyTorch server (deleted; bench.js holds its number) at the same settings.
#   bash bench/local-lm/run.sh [reps] [max_tokens]      port: GEPA_RL_BENCH_PORT
set -euo pipefail
cd "$(dirname "$0")/../.."
P=${GEPA_RL_BENCH_PORT:-17601}
GGUF=$(PYTHONPATH=trainer .venv/bin/python -c 'from gepa_rl_trainer.models import smollm2_gguf_path; print(smollm2_gguf_path())')
[ -f dist/llm/localServer.js ] || npx tsc -p tsconfig.build.json
node dist/llm/localServer.js --gguf "$GGUF" --port "$P" > /tmp/gepa-rl-bench-llama.log 2>&1 & LL=$!
trap 'kill $LL 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$P/health" >/dev/null && break; sleep 1; done
node bench/local-lm/bench.js "http://127.0.0.1:$P/v1" llama.cpp "${1:-3}" "${2:-128}"
