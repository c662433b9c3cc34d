#!/usr/bin/env bash
# Debian's chromium for the report test (driven by playwright-core; no browser download).
# Idempotent: returns at once when /usr/bin/chromium exists.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "[setup] installing Debian's chromium (report test)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
