#!/usr/bin/env bash
# Tokens/s at batch 1: the llama.cpp local server (src/llm/localServer.ts) against the previous
# PyTorch server (trainer/gepa_rl_trainer/server.py), same GGUF, same prompt, interleaved requests.
#   bash bench/local-lm/run.sh [reps] [max_tokens]      ports: GEPA_RL_BENCH_PORT (and +1)
set -euo pipefail
cd "$(dirname "$0")/../.."
P=${GEPA_RL_BENCH_PORT:-17601}
GGUF=$(PYTHONPATH=trainer .venv/bin/python -c 'from gepa_rl_trainer.models import smollm2_gguf_path; print(smollm2_gguf_path())')
[ -f dist/llm/localServer.js ] || npx tsc -p tsconfig.build.json
node dist/llm/localServer.js --gguf "$GGUF" --port "$P" > /tmp/gepa-rl-bench-llama.log 2>&1 & LL=$!
PYTHONPATH=trainer .venv/bin/python -u -m gepa_rl_trainer.server --port $((P + 1)) > /tmp/gepa-rl-bench-torch.log 2>&1 & PT=$!
trap 'kill $LL $PT 2>/dev/null || true' EXIT
for url in "http://127.0.0.1:$P/health" "http://127.0.0.1:$((P + 1))/health"; do
  for _ in $(seq 1 300); do curl -sf "$url" >/dev/null && break; sleep 1; done
done
node bench/local-lm/bench.js "http://127.0.0.1:$P/v1" llama.cpp "http://127.0.0.1:$((P + 1))/v1" pytorch "${1:-3}" "${2:-128}"
