#!/usr/bin/env bash
# The static checks `make test` (and so CI) runs before the tests: tsc over src/, test/ and bench/
# with noUnusedLocals (tsconfig.check.json; @swc/jest strips types without checking them) and ruff
# over trainer/ and bench/ (ruff.toml). Each prints its findings and leaves <name>.rc (its exit
# status) and <name>.log in DIR, which scripts/test-summary.js counts as one test each.
# Usage: scripts/static-checks.sh [DIR]   (default .data/test-results); exits 1 if either fails.
set -uo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-.data/test-results}
mkdir -p "$DIR"
rc=0
check() {
  local name=$1; shift
  "$@" > "$DIR/$name.log" 2>&1
  local r=$?
  echo "$r" > "$DIR/$name.rc"
  if [ "$r" -eq 0 ]; then echo "[check] $name: ok"; else echo "[check] $name: FAILED ($*)"; cat "$DIR/$name.log"; rc=1; fi
}
check typecheck npx tsc -p tsconfig.check.json
check ruff .venv/bin/ruff check --output-format concise trainer bench
exit $rc
