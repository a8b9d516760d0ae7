"""ICD-10-CM index tables (Table of Drugs, External Cause Index, Neoplasm Table) on the official April 2026
files: parsed, kept with their own release, refused by another, and driving search candidates."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from codedata.db import open_db
from codedata.errors import BadReleaseFile
from codedata.importers import icd10cm_index, import_release
from codedata.models import SearchResult
from codedata.search import resolve

from .conftest import shared_file

DATA = Path(__file__).resolve().parents[1] / "codedata" / "data"


def test_bundled_copies_are_the_official_files():
    for name in icd10cm_index.BUNDLED:
        shared = shared_file("icd10cm", name).read_bytes()
        assert hashlib.sha256((DATA / name).read_bytes()).digest() == hashlib.sha256(shared).digest()


def test_parts_are_recognised_and_rows_read():
    drug = icd10cm_index.read(shared_file("icd10cm", "icd10cm-drug-2026-04.xml.xz"))
    assert (drug.part, drug.version) == ("drug", "2026")
    # icd10cm-drug-2026-04.xml lines 271-275: Acetaminophen, col 2 T39.1X1 ... col 5 T39.1X4
    assert ("Acetaminophen", "T391X1", "poisoning accidental (unintentional)", 2) in drug.rows
    assert ("Acetaminophen", "T391X4", "poisoning undetermined", 5) in drug.rows
    eindex = icd10cm_index.read(shared_file("icd10cm", "icd10cm-eindex-2026-04.xml.xz"))
    # icd10cm-eindex-2026-04.xml lines 12993-12996: Bite, bitten by / alligator W58.01
    assert ("Bite, bitten by, alligator", "W5801", "", 0) in eindex.rows
    neoplasm = icd10cm_index.read(shared_file("icd10cm", "icd10cm-neoplasm-2026-04.xml.xz"))
    # icd10cm-neoplasm-2026-04.xml lines 8074-8081: liver, col 3 (malignant secondary) C78.7; lines 8102-8104:
    # lung, col 2 C34.9- (more characters needed: stored as the header C349)
    assert ("Neoplasm, neoplastic, liver", "C787", "malignant secondary", 3) in neoplasm.rows
    assert ("Neoplasm, neoplastic, lung", "C349", "malignant primary", 2) in neoplasm.rows


def test_an_index_of_another_year_is_refused(tmp_path):
    db = open_db(tmp_path / "m.db")
    path = shared_file("icd10cm", "icd10cm-drug-2026-04.xml.xz")
    with pytest.raises(BadReleaseFile, match="import that year's tabular first"):
        icd10cm_index.import_file(db, path)
    import_release(db, "icd10cm", shared_file("icd10cm", "icd10cm-tabular-2025-04.xml.xz"))
    release = db.execute("SELECT * FROM releases WHERE system = 'icd10cm'").fetchone()
    with pytest.raises(BadReleaseFile, match="kept only with its own release"):
        icd10cm_index.store(db, db["releases"].get(release[0]), icd10cm_index.read(path))
    with pytest.raises(BadReleaseFile, match="import that year's tabular first"):
        icd10cm_index.import_file(db, path)
    assert db.execute("SELECT count(*) FROM icd10cm_index").fetchone()[0] == 0


def test_a_file_that_is_not_an_index_is_refused(tmp_path):
    bad = tmp_path / "x.xml"
    bad.write_text("<ICD10CM.tabular><version>2026</version></ICD10CM.tabular>")
    with pytest.raises(BadReleaseFile, match="not an ICD-10-CM index file"):
        icd10cm_index.read(bad)
    bad.write_text("<ICD10CM.index")
    with pytest.raises(BadReleaseFile, match="not well-formed"):
        icd10cm_index.read(bad)


def test_the_default_release_carries_its_index_tables(icd_db):
    rows = {r["part"]: r for r in icd_db.query(
        "SELECT f.* FROM icd10cm_index_files f JOIN releases r ON r.id = f.release_id"
        " WHERE r.system = 'icd10cm' AND r.current = 1")}
    assert set(rows) == {"drug", "eindex", "neoplasm"} and all(r["version"] == "2026" for r in rows.values())
    # The 2025-04 tabular in the session database gets none: the bundled files are FY2026.
    older = icd_db.execute("SELECT count(*) FROM icd10cm_index_files f JOIN releases r ON r.id = f.release_id"
                           " WHERE r.label = '2025-04'").fetchone()[0]
    assert older == 0


def first(db, text):
    answer = resolve(db, text, "icd", limit=5)
    assert isinstance(answer, SearchResult)
    return [h.code for h in answer.results]


@pytest.mark.parametrize("text, code", [
    # icd10cm-drug-2026-04.xml line 272: Acetaminophen col 2 T39.1X1; intent unknown is accidental
    # (guideline I.C.19.e.5.b); 7th character A while the patient is in active treatment (guideline I.C.19.a).
    ("acetaminophen poisoning", "T39.1X1A"),
    ("tylenol overdose", "T39.1X1A"),  # synonyms.tsv: tylenol -> acetaminophen (brand), overdose -> poisoning
    ("adverse effect of penicillin", "T36.0X5A"),  # icd10cm-drug-2026-04.xml line 46449: Penicillin col 6 T36.0X5
    ("metastatic to liver", "C78.7"),  # icd10cm-neoplasm-2026-04.xml line 8077: liver col 3 C78.7
    ("fall from ladder", "W11.XXXA"),  # icd10cm-eindex-2026-04.xml lines 20598, 20623-20624: Fall, ladder W11
])
def test_index_tables_drive_candidates(icd_db, text, code):
    assert first(icd_db, text)[0] == code



def test_a_drug_table_header_is_offered_as_a_hint(icd_db):
    # T39.1X1 needs a 7th character (tabular sevenChrDef of T39: A, D, S): the header is shown with the codes.
    answer = resolve(icd_db, "acetaminophen poisoning", "icd", limit=3)
    assert "T39.1X1" in [h.code for h in answer.hints]
    header = resolve(icd_db, "T39.1X1", "icd")
    assert header.needs_seventh_character and [c.character for c in header.seventh_characters] == ["A", "D", "S"]
