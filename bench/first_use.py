"""Benchmark: first use on a fresh machine: every bundled release imported and indexed, then one lookup.

Each run starts `python -m bot --db NEW icd E11.9` (the command a new user runs) on a database that does not
exist yet, and times the whole process (wall clock); peak memory is the child's maximum resident set size.

Run: python bench/first_use.py [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(folder: Path) -> tuple[float, float]:
    """Seconds of wall clock and peak MiB of one first use."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bot", "--db", str(folder / "medcode.db"), "icd", "E11.9"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or "E11.9" not in done.stdout:
        raise SystemExit(f"first use failed: {done.stderr.strip()[-300:]}")
    # ru_maxrss of the children so far (KiB on Linux): one child per run, the largest so far is reported
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times, peak = [], 0.0
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            seconds, peak = one_run(Path(tmp))
            times.append(seconds)
    print(f"first use (import every bundled release, index, one lookup): median {statistics.median(times):.1f} s "
          f"of {args.runs} (min {min(times):.1f}, max {max(times):.1f}), peak {peak:.0f} MiB")


if __name__ == "__main__":
    main()
