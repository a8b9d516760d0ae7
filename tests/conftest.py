"""Session fixtures: real ICD-10-CM databases built once from the official files in ../shared/data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from codedata.db import open_db
from codedata.defaults import default_icd10cm_path, ensure_defaults
from codedata.watches import add_watch
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
    """A database holding ICD-10-CM 2025-04 (imported first) and the bundled defaults: ICD-10-CM 2026-04, HCPCS
    July 2024, the CPT starter set and the NCCI practitioner edits of July 2024."""
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


# Column-1 codes whose real PTP edits the check tests use (debridement, panels, joint injection, colonoscopy,
# therapy, E/M).
PTP_SLICE = {"11042", "80053", "20610", "45380", "97140", "97530", "97161", "99213"}


def official_ptp_slice(path: Path) -> Path:
    """Write the July 2024 practitioner PTP rows for PTP_SLICE in the official CMS tab-delimited layout."""
    import csv
    import gzip

    lines = ["CPT codes and descriptions only are copyright American Medical Association. (notice line)",
             "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\t"
             "Modifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale",
             "\t\t\t\t\t\t"]
    with gzip.open(shared_file("ncci", "2024", "ptp_practitioner_2024-07.csv.gz"), "rt") as handle:
        for row in csv.DictReader(handle):
            if row["column1"] in PTP_SLICE:
                deletion = "*" if row["deletion_date"] == "9999-12-31" else row["deletion_date"].replace("-", "")
                lines.append("\t".join([row["column1"], row["column2"], "", "", deletion,
                                        row["modifier_indicator"], row["ptp_edit_rationale"]]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def ncci_db_path(icd_db, tmp_path_factory) -> Path:
    """The session database: its bundled defaults hold the real NCCI practitioner PTP, MUE and AOC edits."""
    import sqlite3

    path = tmp_path_factory.mktemp("ncci") / "ncci.db"
    target = sqlite3.connect(path)
    icd_db.conn.backup(target)
    target.close()
    return path


@pytest.fixture
def ncci_db(ncci_db_path):
    db = open_db(ncci_db_path)
    yield db
    db.conn.close()


@pytest.fixture(scope="session")
def watched_db(tmp_path_factory):
    """2025-04 imported, channels watching, then the 2026-04 default imported: alerts queued by the import."""
    db = open_db(tmp_path_factory.mktemp("watch") / "w.db")
    import_release(db, "icd10cm", shared_file("icd10cm", "icd10cm-tabular-2025-04.xml.xz"))
    for channel, pattern in [("C_E11", "E11"), ("C_G35", "G35"), ("C_I10", "I10"), ("C_S62", "S62.90*")]:
        add_watch(db, channel, pattern, "icd10cm", "U1")
    import_release(db, "icd10cm", default_icd10cm_path(), announce_channel="C_ANNOUNCE")
    return db
