"""Benchmark: NCCI practitioner PTP import (the full 2.5 M-row July 2024 file, bundled) and pairing-check latency
with the bundled defaults (NCCI included) plus FY2021, so three ICD-10-CM releases are loaded.

Run: python bench/check.py [--shared ../shared]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codedata.checks import check_claim  # noqa: E402
from codedata.db import open_db  # noqa: E402
from codedata.defaults import ensure_defaults  # noqa: E402
from codedata.importers import import_release  # noqa: E402
from codedata.models import ClaimRequest, ProcedureLine  # noqa: E402

# A busy outpatient claim: 4 diagnoses, 10 procedures with units and modifiers.
CLAIM = ClaimRequest(
    diagnoses=["M17.11", "E11.9", "I10", "M25.561"],
    procedures=[ProcedureLine(code=c, units=u, modifiers=m) for c, u, m in [
        ("99214", 1, ["25"]), ("20610", 1, ["RT"]), ("J1030", 2, []), ("97110", 2, ["GP"]), ("97140", 1, ["59"]),
        ("97530", 1, []), ("83036", 1, []), ("80053", 1, []), ("36415", 1, []), ("93000", 1, [])]],
    age=67, sex="F", date_of_service="2024-08-01",
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        empty = open_db(Path(tmp) / "ptp.db")
        started = time.perf_counter()
        result = import_release(empty, "ncci", ROOT / "codedata" / "data" / "ptp_practitioner_2024-07.csv.gz")
        ptp_seconds = time.perf_counter() - started
        empty.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        ptp_mb = os.path.getsize(Path(tmp) / "ptp.db") / 1e6
        db = open_db(Path(tmp) / "bench.db")
        ensure_defaults(db)
        import_release(db, "icd10cm", args.shared / "data" / "icd10cm" / "icd10cm-tabular-2021.xml.xz")
        check_claim(db, CLAIM)
        timings = []
        for _ in range(300):
            started = time.perf_counter()
            report = check_claim(db, CLAIM)
            timings.append((time.perf_counter() - started) * 1000)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'measure':<58} value")
    print(f"{'NCCI PTP practitioner 2024-07 import (' + format(result.billable_count, ',') + ' rows, s)':<58} {ptp_seconds:.1f}")
    print(f"{'  its size in an otherwise empty database (MB)':<58} {ptp_mb:.1f}")
    print(f"{'check, 4 dx + 10 px with NCCI, median (ms)':<58} {statistics.median(timings):.2f}")
    print(f"{'check, 4 dx + 10 px with NCCI, p99 (ms)':<58} {percentile(timings, 99):.2f}")
    print(f"{'findings on that claim':<58} {len(report.findings)} ({report.verdict})")


if __name__ == "__main__":
    main()
