"""Crash safety: an import killed with SIGKILL at random moments leaves a database that opens, passes
PRAGMA integrity_check, and keeps exactly one complete current release (the old one, or the new one if the
import had committed)."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from codedata.db import open_db
from codedata.defaults import BUNDLED, default_icd10cm_path
from codedata.importers import import_release
from codedata.search_index import index_version

from .conftest import shared_file

RUNS = 20


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    """ICD-10-CM 2025-04 current (plus the other bundled systems): the 2026 import is the one we kill."""
    path = tmp_path_factory.mktemp("crash") / "base.db"
    db = open_db(path)
    import_release(db, "icd10cm", shared_file("icd10cm", "icd10cm-tabular-2025-04.xml.xz"))
    for bundled in BUNDLED:
        if bundled.system != "icd10cm":
            import_release(db, bundled.system, bundled.locate())
    db.conn.close()
    return path


def test_import_killed_at_random_moments_leaves_a_consistent_database(base_db, tmp_path):
    rng = random.Random(20261123)
    outcomes = []
    for run in range(RUNS):
        path = tmp_path / f"run{run}.db"
        source = sqlite3.connect(base_db)
        target = sqlite3.connect(path)
        source.backup(target)
        source.close()
        target.close()
        env = {**os.environ, "MEDCODE_DB": str(path)}
        process = subprocess.Popen([sys.executable, "-m", "bot", "import", "icd10cm", str(default_icd10cm_path())],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 6.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        outcomes.append(_check(path))
    assert len(outcomes) == RUNS
    assert "2025-04" in outcomes  # most kills land before the commit: the old release stays current


def _check(path) -> str:
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    current = db.execute("SELECT id, label, billable_count, code_count FROM releases WHERE system = 'icd10cm'"
                         " AND current = 1").fetchall()
    assert len(current) == 1
    release_id, label, billable, total = current[0]
    assert label in ("2025-04", "2026-04")
    counted = db.execute("SELECT count(*), sum(billable) FROM codes WHERE release_id = ?", [release_id]).fetchone()
    assert counted == (total, billable)
    # No half release anywhere: every release row has all of its codes, and no codes lack a release.
    for rid, expected in db.execute("SELECT id, code_count FROM releases WHERE system = 'icd10cm'"):
        assert db.execute("SELECT count(*) FROM codes WHERE release_id = ?", [rid]).fetchone()[0] == expected
    assert db.execute("SELECT count(*) FROM codes WHERE release_id NOT IN (SELECT id FROM releases)").fetchone()[0] == 0
    indexed = db.execute("SELECT release_key FROM search_state WHERE system = 'icd10cm'").fetchone()[0]
    assert indexed == f"{index_version()}:{release_id}"  # built by this code, from the release now current
    # The word list typo correction reads is the index's own, word for word.
    for a, b in (("search_vocab", "search_words"), ("search_words", "search_vocab")):
        assert db.execute(f"SELECT count(*) FROM (SELECT term, doc FROM {a} EXCEPT SELECT term, doc FROM {b})"
                          ).fetchone()[0] == 0
    db.close()
    return label
