"""Our side of the benchmark, read from the real rlTraining run the bench started on its own stack:
per step, from the workflow's history (activity events), the step time and what it was spent on:

  sample  policy_sample (trainer worker: generation, token ids and logprobs, rollouts blob)
  score   scoreRollouts (TS worker: the task's grader), and math_verify_rollouts where the task has it
  train   train_step (trainer worker: forward/backward, Adam, checkpoint write)
  orchestration  the rest of the step: workflow tasks, activity queueing (scheduled -> started),
                 buildPrompts, the metrics and samples rows

Each activity counts from its start to its completion (its queueing is orchestration). A step runs
from the scheduling of its policy_sample to that of the next step's (the last step: to the workflow
task after its last row is written). A step's prompts are built while the step before it trains,
and its metrics and samples rows written while the next step samples, so they are off its critical
path; the end-of-run test evaluation inside the last step (TRL does
not evaluate) is taken out. Whether a step trained comes from its metrics row (optim/* present: not
every advantage was zero). Peak memory is each process's VmHWM (the bench's own stack, fresh).

  ours.py WORKFLOW_ID HISTORY.json RUN_DIR PIDS_DIR BATCHES_OUT.json   -> one JSON line
BATCHES_OUT gets the exact prompts of each step, in order, for trl_grpo.py."""
import base64
import json
import os
import sys
from datetime import datetime
from urllib.parse import urlparse

SCORE = {"scoreRollouts", "math_verify_rollouts"}


def t(ev):
    s = ev["eventTime"].rstrip("Z")
    whole, _, frac = s.partition(".")
    return datetime.fromisoformat(whole).timestamp() + float("0." + (frac or "0"))


def payload(p):
    return json.loads(base64.b64decode(p["data"])) if p.get("data") else None


def activities(events):
    acts, by_sched = [], {}
    for ev in events:
        ty = ev["eventType"]
        if ty == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED":
            a = ev["activityTaskScheduledEventAttributes"]
            ps = a.get("input", {}).get("payloads", [])
            act = {"name": a["activityType"]["name"], "scheduled": t(ev), "input": payload(ps[0]) if ps else None}
            by_sched[ev["eventId"]] = act
            acts.append(act)
        elif ty == "EVENT_TYPE_ACTIVITY_TASK_STARTED":
            by_sched[ev["activityTaskStartedEventAttributes"]["scheduledEventId"]]["started"] = t(ev)
        elif ty == "EVENT_TYPE_ACTIVITY_TASK_COMPLETED":
            a = ev["activityTaskCompletedEventAttributes"]
            act = by_sched[a["scheduledEventId"]]
            act["completed"] = t(ev)
            ps = a.get("result", {}).get("payloads", [])
            act["result"] = payload(ps[0]) if ps else None
        elif ty in ("EVENT_TYPE_ACTIVITY_TASK_FAILED", "EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT"):
            sys.exit(f"activity {by_sched[list(ev.values())[-1]['scheduledEventId']]['name']} failed in the bench run: see the stack's logs")
    return acts


def run_span(a):
    return a["completed"] - a["started"]


def read_blob(ref):
    with open(urlparse(ref["uri"]).path) as f:
        return json.load(f)


def steps(events):
    acts = activities(events)
    train_prompts = {a["result"]["prompts_ref"]["uri"] for a in acts if a["name"] == "buildPrompts" and a["input"]["split"] == "train"}
    starts = [i for i, a in enumerate(acts) if a["name"] == "policy_sample" and a["input"]["prompts_ref"]["uri"] in train_prompts]
    wft_done = [t(ev) for ev in events if ev["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED"]
    out = []
    for k, i in enumerate(starts):
        j = starts[k + 1] if k + 1 < len(starts) else None
        mine = acts[i:j] if j is not None else acts[i:]
        if j is None:  # the last step ends with its rows written, before the run's finishRun
            mine = mine[: next((n for n, a in enumerate(mine) if a["name"] == "finishRun"), len(mine))]
        begin = acts[i]["scheduled"]
        end = acts[j]["scheduled"] if j is not None else next(x for x in wft_done if x >= max(a["completed"] for a in mine))
        # the step's own work: its policy_sample, the grading of those rollouts, its train_step; what
        # follows them before the metrics row is the test evaluation (only in the last step)
        i_sample = 0
        i_score = [n for n, a in enumerate(mine) if a["name"] in SCORE and n > i_sample]
        i_score = i_score[: next((m for m, n in enumerate(i_score) if mine[n]["name"] == "scoreRollouts"), len(i_score)) + 1]
        i_train = [n for n, a in enumerate(mine) if a["name"] == "train_step"]
        metrics_row = next(n for n, a in enumerate(mine) if a["name"] == "appendRows" and a["input"]["file"] == "metrics.jsonl")
        ev_acts = mine[max(i_score + i_train) + 1 : metrics_row]
        eval_s = ev_acts[-1]["completed"] - ev_acts[0]["scheduled"] if ev_acts else 0.0
        sample, score, train = mine[i_sample], [mine[n] for n in i_score], [mine[n] for n in i_train]
        step_s = end - begin - eval_s
        parts = {"sample_s": run_span(sample), "score_s": sum(map(run_span, score)), "train_s": sum(map(run_span, train))}
        out.append({
            "step": k, "step_s": step_s, **parts, "orchestration_s": step_s - sum(parts.values()), "eval_excluded_s": eval_s,
            "prompts": read_blob(sample["input"]["prompts_ref"]),
        })
    return out


def vm_hwm_mib(pid_file):
    with open(pid_file) as f:
        pid = f.read().strip()
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def children_vm_hwm_mib(pid_file):
    """VmHWM of the trainer worker's child processes (the vLLM server with policy.sampler=vllm)."""
    with open(pid_file) as f:
        pid = f.read().strip()
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        for task in os.listdir(f"/proc/{p}/task"):
            try:
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = f.read().split()
            except OSError:
                continue
            for k in kids:
                try:
                    with open(f"/proc/{k}/status") as f:
                        total += next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:")) / 1024
                except (OSError, StopIteration):
                    pass
                todo.append(k)
    return total


def main():
    wf_id, hist_file, run_dir, pids_dir, batches_out = sys.argv[1:]
    with open(hist_file) as f:
        events = json.load(f)["events"]
    st = steps(events)
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        rows = {r["progress/batch"]: r for r in map(json.loads, f) if "progress/batch" in r and r.get("key", "").startswith("batch-")}
    for s in st:
        r = rows[s["step"]]
        s["trained"] = "optim/loss" in r
        s["frac_constant_groups"] = r["env/all/frac_constant_groups"]
        s["reward"] = r["env/all/reward/total"]
    with open(batches_out, "w") as f:
        json.dump([s.pop("prompts") for s in st], f)
    mem = {n: vm_hwm_mib(os.path.join(pids_dir, f"{n}.pid")) for n in ("trainer", "worker", "temporal")}
    mem["trainer_children"] = children_vm_hwm_mib(os.path.join(pids_dir, "trainer.pid"))
    sampler = os.environ.get("BENCH_SAMPLER", "torch")  # the run's policy.sampler (run.sh)
    print(json.dumps({"name": f"gepa-rl/{sampler}", "workflow_id": wf_id, "steps": st, "peak_rss_mib": mem["trainer"], "peak_rss_by_process_mib": mem}))


if __name__ == "__main__":
    main()
