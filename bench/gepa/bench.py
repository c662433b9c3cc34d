"""bench/gepa driver: our gepaOptimization workflow vs the reference `gepa` library, same task data,
policy, reflection LM, grading rule and metric-call budget. Stdlib only; run by bench/gepa/run.sh.

Each side runs as its own process, timed here from launch to exit (ours: the `gepa-rl gepa` CLI,
which starts the workflow on the running stack and waits for its result; reference:
bench/gepa/reference.py in the bench venv, gepa's DefaultAdapter on its litellm path). Prints best
val score, metric calls and wall time of each, and the wall-time ratio ours / reference.

Two settings (GEPA_BENCH_SETTINGS, default "api,local"): `api` sends both sides' calls through
bench/gepa/latency_proxy.js, which adds GEPA_BENCH_LATENCY_MS (1500) to every call and lets calls
overlap, as a hosted model's API would; `local` sends them to the local LM server directly. The
last two lines: the API-like setting's result, then the local one's.
"""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
env = os.environ.get

CFG = {
    # 72 at 16 val: after the seed's 16, two iterations' worst cases (2 x 3 + 16 = 22 each) fit beside
    # each other, so parallel proposals overlap (at 50 only one fits: P > 1 ran as P = 1)
    "budget": int(env("GEPA_BENCH_BUDGET", "72")),
    "n_val": int(env("GEPA_BENCH_N_VAL", "16")),
    "n_train": int(env("GEPA_BENCH_N_TRAIN", "40")),
    "n_test": int(env("GEPA_BENCH_N_TEST", "16")),
    "digits": int(env("GEPA_BENCH_DIGITS", "1")),
    "operators": env("GEPA_BENCH_OPERATORS", "+"),
    "minibatch": int(env("GEPA_BENCH_MINIBATCH", "3")),
    "max_tokens": int(env("GEPA_BENCH_MAX_TOKENS", "16")),
    "temperature": float(env("GEPA_BENCH_TEMPERATURE", "0")),
    "reflection_max_tokens": int(env("GEPA_BENCH_REFLECTION_MAX_TOKENS", "160")),
    "reflection_temperature": float(env("GEPA_BENCH_REFLECTION_TEMPERATURE", "1.0")),
    # ours: evaluation calls in flight, as many as the reference's max_litellm_workers (gepa's default 10)
    "parallelism": int(env("GEPA_BENCH_PARALLELISM", "10")),
    "max_litellm_workers": int(env("GEPA_BENCH_MAX_LITELLM_WORKERS", "10")),
    # ours: gepa.parallel_proposals (reflective iterations in flight; the budget's reservations bound
    # how many really are); empty: the workflow's default (1)
    "parallel_proposals": env("GEPA_BENCH_PARALLEL_PROPOSALS", "4"),
    # the reference's task LM: litellm (DefaultAdapter with a model string, batch_completion) or callable
    "reference_lm": env("GEPA_BENCH_REFERENCE_LM", "litellm"),
    # the reference's cache_evaluation, on by default as ours is at temperature 0 (gepa.cache_evaluation)
    "reference_cache": env("GEPA_BENCH_REFERENCE_CACHE", "1") == "1",
    "settings": [x.strip() for x in env("GEPA_BENCH_SETTINGS", "api,local").split(",") if x.strip()],
    "latency_ms": int(env("GEPA_BENCH_LATENCY_MS", "1500")),
    # ours: strict (default: never past max_metric_calls) or reference (gepa-ai/gepa's check before each iteration)
    "budget_rule": env("GEPA_BENCH_BUDGET_RULE", "strict"),
    # more key=value settings for our side only (space-separated), e.g. "rejected_memory=0"
    "ours_extra": env("GEPA_BENCH_OURS_EXTRA", "").split(),
    # ours: the reflection prompt's wording: ours (our default template) or reference (gepa's own
    # default template, read from the installed gepa at run time, its <curr_param> / <side_info> as
    # our {current_text} / {examples}: gepa.reflection_template, for a like-for-like reflection prompt)
    "ours_template": env("GEPA_BENCH_OURS_TEMPLATE", "ours"),
    # seeds of the runs (run.seed / gepa's seed); both sides run once per seed
    "seeds": [int(x) for x in env("GEPA_BENCH_SEEDS", env("GEPA_BENCH_SEED", "0,1,2,3,4")).split(",") if x.strip()],
    "seed_prompt": env("GEPA_BENCH_SEED_PROMPT", "You are a helpful assistant. Solve the problem and give the final answer."),
    "base_url": env("GEPA_RL_LOCAL_LM_URL", f"http://127.0.0.1:{env('GEPA_RL_LM_PORT', '8765')}/v1"),
    "model": env("GEPA_RL_LM_MODEL", "smollm2-135m-instruct"),
}
OUT = os.path.join(ROOT, ".data", "bench-gepa", time.strftime("%Y%m%d-%H%M%S"))
# the CLI runs of our side reach the same Temporal server as `temporal workflow show` below (the CLI
# reads TEMPORAL_ADDRESS only, the stack's scripts GEPA_RL_TEMPORAL_PORT)
os.environ.setdefault("TEMPORAL_ADDRESS", f"localhost:{env('GEPA_RL_TEMPORAL_PORT', '7233')}")


def reference_template() -> str:
    """gepa's default reflection template (the installed package's), in our placeholders."""
    from gepa.strategies.instruction_proposal import InstructionProposalSignature

    t = InstructionProposalSignature.default_prompt_template
    if "<curr_param>" not in t or "<side_info>" not in t:
        sys.exit("the installed gepa's default_prompt_template lacks <curr_param> or <side_info>: GEPA_BENCH_OURS_TEMPLATE=reference cannot map it")
    return t.replace("<curr_param>", "{current_text}").replace("<side_info>", "{examples}")


def loadavg() -> str:
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


def timed(cmd: list[str], log: str) -> tuple[float, int, str, tuple[float, float]]:
    """Run cmd; its wall seconds, exit code, stdout, and its (start, end) in epoch seconds."""
    t0, e0 = time.monotonic(), time.time()
    with open(log, "w") as f:
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=f, text=True)
    secs = time.monotonic() - t0
    with open(log, "a") as f:
        f.write("\n--- stdout ---\n" + p.stdout)
    return secs, p.returncode, p.stdout, (e0, e0 + secs)


# The parts of the wall time, both sides: the LM answering the policy, the grader, the reflection LM,
# and everything else (orchestration: process start, workflow and activity dispatch, run-dir writes,
# the reference's engine code).
PARTS = ("policy", "grading", "reflection", "orchestration")
# our activity types by part; any other activity (buildPrompts, appendRows, writeJson ...) is orchestration
OUR_ACTIVITY_PART = {
    "apiSample": "policy", "policy_sample": "policy",
    "scoreRollouts": "grading", "grade_math": "grading", "grade_batch": "grading",
    "proposeComponent": "reflection",
}


def breakdown_ours(workflow_id: str, span: tuple[float, float]) -> dict | None:
    """Our wall time by part, from the workflow's Temporal history: each activity's started..completed
    interval belongs to its part (OUR_ACTIVITY_PART); evaluations run in parallel chunks, so each moment
    of the CLI's wall time is given to one part, the first in PARTS order that has an activity running
    then; moments with none are orchestration. Also the count and summed seconds per activity type."""
    from datetime import datetime

    temporal = os.path.join(ROOT, ".venv", "bin", "temporal")
    addr = env("TEMPORAL_ADDRESS", f"localhost:{env('GEPA_RL_TEMPORAL_PORT', '7233')}")
    p = subprocess.run([temporal, "workflow", "show", "--workflow-id", workflow_id, "--output", "json", "--address", addr],
                       cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        print(f"(no time breakdown for {workflow_id}: temporal workflow show failed: {p.stderr.strip()[:200]})")
        return None
    at = lambda e: datetime.fromisoformat(e["eventTime"].replace("Z", "+00:00")).timestamp()
    names, started, spans = {}, {}, []
    for e in json.loads(p.stdout).get("events", []):
        if "activityTaskScheduledEventAttributes" in e:
            names[int(e["eventId"])] = e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        elif "activityTaskStartedEventAttributes" in e:
            started[int(e["activityTaskStartedEventAttributes"]["scheduledEventId"])] = at(e)
        elif "activityTaskCompletedEventAttributes" in e or "activityTaskFailedEventAttributes" in e:
            attrs = e.get("activityTaskCompletedEventAttributes") or e["activityTaskFailedEventAttributes"]
            sid = int(attrs["scheduledEventId"])
            if sid in started:
                spans.append((names.get(sid, "?"), started[sid], at(e)))
    by_type: dict[str, list[float]] = {}
    for name, t0, t1 in spans:
        by_type.setdefault(name, [0, 0.0])
        by_type[name][0] += 1
        by_type[name][1] += t1 - t0
    # sweep over the interval boundaries, giving each piece to the first part with an activity running
    cuts = sorted({span[0], span[1], *[t for _, a, b in spans for t in (a, b) if span[0] <= t <= span[1]]})
    parts = {k: 0.0 for k in PARTS}
    for a, b in zip(cuts, cuts[1:]):
        mid = (a + b) / 2
        running = {OUR_ACTIVITY_PART.get(n, "orchestration") for n, s0, s1 in spans if s0 <= mid < s1}
        parts[next((k for k in PARTS if k in running), "orchestration")] += b - a
    return {"parts": {k: round(v, 2) for k, v in parts.items()}, "activities": {k: {"n": v[0], "seconds": round(v[1], 2)} for k, v in sorted(by_type.items())}}


def breakdown_reference(r: dict) -> dict:
    """The reference runs its adapter calls one at a time: policy, grading and reflection are the timed
    calls (reference.py); orchestration is the rest of the process's wall time."""
    parts = {"policy": r["policy_seconds"], "grading": r["grading_seconds"], "reflection": r["reflection_seconds"]}
    parts["orchestration"] = round(r["wall_s"] - sum(parts.values()), 2)
    return {"parts": parts}


def run_ours(task: dict, seed: int, setting: str, base_url: str) -> dict:
    c = CFG
    run_id = f"bench-gepa-{os.path.basename(OUT)}-{setting}-s{seed}"
    args = [
        f"env={task['env']}", f"task.n_train={task['n_train']}", f"task.n_val={task['n_val']}", f"task.n_test={task['n_test']}",
        f"task.data_seed={task['data_seed']}", f"arithmetic_digits={task['arithmetic_digits']}", f"arithmetic_operators={task['arithmetic_operators']}",
        "policy.backend=api", "policy.api_provider=local", f"policy.api_model={c['model']}", f"policy.api_base_url={base_url}",
        f"max_tokens={c['max_tokens']}", f"temperature={c['temperature']}",
        "reflection.provider=local", f"reflection.model={c['model']}", f"reflection.base_url={base_url}",
        f"reflection.max_tokens={c['reflection_max_tokens']}", f"reflection.temperature={c['reflection_temperature']}",
        f"max_metric_calls={c['budget']}", f"budget_rule={c['budget_rule']}", f"minibatch_size={c['minibatch']}", f"parallelism={c['parallelism']}",
        f"run.seed={seed}", f"seed_prompt={c['seed_prompt']}", f"run.output_dir={os.path.join(OUT, 'runs')}",
        f"val_size={task['n_val']}",  # every val row, as the reference (the default shrinks val to fit the budget)
    ]
    if c["parallel_proposals"]:
        args.append(f"parallel_proposals={c['parallel_proposals']}")
    if c["ours_template"] == "reference":
        args.append(f"gepa.reflection_template={reference_template()}")
    elif c["ours_template"] != "ours":
        sys.exit(f"GEPA_BENCH_OURS_TEMPLATE must be ours or reference; got {c['ours_template']!r}")
    cmd = ["node", "dist/cli/main.js", "gepa", *args, *c["ours_extra"], "--id", run_id, "--json"]
    log = os.path.join(OUT, f"ours-{setting}-s{seed}.log")
    secs, rc, stdout, span = timed(cmd, log)
    last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    if rc != 0 or not last.startswith("{"):
        sys.exit(f"our gepaOptimization run failed (rc {rc}); see {log}")
    r = json.loads(last)
    return {
        "breakdown": breakdown_ours(run_id, span),
        "name": "ours (gepaOptimization)",
        "best_val_score": r["best_val_score"],
        "seed_val_score": r["seed_val_score"],
        "metric_calls": r["metric_calls"],
        "n_candidates": r["n_candidates"],
        "counters": r.get("counters"),
        "reflection_calls": (r["counters"]["iterations"] - r["counters"]["skipped_perfect"]) if r.get("counters") else None,
        "stop_reason": r.get("stop_reason"),
        "best_prompt": r["best_prompt"],
        "run_dir": r["run_dir"],
        "wall_s": secs,
    }


def run_reference(data_path: str, seed: int, setting: str, base_url: str) -> dict:
    c = CFG
    out = os.path.join(OUT, f"reference-{setting}-s{seed}.json")
    cmd = [
        sys.executable, os.path.join(HERE, "reference.py"), "--data", data_path, "--out", out,
        "--task-lm", c["reference_lm"], "--max-litellm-workers", str(c["max_litellm_workers"]),
        *(["--cache-evaluation"] if c["reference_cache"] else []),
        "--base-url", base_url, "--model", c["model"], "--seed-prompt", c["seed_prompt"],
        "--max-metric-calls", str(c["budget"]), "--minibatch-size", str(c["minibatch"]),
        "--max-tokens", str(c["max_tokens"]), "--temperature", str(c["temperature"]),
        "--reflection-max-tokens", str(c["reflection_max_tokens"]), "--reflection-temperature", str(c["reflection_temperature"]),
        "--seed", str(seed),
    ]
    log = os.path.join(OUT, f"reference-{setting}-s{seed}.log")
    secs, rc, _, _ = timed(cmd, log)
    if rc != 0 or not os.path.exists(out):
        sys.exit(f"the reference gepa run failed (rc {rc}); see {log}")
    r = json.load(open(out))
    r["wall_s"] = secs
    r["breakdown"] = breakdown_reference(r)
    return r


def start_proxy(upstream: str, latency_ms: int) -> tuple[subprocess.Popen, str]:
    """bench/gepa/latency_proxy.js on a free port in front of upstream; its base URL."""
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        port = so.getsockname()[1]
    log = open(os.path.join(OUT, "latency-proxy.log"), "w")
    p = subprocess.Popen(["node", os.path.join(HERE, "latency_proxy.js"), upstream, str(port), str(latency_ms)], cwd=ROOT, stdout=log, stderr=log)
    for _ in range(100):
        if "latency proxy ready" in open(log.name).read():
            return p, f"http://127.0.0.1:{port}/v1"
        if p.poll() is not None:
            break
        time.sleep(0.1)
    sys.exit(f"the latency proxy did not start; see {log.name}")


SETTING_NAME = {"api": "API-like (+{ms} ms a call, calls overlap)", "local": "local server"}


def mean_sd(xs: list[float]) -> str:
    return f"{statistics.mean(xs):.3f} ± {statistics.stdev(xs) if len(xs) > 1 else 0.0:.3f}"


def main() -> int:
    os.makedirs(OUT, exist_ok=True)
    c = CFG
    bad = [x for x in c["settings"] if x not in SETTING_NAME]
    if bad:
        sys.exit(f"GEPA_BENCH_SETTINGS: unknown setting(s) {bad} (known: api, local; got {env('GEPA_BENCH_SETTINGS')!r})")
    task = {"env": "arithmetic", "n_train": c["n_train"], "n_val": c["n_val"], "n_test": c["n_test"], "data_seed": 0,
            "arithmetic_digits": c["digits"], "arithmetic_operators": c["operators"]}
    data_path = os.path.join(OUT, "data.json")
    subprocess.run(["node", os.path.join(HERE, "export_data.js"), json.dumps(task), data_path], cwd=ROOT, check=True)
    print(f"task arithmetic {c['digits']} digit(s) '{c['operators']}', {c['n_train']} train / {c['n_val']} val; policy and reflection LM "
          f"{c['model']} at {c['base_url']} (policy temperature {c['temperature']}, max_tokens {c['max_tokens']}; reflection "
          f"temperature {c['reflection_temperature']}, max_tokens {c['reflection_max_tokens']}); max_metric_calls {c['budget']}, "
          f"minibatch {c['minibatch']}; ours: parallelism {c['parallelism']}, parallel_proposals {c['parallel_proposals'] or '(default)'}, "
          f"budget_rule {c['budget_rule']}, reflection template {c['ours_template']}{' ' + ' '.join(c['ours_extra']) if c['ours_extra'] else ''}; reference: task LM {c['reference_lm']}"
          f"{', max_litellm_workers ' + str(c['max_litellm_workers']) if c['reference_lm'] == 'litellm' else ''}, cache_evaluation {c['reference_cache']}; settings {', '.join(c['settings'])}"
          f" (API latency {c['latency_ms']} ms); seeds {c['seeds']}", flush=True)
    only = env("GEPA_BENCH_ONLY", "")
    proxy = None
    urls = {"local": c["base_url"]}
    if "api" in c["settings"]:
        proxy, urls["api"] = start_proxy(c["base_url"], c["latency_ms"])
    per_setting: dict[str, list[list[dict]]] = {k: [] for k in c["settings"]}
    try:
        for i, seed in enumerate(c["seeds"]):
            for setting in c["settings"]:
                print(f"\n=== seed {seed}, {SETTING_NAME[setting].format(ms=c['latency_ms'])}", flush=True)
                results = {}
                # alternate which side goes first, so a change of the machine's load falls on both
                for side in (("ours", "reference") if i % 2 == 0 else ("reference", "ours")):
                    if only and only != side:
                        continue
                    print(f"running {side} (load average {loadavg()}) ...", flush=True)
                    results[side] = run_ours(task, seed, setting, urls[setting]) if side == "ours" else run_reference(data_path, seed, setting, urls[setting])
                ordered = [results[k] for k in ("ours", "reference") if k in results]
                report_seed(ordered)
                per_setting[setting].append(ordered)
                json.dump({"config": c, "results": per_setting}, open(os.path.join(OUT, "summary.json"), "w"), indent=1)
    finally:
        if proxy:
            proxy.terminate()
            proxy.wait(timeout=10)
    lines = []
    for setting in sorted(c["settings"], key=lambda x: 0 if x == "api" else 1):
        per_seed = per_setting[setting]
        if not per_seed or len(per_seed[0]) != 2:
            continue
        label = SETTING_NAME[setting].format(ms=c["latency_ms"])
        a = [r[0]["best_val_score"] for r in per_seed]
        b = [r[1]["best_val_score"] for r in per_seed]
        wall_o, wall_r = sum(r[0]["wall_s"] for r in per_seed), sum(r[1]["wall_s"] for r in per_seed)
        ratio = wall_o / wall_r
        print(f"\n=== {label}, all {len(per_seed)} seeds")
        print(f"best val: ours {mean_sd(a)} ({', '.join(f'{x:.3f}' for x in a)}), reference {mean_sd(b)} ({', '.join(f'{x:.3f}' for x in b)}); "
              f"seed prompt {per_seed[0][0]['seed_val_score']:.3f}")
        print(f"wall: ours {wall_o:.1f} s ({mean_sd([r[0]['wall_s'] for r in per_seed])} a run), reference {wall_r:.1f} s "
              f"({mean_sd([r[1]['wall_s'] for r in per_seed])} a run); metric calls ours {sum(r[0]['metric_calls'] for r in per_seed)}, "
              f"reference {sum(r[1]['metric_calls'] for r in per_seed)}")
        o = print_breakdown(per_seed[0][0]["name"], [r[0] for r in per_seed])
        ref = print_breakdown(per_seed[0][1]["name"], [r[1] for r in per_seed])
        if o and ref:
            rest = lambda b: b["wall"] - b["parts"]["reflection"]
            print(f"without reflection (policy + grading + orchestration): ours {rest(o):.1f} s, reference {rest(ref):.1f} s, ratio {rest(o) / rest(ref):.2f}")
        lines.append(f"gepa bench: ours best val {statistics.mean(a):.3f}, reference {statistics.mean(b):.3f} (mean over {len(per_seed)} seeds); "
                     f"wall-time ratio ours/reference {ratio:.2f}" + ("" if setting == "api" else " (local server)"))
    print(f"\nlogs and results: {OUT}")
    for line in lines:
        print(line)
    return 0


def print_breakdown(name: str, runs: list[dict]) -> dict | None:
    """One line: the side's wall time over these runs by part (seconds and share), reflection calls."""
    if any(not r.get("breakdown") for r in runs):
        return None
    parts = {k: sum(r["breakdown"]["parts"][k] for r in runs) for k in PARTS}
    wall = sum(r["wall_s"] for r in runs)
    calls = sum(r["reflection_calls"] or 0 for r in runs)
    shares = ", ".join(f"{k} {v:.1f} s ({100 * v / wall:.0f}%)" for k, v in parts.items())
    print(f"{name:>24}: wall {wall:.1f} s = {shares}; {calls} reflection calls ({parts['reflection'] / max(1, calls):.1f} s each)")
    return {"parts": parts, "wall": wall, "reflection_calls": calls}


def report_seed(results: list[dict]) -> None:
    print()
    for r in results:
        extra = ""
        if r.get("counters"):
            k = r["counters"]
            extra = (f"; {k['iterations']} iterations: {k['accepted']} accepted, {k['rejected']} rejected "
                     f"({k['rejected_unfenced']} truncated/unclosed/empty reflections), {k['skipped_perfect']} skipped (perfect minibatch)"
                     f"{', ' + str(k['cache_hits']) + ' cache hits' if 'cache_hits' in k else ''}; stop: {r['stop_reason']}")
        elif r.get("ref_counters"):
            k = r["ref_counters"]
            extra = f"; {k['iterations']} iterations: {k['accepted']} accepted, {k['rejected']} rejected, {k['skipped']} skipped (perfect minibatch)"
        print(f"{r['name']:>24}: best val score {r['best_val_score']:.3f} (seed {r['seed_val_score']:.3f}), wall {r['wall_s']:.1f} s, "
              f"{r['metric_calls']} metric calls ({r['wall_s'] / max(1, r['metric_calls']):.2f} s each), "
              f"{r['reflection_calls']} reflection calls, {r['n_candidates']} candidates{extra}")
    for r in results:
        print_breakdown(r["name"], [r])
    if len(results) == 2:
        o, ref = results
        print(f"wall-time ratio ours / reference: {o['wall_s'] / ref['wall_s']:.2f}x")
    for r in results:
        print(f"{r['name']:>24} best prompt: {json.dumps(r['best_prompt'][:160])}")


if __name__ == "__main__":
    sys.exit(main())
