#!/usr/bin/env bash
# bench/ablations: every ablation of the seeds by config flags alone, end to end with the local
# model (SmolLM2-135M-Instruct as policy, reflection LM and teacher) on arithmetic, through the real
# stack. For each ablation and seed: test accuracy at the start and the end, and wall time; then one
# line per ablation with the mean and the spread (sample std, min..max) over the seeds.
#   bash bench/ablations/run.sh              # all six, seeds 0 1 2, 64 test problems
#   bash bench/ablations/run.sh rl ei-hints  # a subset
# Settings (environment):
#   GEPA_RL_ABLATION_SEEDS  run seeds (default "0 1 2"); the data split is the same for every seed
#                           (data_seed=0), so the seeds differ only in the runs' random choices
#   GEPA_RL_ABLATION_TEST   test problems scored at the start and the end (default 64)
#   GEPA_RL_ABLATION_SCALE  multiplies the training sizes (default 1)
#   GEPA_RL_ABLATION_EI_ROUNDS  rounds of the two expert-iteration ablations (default 2)
#   GEPA_RL_ABLATION_STEPS  RL steps of `rl` and `fast-slow` (default 3 x scale; gepa-rl's RL phase stays 3 x scale)
#   GEPA_RL_ABLATION_EVAL_EVERY  test evaluation every N steps in `rl` and `fast-slow` (default 1), so both
#                           have a test curve at the same steps (best accuracy, steps to reach rl's final one)
#   GEPA_RL_ABLATION_GEPA_EVERY  fast_slow.gepa_every (default max(1, steps / 6)): 1 at 3 steps, so a round
#                           runs after step 0 and its child is on trial in step 1 (and again after step 1)
# `fast-slow` runs at rl's RL steps and policy samples: the same batches, group size, learning rate, loss and
# seed prompt; its GEPA rounds add only reflection calls (the child is sampled inside RL's batches,
# child_eval=rollouts); the other fast_slow keys keep their defaults (pool 4, 2 prompts a group, score
# window 6, advantage group = problem).
# The stack is this checkout's (scripts/stack.sh with GEPA_RL_TEMPORAL_PORT etc.); results go to
# .data/logs/ablations-<time>/results.jsonl (one row per run) and the table to stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh >/dev/null
bash scripts/stack.sh up
export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-localhost:${GEPA_RL_TEMPORAL_PORT:-7233}}
S=${GEPA_RL_ABLATION_SCALE:-1}
N_TEST=${GEPA_RL_ABLATION_TEST:-64}
EI_ROUNDS=${GEPA_RL_ABLATION_EI_ROUNDS:-2}
STEPS=${GEPA_RL_ABLATION_STEPS:-$((3 * S))}
EVAL_EVERY=${GEPA_RL_ABLATION_EVAL_EVERY:-1}
GEPA_EVERY=${GEPA_RL_ABLATION_GEPA_EVERY:-$(( STEPS / 6 > 1 ? STEPS / 6 : 1 ))}
read -r -a SEEDS <<<"${GEPA_RL_ABLATION_SEEDS:-0 1 2}"
STAMP=$(date +%H%M%S)
PROMPT="You are a calculator. Reply with only the number."
TASK=(env=arithmetic arithmetic_digits=1 arithmetic_operators=+ data_seed=0 n_val=8 n_test=$N_TEST max_tokens=16)
RL=(groups_per_batch=$((8 * S)) group_size=4 learning_rate=5e-4 n_eval=$N_TEST)
EI=(problems_per_round=$((8 * S)) attempts_per_problem=4)
HINTS=(expert_samples=4 teacher.max_tokens=64)  # read only with use_hints=true (refused otherwise)
CURVE=(eval_every=$EVAL_EVERY n_batches=$STEPS)  # rl and fast-slow: the same steps and test evaluations
ALL=(rl fast-slow gepa-rl ei-no-hints ei-hints gepa-rl-ei)
WANT=("$@")
[ ${#WANT[@]} -gt 0 ] || WANT=("${ALL[@]}")

LOG_DIR=.data/logs/ablations-$STAMP
mkdir -p "$LOG_DIR"
RESULTS=$LOG_DIR/results.jsonl

run_one() {
  local name=$1 seed=$2; shift 2
  local id="abl-$name-s$seed-$STAMP" t0=$SECONDS
  echo "== $name seed=$seed: $*" >&2
  node dist/cli/main.js "$@" "seed=$seed" --id "$id" >"$LOG_DIR/$name-s$seed.log" 2>&1 || { echo "$name seed=$seed failed; see $LOG_DIR/$name-s$seed.log" >&2; tail -5 "$LOG_DIR/$name-s$seed.log" >&2; return 0; }
  node bench/ablations/summary.js row "$name" "$seed" "runs/$id" $(( SECONDS - t0 )) | tee -a "$RESULTS" | node bench/ablations/summary.js print-row
}

echo "ablation     seed  test accuracy start -> end   wall"
for seed in "${SEEDS[@]}"; do
  for a in "${WANT[@]}"; do
    case $a in
      rl) run_one rl "$seed" rl "${TASK[@]}" "system_prompt=$PROMPT" "${RL[@]}" "${CURVE[@]}" ;;
      fast-slow) run_one fast-slow "$seed" fast-slow "${TASK[@]}" "system_prompt=$PROMPT" "${RL[@]}" "${CURVE[@]}" gepa_every=$GEPA_EVERY reflection.max_tokens=160 ;;
      gepa-rl) run_one gepa-rl "$seed" gepa-rl "${TASK[@]}" "seed_prompt=$PROMPT" parallelism=1 "${RL[@]}" eval_every=0 n_rounds=1 gepa_iterations=2 max_metric_calls=$((24 * S)) reflection.max_tokens=160 rl_batches_per_round=$((3 * S)) ;;
      ei-no-hints) run_one ei-no-hints "$seed" expert-iteration "${TASK[@]}" "system_prompt=$PROMPT" "${EI[@]}" n_eval=$N_TEST n_rounds=$EI_ROUNDS use_hints=false ;;
      ei-hints) run_one ei-hints "$seed" expert-iteration "${TASK[@]}" "system_prompt=$PROMPT" "${EI[@]}" n_eval=$N_TEST "${HINTS[@]}" n_rounds=$EI_ROUNDS use_hints=true ;;
      gepa-rl-ei) run_one gepa-rl-ei "$seed" gepa-rl "${TASK[@]}" "seed_prompt=$PROMPT" parallelism=1 "${RL[@]}" eval_every=0 "${EI[@]}" n_rounds=1 gepa_iterations=2 max_metric_calls=$((24 * S)) reflection.max_tokens=160 rl_batches_per_round=$((3 * S)) "${HINTS[@]}" expert_rounds_per_round=1 ;;
      *) echo "unknown ablation $a (expected: ${ALL[*]})" >&2; exit 2 ;;
    esac
  done
done
echo
if [ -s "$RESULTS" ]; then node bench/ablations/summary.js table "$RESULTS"; echo; node bench/ablations/summary.js compare "$RESULTS"; else echo "no run finished: nothing to tabulate"; fi
echo "logs and results.jsonl: $LOG_DIR"
