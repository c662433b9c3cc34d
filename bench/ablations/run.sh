#!/usr/bin/env bash
# bench/ablations: every ablation of the seeds by config flags alone, end to end with the local
# model (SmolLM2-135M-Instruct as policy, reflection LM and teacher) on arithmetic, through the real
# stack. Prints one line per ablation: test accuracy at the start and the end, and wall time.
#   bash bench/ablations/run.sh              # all five
#   bash bench/ablations/run.sh rl ei-hints  # a subset
# Sizes are small so that all five finish in about half an hour on 2 CPU cores; raise them with
# GEPA_RL_ABLATION_SCALE=2 (or more) for a longer, less noisy run.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh >/dev/null
bash scripts/stack.sh up
S=${GEPA_RL_ABLATION_SCALE:-1}
STAMP=$(date +%H%M%S)
PROMPT="You are a calculator. Reply with only the number."
TASK=(env=arithmetic arithmetic_digits=1 arithmetic_operators=+ n_val=8 n_test=$((16 * S)) max_tokens=16 seed=0)
RL=(groups_per_batch=$((8 * S)) group_size=4 learning_rate=5e-4 eval_every=0 n_eval=$((16 * S)))
EI=(problems_per_round=$((8 * S)) attempts_per_problem=4 sft_learning_rate=2e-4)
HINTS=(expert_samples=4 teacher.max_tokens=64)  # read only with use_hints=true (refused otherwise)
ALL=(rl gepa-rl ei-no-hints ei-hints gepa-rl-ei)
WANT=("$@")
[ ${#WANT[@]} -gt 0 ] || WANT=("${ALL[@]}")

run_one() {
  local name=$1; shift
  local id="abl-$name-$STAMP" t0=$SECONDS
  echo "== $name: $*" >&2
  node dist/cli/main.js "$@" --id "$id" >"$LOG_DIR/$name.log" 2>&1 || { echo "$name failed; see $LOG_DIR/$name.log" >&2; tail -5 "$LOG_DIR/$name.log" >&2; return 0; }
  node - "$name" "runs/$id" $(( SECONDS - t0 )) <<'JS'
const fs = require('fs'), path = require('path');
const [name, dir, secs] = process.argv.slice(2);
const rows = [];
(function walk(d) {
  for (const f of fs.readdirSync(d, { withFileTypes: true })) {
    if (f.isDirectory() && /^round\d+_/.test(f.name)) walk(path.join(d, f.name));
    else if (f.name === 'metrics.jsonl') rows.push(...fs.readFileSync(path.join(d, f.name), 'utf8').trim().split('\n').filter(Boolean).map((l) => ({ dir: d, ...JSON.parse(l) })));
  }
})(dir);
const test = rows.filter((r) => typeof r['test/env/all/correct'] === 'number').sort((a, b) => a.dir.localeCompare(b.dir) || a.step - b.step);
const f = (x) => (x === undefined ? '  -  ' : x.toFixed(3));
const extra = rows.filter((r) => 'expert/hints' in r).reduce((a, r) => ({ hints: a.hints + r['expert/hints'], dropped: a.dropped + r['expert/hints_dropped'], kept: a.kept + r['expert/distill_examples'] }), { hints: 0, dropped: 0, kept: 0 });
console.log(`${name.padEnd(12)} test acc ${f(test[0]?.['test/env/all/correct'])} -> ${f(test[test.length - 1]?.['test/env/all/correct'])}   ${String(secs).padStart(5)} s` + (rows.some((r) => 'expert/hints' in r) ? `   hints ${extra.hints} (dropped ${extra.dropped}), distilled ${extra.kept}` : ''));
JS
}

LOG_DIR=.data/logs/ablations-$STAMP
mkdir -p "$LOG_DIR"
echo "ablation     test accuracy start -> end   wall"
for a in "${WANT[@]}"; do
  case $a in
    rl) run_one rl rl "${TASK[@]}" "system_prompt=$PROMPT" "${RL[@]}" n_batches=$((3 * S)) ;;
    gepa-rl) run_one gepa-rl gepa-rl "${TASK[@]}" "seed_prompt=$PROMPT" parallelism=1 "${RL[@]}" n_rounds=1 gepa_iterations=2 max_metric_calls=$((24 * S)) reflection.max_tokens=160 rl_batches_per_round=$((3 * S)) ;;
    ei-no-hints) run_one ei-no-hints expert-iteration "${TASK[@]}" "system_prompt=$PROMPT" "${EI[@]}" n_rounds=2 use_hints=false ;;
    ei-hints) run_one ei-hints expert-iteration "${TASK[@]}" "system_prompt=$PROMPT" "${EI[@]}" "${HINTS[@]}" n_rounds=2 use_hints=true ;;
    gepa-rl-ei) run_one gepa-rl-ei gepa-rl "${TASK[@]}" "seed_prompt=$PROMPT" parallelism=1 "${RL[@]}" "${EI[@]}" n_rounds=1 gepa_iterations=2 max_metric_calls=$((24 * S)) reflection.max_tokens=160 rl_batches_per_round=$((3 * S)) "${HINTS[@]}" expert_rounds_per_round=1 ;;
    *) echo "unknown ablation $a (expected: ${ALL[*]})" >&2; exit 2 ;;
  esac
done
echo "logs: $LOG_DIR"
