"""Session fixtures: real ICD-10-CM databases built once from the official files in ../shared/data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from codedata.db import open_db
from codedata.defaults import ensure_defaults
from codedata.importers import import_release

SHARED = Path(os.environ.get("MEDCODE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATA = SHARED / "data"


def shared_file(*parts: str) -> Path:
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"real data file missing: {path} (set MEDCODE_SHARED to the shared folder)")
    return path


@pytest.fixture(scope="session")
def icd_db_path(tmp_path_factory) -> Path:
    """A database holding ICD-10-CM 2025-04 (imported first) and the bundled 2026-04 default."""
    path = tmp_path_factory.mktemp("db") / "medcode.db"
    db = open_db(path)
    import_release(db, "icd10cm", shared_file("icd10cm", "icd10cm-tabular-2025-04.xml.xz"))
    ensure_defaults(db)
    db.conn.close()
    return path


@pytest.fixture(scope="session")
def icd_db(icd_db_path):
    return open_db(icd_db_path)


@pytest.fixture
def db_copy(icd_db, tmp_path) -> Path:
    """A private copy of the session database, for tests that run commands which may write."""
    import sqlite3

    path = tmp_path / "copy.db"
    target = sqlite3.connect(path)
    icd_db.conn.backup(target)
    target.close()
    return path
