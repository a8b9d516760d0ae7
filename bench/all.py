"""Run every benchmark (search quality and speed with peers, lookup and imports, pair check, diff, load) and
print one table with the date and machine.

Run: python bench/all.py [--load-seconds 60] [--shared ../shared]
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(script: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True,
                            cwd=ROOT, timeout=1800)
    if result.returncode != 0:
        return f"{script} failed: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}"
    return result.stdout.strip()


# bench/cases/claims_<name>.jsonl after the first set (claims.jsonl), each written by another coder
CLAIM_SETS = ("second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
              "eleventh")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load-seconds", default="60")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    print(f"# medcode benchmarks, {date.today()}, {os.cpu_count()} cores {cpu}, Python {platform.python_version()}\n")
    for title, script, extra in [
        ("Search quality and speed (with peers)", "search.py", ["--shared", args.shared]),
        ("Imports and lookups", "lookup.py", ["--shared", args.shared]),
        ("Pairing check and NCCI import", "check.py", ["--shared", args.shared]),
        ("Pairing verdicts, first grounded set (out of the box)", "pairing.py", []),
        *[(f"Pairing verdicts, {name} grounded set (out of the box)", "pairing.py",
           ["--cases", str(ROOT / "bench" / "cases" / f"claims_{name}.jsonl")]) for name in CLAIM_SETS],
        ("Release diff", "diff.py", ["--shared", args.shared]),
        ("Load: HTTP mode, signed requests, import running, 350 requests/s offered", "load.py",
         ["--seconds", args.load_seconds, "--shared", args.shared]),
        ("Load: the same, 8 clients flat out", "load.py",
         ["--seconds", args.load_seconds, "--rate", "0", "--clients", "8", "--shared", args.shared]),
    ]:
        print(f"## {title} (bench/{script})\n{run(script, *extra)}\n")


if __name__ == "__main__":
    main()
