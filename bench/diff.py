"""Benchmark: diff of two full ICD-10-CM releases (2025-04 -> 2026-04), computed and stored.

Run: python bench/diff.py [--shared ../shared]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codedata.db import open_db, releases, transaction  # noqa: E402
from codedata.defaults import default_icd10cm_path  # noqa: E402
from codedata.importers import import_release  # noqa: E402
from codedata.releases import store_diff  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "diff.db")
        import_release(db, "icd10cm", args.shared / "data" / "icd10cm" / "icd10cm-tabular-2025-04.xml.xz")
        import_release(db, "icd10cm", default_icd10cm_path())
        old, new = releases(db, "icd10cm")
        timings, count = [], 0
        for _ in range(5):
            started = time.perf_counter()
            with transaction(db):
                count = store_diff(db, old, new)
            timings.append(time.perf_counter() - started)
    print(f"{'measure':<58} value")
    print(f"{'ICD-10-CM 2025-04 -> 2026-04 diff, ' + str(count) + ' changes, median of 5 (s)':<58} {statistics.median(timings):.2f}")


if __name__ == "__main__":
    main()
