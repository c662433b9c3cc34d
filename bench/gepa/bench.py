"""bench/gepa driver: our gepaOptimization workflow vs the reference `gepa` library, same task data,
policy, reflection LM, grading rule and metric-call budget. Stdlib only; run by bench/gepa/run.sh.

Each side runs as its own process, timed here from launch to exit (ours: the `gepa-rl gepa` CLI,
which starts the workflow on the running stack and waits for its result; reference:
bench/gepa/reference.py in the bench venv). Prints best val score, metric calls and wall time of
each, and the wall-time ratio ours / reference.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
env = os.environ.get

CFG = {
    "budget": int(env("GEPA_BENCH_BUDGET", "50")),
    "n_val": int(env("GEPA_BENCH_N_VAL", "8")),
    "n_train": int(env("GEPA_BENCH_N_TRAIN", "40")),
    "n_test": int(env("GEPA_BENCH_N_TEST", "16")),
    "digits": int(env("GEPA_BENCH_DIGITS", "1")),
    "operators": env("GEPA_BENCH_OPERATORS", "+"),
    "minibatch": int(env("GEPA_BENCH_MINIBATCH", "3")),
    "max_tokens": int(env("GEPA_BENCH_MAX_TOKENS", "16")),
    "temperature": float(env("GEPA_BENCH_TEMPERATURE", "0")),
    "reflection_max_tokens": int(env("GEPA_BENCH_REFLECTION_MAX_TOKENS", "160")),
    "reflection_temperature": float(env("GEPA_BENCH_REFLECTION_TEMPERATURE", "1.0")),
    "parallelism": int(env("GEPA_BENCH_PARALLELISM", "4")),
    # seeds of the runs (run.seed / gepa's seed); both sides run once per seed
    "seeds": [int(x) for x in env("GEPA_BENCH_SEEDS", env("GEPA_BENCH_SEED", "0,1,2")).split(",") if x.strip()],
    "seed_prompt": env("GEPA_BENCH_SEED_PROMPT", "You are a helpful assistant. Solve the problem and give the final answer."),
    "base_url": env("GEPA_RL_LOCAL_LM_URL", f"http://127.0.0.1:{env('GEPA_RL_LM_PORT', '8765')}/v1"),
    "model": env("GEPA_RL_LM_MODEL", "smollm2-135m-instruct"),
}
OUT = os.path.join(ROOT, ".data", "bench-gepa", time.strftime("%Y%m%d-%H%M%S"))


def loadavg() -> str:
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


def timed(cmd: list[str], log: str) -> tuple[float, int, str]:
    t0 = time.monotonic()
    with open(log, "w") as f:
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=f, text=True)
    secs = time.monotonic() - t0
    with open(log, "a") as f:
        f.write("\n--- stdout ---\n" + p.stdout)
    return secs, p.returncode, p.stdout


def reflection_time_ours(workflow_id: str) -> tuple[float, int] | None:
    """Seconds and count of proposeComponent activities (the reflection LM calls), from the history."""
    from datetime import datetime

    temporal = os.path.join(ROOT, ".venv", "bin", "temporal")
    addr = env("TEMPORAL_ADDRESS", f"localhost:{env('GEPA_RL_TEMPORAL_PORT', '7233')}")
    p = subprocess.run([temporal, "workflow", "show", "--workflow-id", workflow_id, "--output", "json", "--address", addr],
                       cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        return None
    at = lambda e: datetime.fromisoformat(e["eventTime"].replace("Z", "+00:00"))
    scheduled, secs, n = {}, 0.0, 0
    for e in json.loads(p.stdout).get("events", []):
        if "activityTaskScheduledEventAttributes" in e:
            scheduled[int(e["eventId"])] = (e["activityTaskScheduledEventAttributes"]["activityType"]["name"], at(e))
        elif "activityTaskCompletedEventAttributes" in e:
            name, t0 = scheduled.get(int(e["activityTaskCompletedEventAttributes"]["scheduledEventId"]), ("?", None))
            if name == "proposeComponent":
                secs += (at(e) - t0).total_seconds()
                n += 1
    return secs, n


def run_ours(task: dict, seed: int) -> dict:
    c = CFG
    run_id = f"bench-gepa-{os.path.basename(OUT)}-s{seed}"
    args = [
        f"env={task['env']}", f"task.n_train={task['n_train']}", f"task.n_val={task['n_val']}", f"task.n_test={task['n_test']}",
        f"task.data_seed={task['data_seed']}", f"arithmetic_digits={task['arithmetic_digits']}", f"arithmetic_operators={task['arithmetic_operators']}",
        "policy.backend=api", "policy.api_provider=local", f"policy.api_model={c['model']}", f"policy.api_base_url={c['base_url']}",
        f"max_tokens={c['max_tokens']}", f"temperature={c['temperature']}",
        "reflection.provider=local", f"reflection.model={c['model']}", f"reflection.base_url={c['base_url']}",
        f"reflection.max_tokens={c['reflection_max_tokens']}", f"reflection.temperature={c['reflection_temperature']}",
        f"max_metric_calls={c['budget']}", f"minibatch_size={c['minibatch']}", f"parallelism={c['parallelism']}",
        f"run.seed={seed}", f"seed_prompt={c['seed_prompt']}", f"run.output_dir={os.path.join(OUT, 'runs')}",
    ]
    cmd = ["node", "dist/cli/main.js", "gepa", *args, "--id", run_id, "--json"]
    secs, rc, stdout = timed(cmd, os.path.join(OUT, f"ours-s{seed}.log"))
    last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    if rc != 0 or not last.startswith("{"):
        sys.exit(f"our gepaOptimization run failed (rc {rc}); see {OUT}/ours-s{seed}.log")
    r = json.loads(last)
    refl = reflection_time_ours(run_id)
    return {
        "reflection_seconds": round(refl[0], 2) if refl else None,
        "name": "ours (gepaOptimization)",
        "best_val_score": r["best_val_score"],
        "seed_val_score": r["seed_val_score"],
        "metric_calls": r["budget_used"],
        "n_candidates": r["n_candidates"],
        "counters": r.get("counters"),
        "reflection_calls": (r["counters"]["iterations"] - r["counters"]["skipped_perfect"]) if r.get("counters") else None,
        "stop_reason": r.get("stop_reason"),
        "best_prompt": r["best_prompt"],
        "run_dir": r["run_dir"],
        "wall_s": secs,
    }


def run_reference(data_path: str, seed: int) -> dict:
    c = CFG
    out = os.path.join(OUT, f"reference-s{seed}.json")
    cmd = [
        sys.executable, os.path.join(HERE, "reference.py"), "--data", data_path, "--out", out,
        "--base-url", c["base_url"], "--model", c["model"], "--seed-prompt", c["seed_prompt"],
        "--max-metric-calls", str(c["budget"]), "--minibatch-size", str(c["minibatch"]),
        "--max-tokens", str(c["max_tokens"]), "--temperature", str(c["temperature"]),
        "--reflection-max-tokens", str(c["reflection_max_tokens"]), "--reflection-temperature", str(c["reflection_temperature"]),
        "--seed", str(seed),
    ]
    secs, rc, _ = timed(cmd, os.path.join(OUT, f"reference-s{seed}.log"))
    if rc != 0 or not os.path.exists(out):
        sys.exit(f"the reference gepa run failed (rc {rc}); see {OUT}/reference-s{seed}.log")
    r = json.load(open(out))
    r["wall_s"] = secs
    return r


def main() -> int:
    os.makedirs(OUT, exist_ok=True)
    c = CFG
    task = {"env": "arithmetic", "n_train": c["n_train"], "n_val": c["n_val"], "n_test": c["n_test"], "data_seed": 0,
            "arithmetic_digits": c["digits"], "arithmetic_operators": c["operators"]}
    data_path = os.path.join(OUT, "data.json")
    subprocess.run(["node", os.path.join(HERE, "export_data.js"), json.dumps(task), data_path], cwd=ROOT, check=True)
    print(f"task arithmetic {c['digits']} digit(s) '{c['operators']}', {c['n_train']} train / {c['n_val']} val; policy and reflection LM "
          f"{c['model']} at {c['base_url']} (policy temperature {c['temperature']}, max_tokens {c['max_tokens']}; reflection "
          f"temperature {c['reflection_temperature']}, max_tokens {c['reflection_max_tokens']}); max_metric_calls {c['budget']}, "
          f"minibatch {c['minibatch']}; our parallelism {c['parallelism']}", flush=True)
    only = env("GEPA_BENCH_ONLY", "")
    per_seed = []
    for seed in c["seeds"]:
        print(f"\n=== seed {seed}", flush=True)
        results = []
        for side in ("ours", "reference"):
            if only and only != side:
                continue
            print(f"running {side} (load average {loadavg()}) ...", flush=True)
            results.append(run_ours(task, seed) if side == "ours" else run_reference(data_path, seed))
        report_seed(results)
        per_seed.append(results)
    json.dump({"config": c, "results": per_seed}, open(os.path.join(OUT, "summary.json"), "w"), indent=1)
    if per_seed and len(per_seed[0]) == 2:
        mean = lambda xs: sum(xs) / len(xs)
        a = mean([r[0]["best_val_score"] for r in per_seed])
        b = mean([r[1]["best_val_score"] for r in per_seed])
        ratio = sum(r[0]["wall_s"] for r in per_seed) / sum(r[1]["wall_s"] for r in per_seed)
        print()
        print(f"gepa bench: ours best val {a:.3f}, reference {b:.3f} (mean over {len(per_seed)} seeds); wall-time ratio ours/reference {ratio:.2f}")
    print(f"logs and results: {OUT}")
    return 0


def report_seed(results: list[dict]) -> None:
    print()
    for r in results:
        extra = ""
        if r.get("counters"):
            k = r["counters"]
            extra = (f"; {k['iterations']} iterations: {k['accepted']} accepted, {k['rejected']} rejected "
                     f"({k['rejected_unfenced']} truncated/unclosed/empty reflections), {k['skipped_perfect']} skipped (perfect minibatch); stop: {r['stop_reason']}")
        elif r.get("ref_counters"):
            k = r["ref_counters"]
            extra = f"; {k['iterations']} iterations: {k['accepted']} accepted, {k['rejected']} rejected, {k['skipped']} skipped (perfect minibatch)"
        print(f"{r['name']:>24}: best val score {r['best_val_score']:.3f} (seed {r['seed_val_score']:.3f}), wall {r['wall_s']:.1f} s, "
              f"{r['metric_calls']} metric calls ({r['wall_s'] / max(1, r['metric_calls']):.2f} s each), "
              f"{r['reflection_calls']} reflection calls, {r['n_candidates']} candidates{extra}")
    rest = {}
    for r in results:
        if r.get("reflection_seconds") is not None:
            rest[r["name"]] = (r["wall_s"] - r["reflection_seconds"]) / max(1, r["metric_calls"])
            print(f"{r['name']:>24}: reflection LM {r['reflection_seconds']:.1f} s in {r['reflection_calls']} calls; "
                  f"the rest (policy sampling, grading, orchestration) {r['wall_s'] - r['reflection_seconds']:.1f} s = "
                  f"{rest[r['name']]:.2f} s per metric call")
    if len(results) == 2:
        o, ref = results
        print(f"wall-time ratio ours / reference: {o['wall_s'] / ref['wall_s']:.2f}x")
        if len(rest) == 2:
            print(f"  excluding reflection calls, per metric call: {rest[o['name']] / rest[ref['name']]:.2f}x "
                  f"(the reference may overshoot max_metric_calls, ours never does; the sides make different numbers of reflection calls)")
    for r in results:
        print(f"{r['name']:>24} best prompt: {json.dumps(r['best_prompt'][:160])}")


if __name__ == "__main__":
    sys.exit(main())
