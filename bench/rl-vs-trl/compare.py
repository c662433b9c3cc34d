"""Print the per-step table and the ratios of bench/rl-vs-trl from the two sides' JSON results."""
import json
import sys

o, t = (json.load(open(p)) for p in sys.argv[1:3])
os_, ts_ = o["steps"], t["steps"]
n = min(len(os_), len(ts_))
print("step   ours s = sample + score + train + orchestration   trained |  TRL s  trained")
for k in range(n):
    a, b = os_[k], ts_[k]
    print(f"{k:>4}  {a['step_s']:7.2f} = {a['sample_s']:6.2f} + {a['score_s']:5.2f} + {a['train_s']:6.2f} + {a['orchestration_s']:5.2f}"
          f"{'  (end test eval %.1f s taken out)' % a['eval_excluded_s'] if a['eval_excluded_s'] else '':<34}{'yes' if a['trained'] else 'NO':>4} | {b['step_s']:6.2f}  {'yes' if b['trained'] else 'NO':>4}")
cmp = [k for k in range(1, n) if os_[k]["trained"] and ts_[k]["trained"]]
skipped = [k for k in range(1, n) if k not in cmp]
if not cmp:
    sys.exit("no step after step 0 trained on both sides: nothing to compare. Fix: another BENCH_SEED, or more BENCH_STEPS")
mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
ours_step = mean([os_[k]["step_s"] for k in cmp])
trl_step = mean([ts_[k]["step_s"] for k in cmp])
part = {p: mean([os_[k][p] for k in cmp]) for p in ("sample_s", "score_s", "train_s", "orchestration_s")}
print(f"compared steps: {', '.join(map(str, cmp))} (step 0 is warm-up on both sides" + (f"; left out, not trained on both sides: {', '.join(map(str, skipped))})" if skipped else ")"))
print(f" gepa-rl: {ours_step:.2f} s/step: sampling {part['sample_s']:.2f}, grading {part['score_s']:.2f}, training {part['train_s']:.2f}, orchestration {part['orchestration_s']:.3f}")
print(f"     trl: {trl_step:.2f} s/step")
print(f"ratio step time ours/TRL: {ours_step / trl_step:.2f}x (goal <= 0.5x)")
print(f"orchestration share of our step: {100 * part['orchestration_s'] / ours_step:.1f}% (goal <= 3%)")
m = o["peak_rss_by_process_mib"]
print(f"peak memory: ours trainer worker {m['trainer']:.0f} MiB (+ TS worker {m['worker']:.0f}, Temporal dev server {m['temporal']:.0f}), TRL {t['peak_rss_mib']:.0f} MiB")
print(f"ratio peak memory ours/TRL: {m['trainer'] / t['peak_rss_mib']:.2f}x trainer worker alone, {sum(m.values()) / t['peak_rss_mib']:.2f}x with the TS worker and Temporal")
