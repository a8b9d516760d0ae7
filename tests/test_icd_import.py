"""ICD-10-CM importers on the official CDC/CMS files: counts, hierarchy, notes, 7th characters, atomicity."""
from __future__ import annotations

import pytest

from codedata.db import current_release, open_db, releases
from codedata.errors import BadReleaseFile
from codedata.importers import import_release
from codedata.importers.icd10cm import parse_order_line

from .conftest import shared_file


def test_default_2026_release_has_official_billable_count(icd_db):
    release = current_release(icd_db, "icd10cm")
    assert release["label"] == "2026-04"
    assert release["billable_count"] == 74_719
    assert release["source_name"] == "icd10c-tabular-April-1-2026.xml"


def test_2025_release_is_kept_but_not_current(icd_db):
    rows = releases(icd_db, "icd10cm")
    assert [(r["label"], r["billable_count"], r["current"]) for r in rows] == [
        ("2025-04", 74_260, 0),
        ("2026-04", 74_719, 1),
    ]


@pytest.mark.parametrize("name", ["icd10cm-tabular-2021.xml.xz", "icd10cm-order-2021.txt.xz"])
def test_2021_tabular_and_order_file_agree(tmp_path, name):
    db = open_db(tmp_path / "m.db")
    result = import_release(db, "icd10cm", shared_file("icd10cm", name))
    assert result.billable_count == 72_621
    assert result.effective_date == "2020-10-01"


def test_2021_tabular_and_order_file_list_the_same_billable_codes(tmp_path):
    db = open_db(tmp_path / "m.db")
    xml = import_release(db, "icd10cm", shared_file("icd10cm", "icd10cm-tabular-2021.xml.xz"), label="x")
    order = import_release(db, "icd10cm", shared_file("icd10cm", "icd10cm-order-2021.txt.xz"), label="o")
    billable = "SELECT code FROM codes WHERE release_id = ? AND billable = 1 ORDER BY code"
    assert [r["code"] for r in db.query(billable, [xml.release_id])] == [
        r["code"] for r in db.query(billable, [order.release_id])
    ]


def test_seventh_character_expansion_uses_placeholder_x(icd_db):
    release_id = current_release(icd_db, "icd10cm")["id"]
    rows = {r["code"]: r for r in icd_db.query(
        "SELECT * FROM codes WHERE release_id = ? AND code IN ('S134XXA', 'S72001A', 'S134')", [release_id])}
    assert rows["S134XXA"]["display"] == "S13.4XXA"
    assert rows["S134XXA"]["parent"] == "S134"
    assert rows["S72001A"]["description"] == (
        "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture")
    assert rows["S134"]["billable"] == 0


def test_s06_death_codes_take_only_initial_encounter(icd_db):
    # Tabular note at S06: "7th characters D and S do not apply to codes ... with 6th character 7 ... or 8".
    release_id = current_release(icd_db, "icd10cm")["id"]
    codes = [r["code"] for r in icd_db.query(
        "SELECT code FROM codes WHERE release_id = ? AND parent = 'S061X7'", [release_id])]
    assert codes == ["S061X7A"]


def test_hierarchy_and_notes_are_kept(icd_db):
    release_id = current_release(icd_db, "icd10cm")["id"]
    e11 = icd_db.execute(
        "SELECT parent, kind, chapter FROM codes WHERE release_id = ? AND code = 'E11'", [release_id]).fetchone()
    assert e11 == ("E08-E13", "category", "4")
    kinds = {r["kind"] for r in icd_db.query("SELECT DISTINCT kind FROM notes WHERE release_id = ?", [release_id])}
    assert kinds == {"inclusion_term", "includes", "excludes1", "excludes2", "code_first",
                     "use_additional_code", "code_also", "note", "seventh_character_note"}


def test_reimporting_the_same_file_is_a_no_op(icd_db):
    before = icd_db.execute("SELECT count(*) FROM codes").fetchone()[0]
    result = import_release(icd_db, "icd10cm", shared_file("icd10cm", "icd10cm-tabular-2025-04.xml.xz"))
    assert result.status == "already_imported"
    assert icd_db.execute("SELECT count(*) FROM codes").fetchone()[0] == before


def test_order_line_parser_reads_the_fixed_width_layout():
    line = "00002 A000    1 Cholera due to Vibrio cholerae 01, biovar cholerae           Cholera due to Vibrio cholerae 01, biovar cholerae"
    assert parse_order_line(line) == (
        "A000", True, "Cholera due to Vibrio cholerae 01, biovar cholerae",
        "Cholera due to Vibrio cholerae 01, biovar cholerae")
    assert parse_order_line("not an order line") is None


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"hello, this is not a code file\n", "neither an ICD-10-CM tabular XML nor"),
    (b"<?xml version='1.0'?><ICD10CM.tabular><chapter>", "not well-formed XML"),
    (b"<?xml version='1.0'?><html></html>", "not an ICD-10-CM tabular"),
    (b"\x00\x01\x02binary" * 100, "binary"),
    (b"\xfd7zXZ\x00truncated", "damaged compressed"),
])
def test_bad_files_are_rejected_and_nothing_changes(tmp_path, content, reason):
    db = open_db(tmp_path / "m.db")
    bad = tmp_path / "release.xml"
    bad.write_bytes(content)
    with pytest.raises(BadReleaseFile, match=reason):
        import_release(db, "icd10cm", bad)
    assert releases(db) == []
    assert db.execute("SELECT count(*) FROM codes").fetchone()[0] == 0


def test_a_failed_import_leaves_the_previous_release_current(tmp_path):
    db = open_db(tmp_path / "m.db")
    import_release(db, "icd10cm", shared_file("icd10cm", "icd10cm-order-2021.txt.xz"))
    truncated = tmp_path / "icd10cm-tabular-2026-04.xml"
    text = shared_file("icd10cm", "icd10cm-tabular-2025-04.xml.xz")
    import lzma
    truncated.write_bytes(lzma.decompress(text.read_bytes())[:3_000_000])
    with pytest.raises(BadReleaseFile):
        import_release(db, "icd10cm", truncated)
    assert [(r["label"], r["current"]) for r in releases(db)] == [("2020-10", 1)]
    assert db.execute("SELECT count(DISTINCT release_id) FROM codes").fetchone()[0] == 1


def test_a_crash_inside_the_transaction_rolls_everything_back(tmp_path, monkeypatch):
    from codedata.importers import common

    db = open_db(tmp_path / "m.db")

    def explode(*args):
        raise RuntimeError("disk went away")

    monkeypatch.setattr(common, "_flip_current", explode)
    with pytest.raises(RuntimeError):
        import_release(db, "icd10cm", shared_file("icd10cm", "icd10cm-order-2021.txt.xz"))
    assert releases(db) == []
    assert db.execute("SELECT count(*) FROM codes").fetchone()[0] == 0


def test_an_order_file_category_lists_its_codes(tmp_path):
    # An order file has no chapters, so a category hangs from nothing: listing the codes under it once failed
    # with a database error (fifth black-box pass). icd10cm-order-2021.txt lines 1-4: A00, A00.0, A00.1, A00.9.
    from codedata.codes import billable_descendants
    db = open_db(tmp_path / "m.db")
    result = import_release(db, "icd10cm", shared_file("icd10cm", "icd10cm-order-2021.txt.xz"))
    row = db.execute("SELECT * FROM codes WHERE release_id = ? AND code = 'A00'", [result.release_id]).fetchone()
    row = dict(zip([c[0] for c in db.execute("SELECT * FROM codes LIMIT 0").description], row))
    assert row["parent"] is None
    children, total = billable_descendants(db, result.release_id, row)
    assert [c.code for c in children] == ["A00.0", "A00.1", "A00.9"] and total == 3
