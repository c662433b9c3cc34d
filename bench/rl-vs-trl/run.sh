#!/usr/bin/env bash
# bench/rl-vs-trl: our RL phase vs TRL's GRPOTrainer, side by side in one script, each in its own
# process (peak memory per process). Prints seconds per step, peak RSS and the ratios.
# TRL lives in the bench's own venv (bench/.venv-trl), created on first run.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
VENV=$ROOT/bench/.venv-trl
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q torch==2.13.0
  "$VENV/bin/pip" install -q trl==1.16.0 transformers==5.23.0 peft==0.21.2 gguf==0.19.0 datasets==5.2.0
fi
"$ROOT/.venv/bin/python" prepare_model.py >/dev/null 2>&1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
ours=$("$ROOT/.venv/bin/python" ours.py 2>/dev/null | tail -n 1)
trl=$("$VENV/bin/python" trl_grpo.py 2>/tmp/trl-bench.err | tail -n 1) || { echo "TRL run failed:"; tail -20 /tmp/trl-bench.err; exit 1; }
python3 - "$ours" "$trl" <<'PY'
import json, sys
o, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for r in (o, t):
    extra = f", {r['trained_steps']} of {len(r['step_times'])} steps had a non-zero advantage and trained" if 'trained_steps' in r else ''
    print(f"{r['name']:>8}: {r['seconds_per_step']:.2f} s/step (steps {', '.join(f'{x:.1f}' for x in r['step_times'])}), peak RSS {r['peak_rss_mib']:.0f} MiB{extra}")
print(f"ratio step time ours/TRL: {o['seconds_per_step'] / t['seconds_per_step']:.2f}x (target <= 0.8x)")
print(f"ratio peak memory ours/TRL: {o['peak_rss_mib'] / t['peak_rss_mib']:.2f}x")
PY
