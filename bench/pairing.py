"""Benchmark: pairing-check verdicts on claims grounded in the official files (bench/cases/claims.jsonl).

Each case names its source (a line of an official CMS/CDC file or a guideline section) and the verdict a payer
reaches. The set was written by a coder who did not see medcode's code. Reports exact verdicts, false alarms
(a clean claim flagged) and misses (a real problem passed as ok), per problem kind.

Run: python bench/pairing.py [--db PATH] [--cases FILE] [--show-wrong]
Without --db it builds a fresh database from the bundled defaults (out of the box) in a temporary folder.
"""
from __future__ import annotations

import argparse
import collections
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codedata.checks import check_claim  # noqa: E402
from codedata.db import open_db  # noqa: E402
from codedata.defaults import ensure_defaults  # noqa: E402
from codedata.errors import MedcodeError  # noqa: E402
from codedata.models import ClaimRequest, ProcedureLine  # noqa: E402


def request_of(case: dict) -> ClaimRequest:
    lines = [ProcedureLine(code=p["code"], units=p.get("units", 1), modifiers=p.get("modifiers", []),
                           pointers=p.get("pointers", [])) for p in case["px"]]
    return ClaimRequest(diagnoses=case["dx"], procedures=lines, age=case.get("age"), sex=case.get("sex"),
                        payer=case.get("payer"), date_of_service=case.get("dos"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="an existing database (default: fresh, bundled defaults)")
    parser.add_argument("--cases", type=Path, default=ROOT / "bench" / "cases" / "claims.jsonl")
    parser.add_argument("--show-wrong", action="store_true", help="print every case medcode gets wrong")
    args = parser.parse_args()
    cases = [json.loads(line) for line in args.cases.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "medcode.db"
        db = open_db(path)
        started = time.perf_counter()
        ensure_defaults(db)
        setup = time.perf_counter() - started
        right, alarms, misses, errors = 0, [], [], []
        by_kind: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
        for case in cases:
            try:
                got = check_claim(db, request_of(case))
                verdict = got.verdict
            except MedcodeError as exc:
                verdict, got = f"error: {exc}", None
            expected = case["expected"]
            kind = case.get("problem") or "clean"
            by_kind[kind][1] += 1
            if verdict == expected:
                right += 1
                by_kind[kind][0] += 1
                continue
            if expected == "ok":
                alarms.append((case, verdict, got))
            elif verdict == "ok":
                misses.append((case, verdict, got))
            else:
                errors.append((case, verdict, got))
            if args.show_wrong:
                rules = [f"{f.severity}:{f.rule}" for f in got.findings] if got else []
                print(f"WRONG {case['id']}: expected {expected}, got {verdict} {rules}")
        clean = sum(1 for c in cases if c["expected"] == "ok")
        print(f"machine: {platform.machine()} {platform.python_version()}; {len(cases)} cases "
              f"({clean} clean, {len(cases) - clean} with a problem); setup {setup:.1f} s")
        print(f"exact verdicts: {right}/{len(cases)} = {100 * right / len(cases):.1f}%")
        print(f"false alarms (clean claim not ok): {len(alarms)}/{clean} = {100 * len(alarms) / clean:.1f}%")
        print(f"misses (problem passed as ok): {len(misses)}/{len(cases) - clean}")
        print(f"problem found, wrong severity: {len(errors)}")
        for kind, (ok, total) in sorted(by_kind.items()):
            print(f"  {kind:<32} {ok}/{total}")


if __name__ == "__main__":
    main()
