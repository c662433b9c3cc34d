"""Export Math-Verify's public test expectations as data: test/data/math_verify/cases.jsonl.

Usage: python scripts/export_math_verify_cases.py <checkout of huggingface/Math-Verify> <commit>

Collects (does not run) the repository's parametrised pytest cases and writes one JSON line per
gold/prediction pair: where it came from, gold, pred, expected (1 = equivalent), and the settings
that test passes to parse/verify (match_types, precision, strict, allow_set_relation_comp). Tests
that are not gold/prediction pairs (configs, string extraction, timeouts, raise_on_error, direct
sympy comparisons) are not exported. Only data is taken, no code.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# The settings each exported test function passes (read from its body at the pinned commit).
BOTH, LATEX, EXPR = ["latex", "expr"], ["latex"], ["expr"]
SETTINGS = {
    "test_all.py::test_number_extraction": {"match_types": EXPR},
    "test_all.py::test_simple_fraction_notation": {"match_types": BOTH},
    "test_all.py::test_sets_handling": {"match_types": BOTH},
    "test_all.py::test_latex_notation": {"match_types": LATEX},
    "test_all.py::test_percent_notation": {"match_types": BOTH},
    "test_all.py::test_latex_notation_math": {"match_types": LATEX},
    "test_all.py::test_relations_math": {"match_types": LATEX},
    "test_all.py::test_matrix_extraction": {"match_types": LATEX},
    "test_all.py::test_complex_math_expressions": {"match_types": BOTH},
    "test_all.py::test_math_extraction_edge_cases": {"match_types": BOTH},
    "test_all.py::test_math_extraction_additional_cases": {"match_types": BOTH},
    "test_all.py::test_set_rel_assymetry": {"match_types": LATEX},
    "test_all.py::test_float_precision": {"match_types": BOTH, "precision": 5},
    "test_all.py::test_sqrt_precision": {"match_types": BOTH, "precision": 5},
    "test_all.py::test_symbols": {"match_types": BOTH, "precision": 5},
    "test_boxed.py::test_boxed": {"match_types": BOTH},
    "test_numina_cases.py::test_numina_cases": {"match_types": BOTH},
    "test_open_thoughts.py::test_open_thoughts": {"match_types": BOTH},
    "test_strict.py::test_strict_variable_comparison": {"match_types": BOTH},
    # verify(parse(gold), parse(pred)) with every default
    "test_yujianll.py::test_string_extraction": {"match_types": "default"},
}
NOT_PAIRS = {"test_configs.py", "test_string_extraction.py", "test_timeout.py", "test_raise_on_error.py"}


class Collector:
    def __init__(self):
        self.rows, self.unknown = [], set()

    def pytest_collection_modifyitems(self, items):
        for item in items:
            file = Path(item.fspath).name
            key = f"{file}::{item.originalname}"
            if file in NOT_PAIRS or not hasattr(item, "callspec"):
                continue
            if key not in SETTINGS:
                self.unknown.add(key)
                continue
            p = dict(item.callspec.params)
            expected = p.pop("expected", p.pop("result", None))
            gold, pred = p.pop("gold"), p.pop("pred")
            s = {"match_types": "default", "precision": 6, "strict": True, "allow_set_relation_comp": False, **SETTINGS[key]}
            s.update({k: v for k, v in p.items() if k in ("precision", "strict", "allow_set_relation_comp")})
            leftover = set(p) - {"precision", "strict", "allow_set_relation_comp"}
            if leftover:
                raise SystemExit(f"{item.nodeid}: unexpected parameters {leftover}")
            self.rows.append({"id": item.nodeid.split("/")[-1], "gold": gold, "pred": pred, "expected": int(expected), **s})


def main() -> None:
    repo, commit = Path(sys.argv[1]).resolve(), sys.argv[2]
    c = Collector()
    rc = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", str(repo / "tests")], plugins=[c])
    if rc not in (0, 5) or c.unknown:
        raise SystemExit(f"collection failed (rc {rc}) or tests without settings: {sorted(c.unknown)}")
    out = Path(__file__).resolve().parents[1] / "test/data/math_verify/cases.jsonl"
    with out.open("w", encoding="utf-8") as f:
        for r in c.rows:
            f.write(json.dumps({"source": f"huggingface/Math-Verify@{commit}", **r}, ensure_ascii=False) + "\n")
    print(f"wrote {len(c.rows)} cases to {out}")


if __name__ == "__main__":
    main()
