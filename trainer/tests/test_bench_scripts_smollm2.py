"""The bench scripts that call the trainer's internals run, on the real SmolLM2 (a refactor of the
backend once left bench/sampling/onpolicy_check.py calling a method that no longer existed, and
nothing noticed). Small settings: this checks that they run and agree with the tests' bounds, not
their timings."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(script: str, **env) -> str:
    e = dict(os.environ, PYTHONPATH=str(ROOT / "trainer"), OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), **env)
    out = subprocess.run([sys.executable, str(ROOT / script)], cwd=ROOT, env=e, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, f"{script} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    return out.stdout


def test_onpolicy_check_runs_and_sampler_and_learner_agree():
    out = run("bench/sampling/onpolicy_check.py", MAX_TOKENS="4")
    m = re.search(r"max over rows: greedy ([0-9.e+-]+), sampled ([0-9.e+-]+)", out)
    assert m, out
    assert float(m.group(1)) < 1e-3 and float(m.group(2)) < 1e-3, out
    assert "greedy text == alone: False" not in out, out


def test_learner_layouts_runs_and_the_layouts_agree():
    out = run("bench/sampling/learner_layouts.py", REPS="1")
    m = re.search(r"max \|logprob difference\| between the layouts ([0-9.e+-]+)", out)
    assert m, out
    assert float(m.group(1)) < 1e-3, out


def test_gpu_check_runs_on_the_cpu_and_reports_every_measure():
    """bench/sampling/gpu_check.py is written for a CUDA machine that is seldom lent: it runs here on
    the CPU at small settings, so a refactor cannot leave it broken for the day one is."""
    import json

    out = run("bench/sampling/gpu_check.py", MODELS="smollm2-135m-instruct,random-smollm2", BATCHES="1,2", MAX_TOKENS="3", STEPS="2", PROBLEMS="2", GROUP_SIZE="2")
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    by = lambda m, model: [r for r in rows if r["measure"] == m and r.get("model") == model]  # noqa: E731
    assert not [r for r in rows if r["measure"] in ("error", "skipped")], out
    for model in ("smollm2-135m-instruct", "random-smollm2"):
        assert [r["batch"] for r in by("sample", model)] == [1, 2], out
        assert all(r["ours_tokens"] > 0 and r["hf_generate_tokens"] > 0 for r in by("sample", model)), out
        rl = by("rl", model)
        assert [r["step"] for r in rl] == [0, 1] and all(r["kl_within_limit"] for r in rl), out  # step 1 samples from step 0's LoRA checkpoint
    assert all(r["advantages_synthetic"] for r in by("rl", "random-smollm2")), out  # a random model never gets the sum right
