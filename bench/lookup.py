"""Benchmark: first-use import of the bundled ICD-10-CM release, database size, and code lookup latency.

Run: python bench/lookup.py   (prints a small table; uses a temporary database)
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codedata.codes import lookup_icd  # noqa: E402
from codedata.db import current_release, open_db  # noqa: E402
from codedata.defaults import ensure_defaults  # noqa: E402
from codedata.importers import import_release  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        db = open_db(path)
        started = time.perf_counter()
        ensure_defaults(db)
        import_seconds = time.perf_counter() - started
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size_mb = os.path.getsize(path) / 1e6
        import_release(db, "icd10cm", args.shared / "data" / "icd10cm" / "icd10cm-tabular-2021.xml.xz")
        releases = db.execute("SELECT count(*) FROM releases WHERE system = 'icd10cm'").fetchone()[0]
        release_id = current_release(db, "icd10cm")["id"]
        all_codes = [r["display"] for r in db.query(
            "SELECT display FROM codes WHERE release_id = ? AND kind NOT IN ('chapter', 'block')", [release_id])]
        sample = random.Random(7).sample(all_codes, 2000)
        dates = ["2021-02-01", "2025-06-01", "2026-05-01", None]  # FY2021, 2025-04, 2026-04 windows, today
        timings = []
        for index, code in enumerate(sample):
            t = time.perf_counter()
            lookup_icd(db, code, dos=dates[index % len(dates)])
            timings.append((time.perf_counter() - t) * 1000)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'measure':<58} value")
    print(f"{'first use: every bundled release imported (s)':<58} {import_seconds:.2f}")
    print(f"{'database size after the bundled imports (MB)':<58} {size_mb:.1f}")
    print(f"{f'icd lookup median (ms), 2,000 codes, {releases} ICD releases':<58} {statistics.median(timings):.3f}")
    print(f"{'icd lookup p99 (ms)':<58} {percentile(timings, 99):.3f}")


if __name__ == "__main__":
    main()
