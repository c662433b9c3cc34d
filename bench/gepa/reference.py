"""bench/gepa, reference side: the `gepa` library (gepa-ai/gepa, PyPI `gepa`) on the data our
workflow uses, with the same policy, reflection LM, grading rule and metric-call budget.

Runs in the bench's own venv (bench/gepa/.venv): gepa and litellm.

- Policy and reflection LM: the local OpenAI-compatible server of the stack (or bench/gepa's
  latency proxy in front of it), with the same sampling settings as our side (policy: system
  prompt + the task's rendered user message; reflection: one user message).
- Adapter: gepa's DefaultAdapter (system prompt = the one component, user message = example input)
  with a custom evaluator. --task-lm litellm (the default, the path gepa's users take): the adapter's
  model is the OpenAI-compatible model string `openai/<model>`, so each evaluation batch goes
  through `litellm.batch_completion` with `max_litellm_workers` (gepa's default 10) calls in
  flight, and the reflection LM is gepa's own `gepa.lm.LM` on the same string (litellm.completion).
  --task-lm callable: both are Python callables making one HTTP call at a time (the bench's
  earlier setting).
- Metric: our own grader, not a reimplementation: one long-lived `node dist/cli/main.js grade`
  process gets {"task": "arithmetic", "gold", "question", "completion"} per rollout and returns the
  reward and the feedback text our workflow shows its reflection LM.

Writes one JSON object (best val score, metric calls, candidates, timings) to --out.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

# litellm must not fetch its model price list from the network at import
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import gepa
from gepa.adapters.default_adapter.default_adapter import DefaultAdapter, EvaluationResult

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class LocalChat:
    """POST /chat/completions on an OpenAI-compatible server; returns the first choice's text."""

    def __init__(self, base_url: str, model: str, max_tokens: int, temperature: float, top_p: float, seed: int):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.max_tokens, self.temperature, self.top_p = model, max_tokens, temperature, top_p
        self.seed = seed
        self.calls = 0
        self.seconds = 0.0

    def chat(self, messages: list[dict]) -> str:
        body = {
            "model": self.model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed + self.calls,
            "n": 1,
        }
        t0 = time.monotonic()
        for attempt in range(5):
            req = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=600) as r:
                    res = json.loads(r.read())
                break
            except urllib.error.HTTPError as e:
                if e.code < 500 and e.code != 429:
                    raise RuntimeError(f"LM server {self.url} answered {e.code}: {e.read()[:300]!r}") from e
                time.sleep(1 + attempt)
            except urllib.error.URLError as e:
                if attempt == 4:
                    raise RuntimeError(f"LM server {self.url} unreachable: {e}. Start it: bash scripts/stack.sh up") from e
                time.sleep(1 + attempt)
        else:
            raise RuntimeError(f"LM server {self.url} kept failing")
        self.calls += 1
        self.seconds += time.monotonic() - t0
        return res["choices"][0]["message"]["content"] or ""


def timed_litellm_lm():
    """gepa's own LM (litellm) with its calls and their wall seconds counted, for the breakdown."""
    from gepa.lm import LM

    class TimedLM(LM):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.calls, self.seconds, self._lock = 0, 0.0, threading.Lock()

        def _count(self, n: int, t0: float) -> None:
            with self._lock:
                self.calls += n
                self.seconds += time.monotonic() - t0

        def __call__(self, prompt):
            t0 = time.monotonic()
            try:
                return super().__call__(prompt)
            finally:
                self._count(1, t0)

        def batch_complete(self, messages_list, max_workers: int = 10, **kwargs):
            t0 = time.monotonic()
            try:
                return super().batch_complete(messages_list, max_workers=max_workers, **kwargs)
            finally:
                self._count(len(messages_list), t0)

    return TimedLM


class OurGrader:
    """Our `gepa-rl grade` command as a coprocess: one JSON line in, one JSON line out."""

    def __init__(self, task: str):
        self.task = task
        self.proc = subprocess.Popen(
            ["node", os.path.join(ROOT, "dist/cli/main.js"), "grade"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, cwd=ROOT,
        )
        self.lock = threading.Lock()
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, data: dict, response: str) -> EvaluationResult:
        line = json.dumps({"task": self.task, "gold": data["answer"], "question": data["question"], "completion": response})
        t0 = time.monotonic()
        with self.lock:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
            out = self.proc.stdout.readline()
        if not out:
            raise RuntimeError("the grade process (node dist/cli/main.js grade) exited; is dist/ built? (make setup)")
        r = json.loads(out)
        if "error" in r:
            raise RuntimeError(f"grade: {r['error']}")
        self.calls += 1
        self.seconds += time.monotonic() - t0
        return EvaluationResult(score=float(r["reward"]), feedback=r["feedback"])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Counts:
    """gepa callbacks (all optional methods): iterations and their outcomes, for the printout."""

    def __init__(self):
        self.c = {"iterations": 0, "accepted": 0, "rejected": 0, "skipped": 0}

    def on_iteration_start(self, event):
        self.c["iterations"] += 1

    def on_candidate_accepted(self, event):
        self.c["accepted"] += 1

    def on_candidate_rejected(self, event):
        self.c["rejected"] += 1

    def on_evaluation_skipped(self, event):
        self.c["skipped"] += 1


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--seed-prompt", required=True)
    ap.add_argument("--max-metric-calls", type=int, required=True)
    ap.add_argument("--minibatch-size", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, required=True)
    ap.add_argument("--temperature", type=float, required=True)
    ap.add_argument("--top-p", type=float, default=1.0)
    ap.add_argument("--reflection-max-tokens", type=int, required=True)
    ap.add_argument("--reflection-temperature", type=float, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--task-lm", choices=("litellm", "callable"), default="litellm")
    ap.add_argument("--max-litellm-workers", type=int, default=10)
    # gepa's cache_evaluation (a (candidate, val example) already scored is not evaluated or counted again)
    ap.add_argument("--cache-evaluation", action="store_true")
    a = ap.parse_args()

    data = json.load(open(a.data))
    to_inst = lambda x: {"input": x["input"], "additional_context": {}, "answer": x["answer"], "question": x["question"], "id": x["id"]}
    train, val = [to_inst(x) for x in data["train"]], [to_inst(x) for x in data["val"]]

    grader = OurGrader(data["task"]["env"])
    if a.task_lm == "litellm":
        TimedLM = timed_litellm_lm()
        lm_string = f"openai/{a.model}"  # litellm's OpenAI-compatible provider; the server sees model=a.model
        server = {"api_base": a.base_url, "api_key": "local"}
        adapter = DefaultAdapter(model=lm_string, evaluator=grader, max_litellm_workers=a.max_litellm_workers)
        # the adapter's own LM, with our sampling settings (DefaultAdapter(model=str) builds LM(model) bare)
        adapter._lm = policy = TimedLM(lm_string, temperature=a.temperature, max_tokens=a.max_tokens, top_p=a.top_p, **server)
        reflector = TimedLM(lm_string, temperature=a.reflection_temperature, max_tokens=a.reflection_max_tokens, seed=a.seed * 104_729, **server)
        lm_args = {"adapter": adapter, "reflection_lm": reflector}
    else:
        policy = LocalChat(a.base_url, a.model, a.max_tokens, a.temperature, a.top_p, seed=a.seed * 7_919)
        reflector = LocalChat(a.base_url, a.model, a.reflection_max_tokens, a.reflection_temperature, 1.0, seed=a.seed * 104_729)

        def reflection_lm(prompt):
            msgs = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
            return reflector.chat(msgs)

        lm_args = {"task_lm": policy.chat, "evaluator": grader, "reflection_lm": reflection_lm}

    counts = Counts()
    t0 = time.monotonic()
    try:
        result = gepa.optimize(
            seed_candidate={"system_prompt": a.seed_prompt},
            trainset=train,
            valset=val,
            **lm_args,
            max_metric_calls=a.max_metric_calls,
            reflection_minibatch_size=a.minibatch_size,
            seed=a.seed,
            cache_evaluation=a.cache_evaluation,
            display_progress_bar=False,
            callbacks=[counts],
        )
    finally:
        grader.close()
    seconds = time.monotonic() - t0
    best = result.best_idx
    out = {
        "name": "gepa (reference)",
        "gepa_version": importlib.metadata.version("gepa"),
        "task_lm": a.task_lm,
        "cache_evaluation": a.cache_evaluation,
        "best_val_score": result.val_aggregate_scores[best],
        "seed_val_score": result.val_aggregate_scores[0],
        "n_candidates": result.num_candidates,
        "metric_calls": result.total_metric_calls,
        "rollouts_graded": grader.calls,
        "policy_calls": policy.calls,
        "reflection_calls": reflector.calls,
        "ref_counters": counts.c,
        "policy_seconds": round(policy.seconds, 2),
        "reflection_seconds": round(reflector.seconds, 2),
        "grading_seconds": round(grader.seconds, 2),
        "optimize_seconds": round(seconds, 2),
        "best_prompt": result.best_candidate["system_prompt"] if isinstance(result.best_candidate, dict) else result.best_candidate,
    }
    json.dump(out, open(a.out, "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
