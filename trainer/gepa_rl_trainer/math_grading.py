"""Math answers decided by Math-Verify (PyPI `math-verify`, pinned in requirements.lock).

One check = parse the gold, parse the completion, `verify(gold, prediction)`, with Math-Verify's own
extraction (last \\boxed{}, "the answer is", $...$, plain expressions) and the settings the field uses
by default (float_rounding 6, strict, its 5 s parse/compare limits). Math-Verify's limits use
SIGALRM, which only works in a process's main thread, so checks run in a pool of single-threaded
child processes (`VerifierPool`); the parent also enforces a wall-clock limit per check and kills a
child that overruns it (a C-level hang, e.g. a huge integer power, ignores the alarm).

A bad check never fails a batch: it scores 0 with a reason (gold does not parse, nothing
extractable, timed out, verifier crashed). A child that dies mid-batch is replaced and its check
rerun once.

The gold: with a LaTeX delimiter ($...$, \\(...\\), \\[...\\], \\boxed{}) or a plain number it is
parsed as given, exactly like a prediction; otherwise it is a bare dataset answer (MATH's
`3\\sqrt{13}`), which Math-Verify's plain-expression reading would cut to `3`, so it is read as
LaTeX inside \\boxed{} (as verl does with dataset answers), and as given if that finds nothing.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import re
import threading
import time
from collections import deque
from multiprocessing.connection import wait

CHECK_LIMIT_S = float(os.environ.get("GEPA_RL_MATH_CHECK_LIMIT_S", "20"))
PROCESSES = int(os.environ.get("GEPA_RL_GRADER_PROCESSES", str(max(1, min(4, os.cpu_count() or 1)))))
SHOWN = 200  # characters of gold/extracted shown in feedback

_DELIMITED = re.compile(r"(?<!\\)\$|\\\(|\\\[|\\boxed|\\fbox")
_PLAIN_NUMBER = re.compile(r"^\s*[-+]?(?:\d{1,3}(?:[, ]\d{3})+|\d+)?(?:[.,]\d+)?\s*$")


def _short(s: str) -> str:
    s = " ".join(str(s).split())
    return s if len(s) <= SHOWN else s[: SHOWN - 1] + "…"


# ------------------------------------------------------------------------------ one check (in a child)
class _TimeoutLog(logging.Handler):
    """Math-Verify reports its own time-outs only as a warning ("Timeout during parsing/comparison")."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.hit = False

    def emit(self, record):
        if record.getMessage().startswith("Timeout during"):
            self.hit = True


_timeouts = _TimeoutLog()


def _extraction(settings: dict):
    from math_verify import ExprExtractionConfig, LatexExtractionConfig

    kinds = settings.get("extraction", "default")
    if kinds == "default":
        return None
    # the explicit form boxes first, as TRL and open-r1 do (boxed_match_priority=0)
    return [LatexExtractionConfig(boxed_match_priority=0) if k == "latex" else ExprExtractionConfig() for k in kinds]


def _parse(text: str, extraction):
    from math_verify import parse

    return parse(text) if extraction is None else parse(text, extraction)


def _parse_gold(gold: str, extraction):
    if _DELIMITED.search(gold) or _PLAIN_NUMBER.match(gold):
        return _parse(gold, extraction)
    return _parse("\\boxed{" + gold + "}", extraction) or _parse(gold, extraction)


def _shown(parsed) -> str | None:
    strs = [p for p in parsed if isinstance(p, str)]
    return strs[-1] if strs else (str(parsed[0]) if parsed else None)


def check(gold: str, completion: str, settings: dict | None = None) -> dict:
    """One Math-Verify check; returns a verdict dict (see `verdict`). Call in a main thread."""
    from math_verify import verify

    s = settings or {}
    extraction = _extraction(s)
    _timeouts.hit = False
    gold_parsed = _parse_gold(gold, extraction)
    if not gold_parsed:
        return verdict("timed_out" if _timeouts.hit else "gold_unparsable", gold)
    pred = _parse(completion, extraction)
    if not pred:
        return verdict("timed_out" if _timeouts.hit else "no_answer", gold, gold_parsed=str(gold_parsed[0]))
    ok = verify(
        gold_parsed,
        pred,
        float_rounding=int(s.get("precision", 6)),
        strict=bool(s.get("strict", True)),
        allow_set_relation_comp=bool(s.get("allow_set_relation_comp", False)),
    )
    status = "correct" if ok else ("timed_out" if _timeouts.hit else "wrong")
    gold_is_text = all(isinstance(p, str) for p in gold_parsed)
    return verdict(status, gold, extracted=_shown(pred), gold_parsed=str(gold_parsed[0]), pred_parsed=str(pred[0]), gold_is_text=gold_is_text)


def verdict(status: str, gold: str, extracted: str | None = None, gold_parsed: str | None = None, pred_parsed: str | None = None, limit: str = "its own 5 s limit", gold_is_text: bool = False) -> dict:
    """The verdict of one check; `feedback` is the text GEPA's reflection sees."""
    g = _short(gold)
    gp = f" (read as {_short(gold_parsed)})" if gold_parsed is not None and _short(gold_parsed) != g else ""
    ex = "nothing" if extracted is None else _short(extracted)
    ep = f" (read as {_short(pred_parsed)})" if pred_parsed is not None and _short(pred_parsed) != ex else ""
    why = {
        "correct": None,
        "wrong": "not equivalent to the expected answer",
        "no_answer": "Math-Verify found no answer in the completion (no \\boxed{}, \"the answer is\", $...$ or plain expression)",
        "gold_unparsable": "the gold answer does not parse with Math-Verify, so nothing can match it (fix the dataset row); scored 0",
        "timed_out": f"timed out in Math-Verify ({limit}); scored 0",
        "crashed": "the Math-Verify process crashed on this input twice; scored 0",
    }[status]
    if gold_is_text and status != "correct":
        gp = " (the gold does not parse as math, so Math-Verify compares it as text)"
    feedback = f"Correct: expected {g}; extracted {ex}." if why is None else f"Expected {g}{gp}; extracted {ex}{ep}: {why}."
    return {"correct": status == "correct", "status": status, "extracted": extracted, "gold_parsed": gold_parsed, "pred_parsed": pred_parsed, "feedback": feedback}


def _child_main(conn) -> None:
    logging.getLogger("math_verify").addHandler(_timeouts)
    logging.getLogger("math_verify").propagate = False  # its warnings quote whole inputs
    import math_verify  # noqa: F401 — import before the first check, not during it

    conn.send(("ready", None))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        i, gold, completion, settings = msg
        try:
            out = check(gold, completion, settings)
        except BaseException as e:  # noqa: BLE001 — one bad input never kills the loop
            out = verdict("wrong", gold) | {"feedback": f"Expected {_short(gold)}; Math-Verify failed: {type(e).__name__}: {_short(e)}; scored 0."}
        conn.send((i, out))


# ------------------------------------------------------------------------------ the pool (in the parent)
PIPELINE = 2  # checks queued in a child at once, so it never waits for the parent between checks
SMALL = 32_000  # only checks this small are queued behind another (a pipe holds ~64 KB unread)


class _Child:
    def __init__(self, ctx):
        self.conn, child_conn = ctx.Pipe()
        self.proc = ctx.Process(target=_child_main, args=(child_conn,), daemon=True, name="math-verify")
        self.proc.start()
        child_conn.close()
        self.jobs: deque[int] = deque()  # sent, not yet answered; the first is running
        self.deadline = 0.0  # for the first job
        self.ready = False

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class VerifierPool:
    """`processes` single-threaded children that run `check`; `grade` hands a batch out across them.

    Children are spawned (not forked: the trainer worker holds torch and threads) once and reused.
    One batch at a time (a lock); each check has `limit_s` of wall time from when its child starts it.
    """

    def __init__(self, processes: int = PROCESSES, limit_s: float = CHECK_LIMIT_S):
        self.processes, self.limit_s = max(1, processes), limit_s
        self._ctx = mp.get_context("spawn")
        self._children: list[_Child] = []
        self._lock = threading.Lock()

    def grade(self, pairs: list[dict], on_progress=None) -> list[dict]:
        """pairs: [{gold, completion, settings?}] -> one verdict per pair, in order."""
        with self._lock:
            return self._grade(pairs, on_progress)

    def _grade(self, pairs, on_progress):
        while len(self._children) < min(self.processes, max(1, len(pairs))):
            self._children.append(_Child(self._ctx))
        msgs = [(i, str(p.get("gold", "")), str(p.get("completion", "")), p.get("settings")) for i, p in enumerate(pairs)]
        results: list[dict | None] = [None] * len(pairs)
        todo = deque(range(len(pairs)))
        deaths: dict[int, int] = {}
        idle_deaths = 0
        done = 0
        last_progress = time.monotonic()

        def give(c: _Child) -> None:
            while todo and c.ready and len(c.jobs) < PIPELINE:
                i = todo[0]
                if c.jobs and len(msgs[i][1]) + len(msgs[i][2]) > SMALL:
                    return  # a big check waits for an idle child: sending it could block on a full pipe
                todo.popleft()
                if not c.jobs:
                    c.deadline = time.monotonic() + self.limit_s
                c.jobs.append(i)
                c.conn.send(msgs[i])

        def finish(i: int, v: dict) -> None:
            nonlocal done
            results[i] = v
            done += 1

        def replace(c: _Child) -> None:
            todo.extendleft(reversed(c.jobs))  # queued behind the failed one: not started, rerun
            c.kill()
            self._children[self._children.index(c)] = _Child(self._ctx)

        while done < len(pairs):
            for c in self._children:
                give(c)
            now = time.monotonic()
            busy = [c.deadline for c in self._children if c.jobs]
            timeout = min(1.0, max(0.0, min(busy) - now)) if busy else 1.0
            ready = wait([c.conn for c in self._children] + [c.proc.sentinel for c in self._children], timeout=timeout)
            for c in list(self._children):
                if c.conn in ready or c.proc.sentinel in ready:
                    try:
                        while c.conn.poll():
                            tag, out = c.conn.recv()
                            if tag == "ready":
                                c.ready = True
                            elif c.jobs and tag == c.jobs[0]:
                                finish(c.jobs.popleft(), out)
                                c.deadline = time.monotonic() + self.limit_s
                    except (EOFError, OSError):
                        pass
                    if not c.proc.is_alive():  # died (killed, out of memory): rerun its check once
                        if not c.jobs:
                            idle_deaths += 1
                            if idle_deaths > 3 * self.processes:
                                raise RuntimeError(f"Math-Verify processes keep dying before taking a check (exit code {c.proc.exitcode}); is math-verify installed in this Python?")
                        else:
                            i = c.jobs[0]
                            deaths[i] = deaths.get(i, 0) + 1
                            if deaths[i] >= 2:
                                finish(c.jobs.popleft(), verdict("crashed", msgs[i][1]))
                        replace(c)
                elif c.jobs and time.monotonic() > c.deadline:
                    i = c.jobs.popleft()
                    finish(i, verdict("timed_out", msgs[i][1], limit=f"the {self.limit_s:g} s wall-clock limit per check"))
                    replace(c)
            if on_progress and time.monotonic() - last_progress > 1.0:
                on_progress(done, len(pairs))
                last_progress = time.monotonic()
        return results  # type: ignore[return-value]

    def close(self) -> None:
        for c in self._children:
            try:
                c.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
            c.proc.join(2)
            c.kill()
        self._children = []


_pool: VerifierPool | None = None
_pool_lock = threading.Lock()


def shared_pool() -> VerifierPool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = VerifierPool()
        return _pool
