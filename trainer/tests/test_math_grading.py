"""The math grader: Math-Verify in a process pool (agreement with its public test expectations,
per-check wall limit, a child killed mid-batch), and the batched activity over blobs."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from gepa_rl_trainer.blobs import read_json, write_json
from gepa_rl_trainer.grader import grade_rollouts
from gepa_rl_trainer.math_grading import VerifierPool

CASES = [json.loads(line) for line in (Path(__file__).resolve().parents[2] / "test/data/math_verify/cases.jsonl").read_text().splitlines() if line.strip()]
TOWER = "\\boxed{3^{3^{3^{17}}}}"  # Math-Verify's own 5 s comparison limit fires on this one


@pytest.fixture(scope="module")
def pool():
    p = VerifierPool(processes=2)
    yield p
    p.close()


def settings(c, default=False):
    if default:
        return None
    return {"extraction": c["match_types"], "precision": c["precision"], "strict": c["strict"], "allow_set_relation_comp": c["allow_set_relation_comp"]}


def test_agreement_with_math_verify_public_cases(pool):
    got = pool.grade([{"gold": c["gold"], "completion": c["pred"], "settings": settings(c)} for c in CASES])
    disagree = [c["id"] for c, v in zip(CASES, got) if int(v["correct"]) != c["expected"]]
    false_accepts = [c["id"] for c, v in zip(CASES, got) if v["correct"] and c["expected"] == 0]
    print(f"own settings: {len(CASES) - len(disagree)}/{len(CASES)} agree, {len(false_accepts)} false accepts; {disagree}")
    assert (len(CASES) - len(disagree)) / len(CASES) >= 0.99
    assert false_accepts == []

    # What runs use: the field's defaults. Every case it decides differently is one whose expectation
    # is written for a non-default setting (precision 2, strict=False, set/relation comparison, or
    # LaTeX-only extraction, where the default's plain-expression reading also finds the number).
    got = pool.grade([{"gold": c["gold"], "completion": c["pred"]} for c in CASES])
    default_disagree = [c for c, v in zip(CASES, got) if int(v["correct"]) != c["expected"]]
    print(f"defaults: {len(CASES) - len(default_disagree)}/{len(CASES)} agree; " + "; ".join(c["id"] for c in default_disagree))
    for c in default_disagree:
        non_default = c["match_types"] not in ("default", ["latex", "expr"]) or c["precision"] != 6 or not c["strict"] or c["allow_set_relation_comp"]
        assert non_default, c["id"]


def test_a_check_over_its_wall_limit_scores_zero_timed_out_and_the_pool_goes_on():
    p = VerifierPool(processes=1, limit_s=1)
    try:
        slow, fast = p.grade([{"gold": "5", "completion": TOWER}, {"gold": "\\frac{1}{2}", "completion": "\\boxed{0.5}"}])
    finally:
        p.close()
    assert slow["status"] == "timed_out" and not slow["correct"]
    assert "timed out in Math-Verify (the 1 s wall-clock limit per check); scored 0." in slow["feedback"]
    assert fast["correct"]


def test_math_verify_own_time_limit_is_reported_as_timed_out(pool):
    (v,) = pool.grade([{"gold": "5", "completion": TOWER}])
    assert v["status"] == "timed_out" and "its own 5 s limit" in v["feedback"]


def test_a_verifier_process_killed_mid_batch_is_replaced_and_its_check_rerun():
    p = VerifierPool(processes=2)
    pairs = [{"gold": "5", "completion": TOWER}] * 2 + [{"gold": str(i), "completion": f"the answer is {i}"} for i in range(6)]
    out: list = []
    t = threading.Thread(target=lambda: out.extend(p.grade(pairs)))
    t.start()
    try:
        while not any(c.jobs and c.jobs[0] < 2 for c in p._children):  # a child runs a slow check
            time.sleep(0.05)
        victim = next(c for c in p._children if c.jobs and c.jobs[0] < 2)
        os.kill(victim.proc.pid, signal.SIGKILL)
        t.join(120)
    finally:
        p.close()
    assert len(out) == len(pairs)
    assert [v["status"] for v in out[:2]] == ["timed_out", "timed_out"]  # rerun, not "crashed"
    assert all(v["correct"] for v in out[2:])


def test_grade_rollouts_one_verdict_per_rollout_from_blobs(tmp_path):
    d = str(tmp_path)
    rollouts = {"rollouts": [
        {"prompt_index": 0, "sample_index": 0, "text": "so \\boxed{\\frac{1}{3}}"},
        {"prompt_index": 0, "sample_index": 1, "text": "the answer is 0.5"},
        {"prompt_index": 1, "sample_index": 0, "text": "$[0,1)$"},
        {"prompt_index": 1, "sample_index": 1, "text": ""},
    ]}
    req = {"rollouts_ref": write_json(d, rollouts), "golds_ref": write_json(d, ["1/3", "[0,1)"]), "blob_dir": d}
    res = grade_rollouts(req)
    verdicts = read_json(res["verdicts_ref"])
    assert [v["correct"] for v in verdicts] == [True, False, True, False]
    assert res["n"] == 4 and res["counts"] == {"correct": 2, "wrong": 1, "no_answer": 1}
    assert verdicts[1]["feedback"] == "Expected 1/3; extracted 0.5 (read as 0.500000000000000): not equivalent to the expected answer."
    bad = {**req, "golds_ref": write_json(d, ["1/3"])}
    with pytest.raises(ApplicationError) as e:
        grade_rollouts(bad)
    assert e.value.non_retryable and "a rollout for prompt 1, but the chunk has 1 golds" in str(e.value)
