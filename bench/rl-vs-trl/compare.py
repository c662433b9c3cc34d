"""Print the per-step table and the ratios of bench/rl-vs-trl from the sides' JSON results.

  compare.py OURS.json [OURS2.json ...] TRL.json [TRL2.json ...]

Ours are the results named gepa-rl/<sampler> (ours.py), TRL's those named trl or trl-vllm
(trl_grpo.py). The first of ours and the first TRL result are the reference pair (the ratio and the
step-0/trained-steps rule as before); every other side is compared with them over the steps that
trained on every side."""
import json
import sys

results = [json.load(open(p)) for p in sys.argv[1:]]
ours = [r for r in results if r["name"].startswith("gepa-rl")]
trls = [r for r in results if r["name"].startswith("trl")]
if not ours or not trls:
    sys.exit(f"compare.py needs at least one gepa-rl and one trl result (got {[r['name'] for r in results]})")
n = min(len(r["steps"]) for r in results)
print("step  " + "  ".join(f"{o['name']:>14} s = sample + score + train + orch  trained" for o in ours) + "  | " + "  ".join(f"{t['name']:>8} s trained" for t in trls))
for k in range(n):
    cells = []
    for o in ours:
        a = o["steps"][k]
        ev = f" (-{a['eval_excluded_s']:.1f} eval)" if a["eval_excluded_s"] else ""
        cells.append(f"{a['step_s']:16.2f} = {a['sample_s']:6.2f} + {a['score_s']:5.2f} + {a['train_s']:5.2f} + {a['orchestration_s']:4.2f}{ev:<13}{'yes' if a['trained'] else 'NO':>4}")
    tcells = [f"{t['steps'][k]['step_s']:10.2f} {'yes' if t['steps'][k]['trained'] else 'NO':>7}" for t in trls]
    print(f"{k:>4}  " + "  ".join(cells) + "  | " + "  ".join(tcells))
cmp = [k for k in range(1, n) if all(r["steps"][k]["trained"] for r in results)]
skipped = [k for k in range(1, n) if k not in cmp]
if not cmp:
    sys.exit("no step after step 0 trained on every side: nothing to compare. Fix: another BENCH_SEED, or more BENCH_STEPS")
mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
step = {r["name"]: mean([r["steps"][k]["step_s"] for k in cmp]) for r in results}
print(f"compared steps: {', '.join(map(str, cmp))} (step 0 is warm-up on every side" + (f"; left out, not trained on every side: {', '.join(map(str, skipped))})" if skipped else ")"))
for o in ours:
    part = {p: mean([o["steps"][k][p] for k in cmp]) for p in ("sample_s", "score_s", "train_s", "orchestration_s")}
    print(f" {o['name']}: {step[o['name']]:.2f} s/step: sampling {part['sample_s']:.2f}, grading {part['score_s']:.2f}, training {part['train_s']:.2f}, orchestration {part['orchestration_s']:.3f} ({100 * part['orchestration_s'] / step[o['name']]:.1f}% of the step, goal <= 3%)")
for t in trls:
    print(f" {t['name']}: {step[t['name']]:.2f} s/step")
ref = trls[0]["name"]
for o in ours:
    for t in trls:
        print(f"ratio step time {o['name']}/{t['name']}: {step[o['name']] / step[t['name']]:.2f}x" + (" (goal <= 0.5x)" if t["name"] == ref else ""))
for o in ours[1:]:
    print(f"ratio step time {o['name']}/{ours[0]['name']}: {step[o['name']] / step[ours[0]['name']]:.2f}x")
for t in trls[1:]:
    print(f"ratio step time {t['name']}/{ref}: {step[t['name']] / step[ref]:.2f}x")
for o in ours:
    m = o["peak_rss_by_process_mib"]
    kids = m.get("trainer_children", 0.0)
    side = m["trainer"] + kids
    print(f"peak memory {o['name']}: trainer worker {m['trainer']:.0f} MiB" + (f" + its vLLM server {kids:.0f}" if kids else "") + f" (+ TS worker {m['worker']:.0f}, Temporal dev server {m['temporal']:.0f})")
    for t in trls:
        print(f"ratio peak memory {o['name']}/{t['name']} ({t['peak_rss_mib']:.0f} MiB): {side / t['peak_rss_mib']:.2f}x trainer worker" + (" and vLLM server" if kids else "") + f", {(side + m['worker'] + m['temporal']) / t['peak_rss_mib']:.2f}x with the TS worker and Temporal")
