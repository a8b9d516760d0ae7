"""`medcode cpt`: HCPCS Level II imports on the official CMS files, the CPT starter set, descriptor imports,
code shapes and modifiers."""
from __future__ import annotations

import csv
import warnings
from pathlib import Path

import openpyxl
import pytest

from codedata.db import open_db, releases
from codedata.defaults import ensure_defaults
from codedata.errors import BadInput, BadReleaseFile
from codedata.importers import import_release
from codedata.importers.hcpcs import parse_record_line
from codedata.procedures import classify_procedure, lookup_procedure, modifier_explanations

from .conftest import shared_file

FIXTURES = Path(__file__).parent / "fixtures"
STARTER = Path(__file__).resolve().parents[1] / "codedata" / "data" / "cpt_starter.tsv"


def distinct_xlsx_codes(path: Path) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = openpyxl.load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True)
        header = next(r for r in rows if r and "HCPC" in r)
        code, recid = header.index("HCPC"), header.index("RECID")
        return len({r[code].strip() for r in rows if r and str(r[recid]) in ("3", "4")})


def code_count(db, release_id: int) -> int:
    return db.execute("SELECT count(*) FROM codes WHERE release_id = ? AND kind = 'code'", [release_id]).fetchone()[0]


def test_january_2020_annual_txt_has_6710_codes_and_its_modifiers(tmp_path):
    db = open_db(tmp_path / "m.db")
    result = import_release(db, "hcpcs", shared_file("hcpcs", "2020", "HCPC2020_ANWEB_w_disclaimer.txt.xz"))
    assert (result.label, result.title) == ("2020-01", "HCPCS Level II, January 2020 release")
    assert code_count(db, result.release_id) == 6_710
    modifiers = db.execute("SELECT count(*) FROM codes WHERE release_id = ? AND kind = 'modifier'",
                           [result.release_id]).fetchone()[0]
    assert modifiers == 369
    ad = db.execute("SELECT description FROM codes WHERE release_id = ? AND code = 'AD'", [result.release_id]).fetchone()
    # The long description of AD continues on a record-id 8 line.
    assert ad[0] == "Medical supervision by a physician: more than four concurrent anesthesia procedures"


@pytest.mark.parametrize("name", ["HCPC2020_04_anweb.xlsx", "HCPC2020_07_anweb.xlsx", "HCPC2020_10_anweb.xlsx"])
def test_2020_quarterly_xlsx_counts_match_the_distinct_codes_in_the_file(tmp_path, name):
    path = shared_file("hcpcs", "2020", name)
    db = open_db(tmp_path / "m.db")
    result = import_release(db, "hcpcs", path)
    assert code_count(db, result.release_id) == distinct_xlsx_codes(path)
    assert result.label == f"2020-{name[9:11]}"


def test_july_2024_default_has_8033_codes(icd_db):
    current = [r for r in releases(icd_db, "hcpcs") if r["current"]][0]
    assert (current["label"], current["title"]) == ("2024-07", "HCPCS Level II, July 2024 release")
    assert code_count(icd_db, current["id"]) == 8_033


def test_record_line_parser_reads_the_fixed_width_layout():
    line = ("   AD001007Medical supervision by a physician: more than four concurrent anesthesia"
            "        Md supervision, >4 anes proc" + " " * 110 + "D" + " " * 38 + "1984010120010101        N")
    record = parse_record_line(line)
    assert (record["code"], record["recid"], record["short"]) == ("AD", "7", "Md supervision, >4 anes proc")
    assert record["long"] == "Medical supervision by a physician: more than four concurrent anesthesia"
    assert parse_record_line("This file contains the Level II codes") is None


@pytest.mark.parametrize("query, description", [
    ("J1745", "Injection, infliximab, excludes biosimilar, 10 mg"),
    ("e0601", "Continuous positive airway pressure (cpap) device"),
    ("G0008", "Administration of influenza virus vaccine"),
])
def test_hcpcs_answers_name_the_vintage(icd_db, query, description):
    answer = lookup_procedure(icd_db, query)
    assert (answer.system, answer.status, answer.description) == ("hcpcs", "valid", description)
    assert answer.release.title == "HCPCS Level II, July 2024 release"


@pytest.mark.parametrize("code, section", [
    ("99213", "Evaluation and Management"), ("97110", "Physical Medicine and Rehabilitation"),
    ("90837", "Psychiatry"), ("80061", "Organ or Disease Oriented Panels"),
])
def test_cpt_answers_from_the_starter_set(icd_db, code, section):
    answer = lookup_procedure(icd_db, code)
    assert (answer.system, answer.category, answer.section) == ("cpt", "CPT Category I", section)
    assert answer.source == "medcode starter set (own plain-language text)"


def test_cpt_categories_by_shape(icd_db):
    assert lookup_procedure(icd_db, "3074F").category == "CPT Category II (performance measurement)"
    assert lookup_procedure(icd_db, "0042t").category == "CPT Category III (emerging technology)"
    assert lookup_procedure(icd_db, "90833").extra["add_on"] is True


def test_well_formed_cpt_without_descriptor_says_so(icd_db):
    answer = lookup_procedure(icd_db, "12345")
    assert (answer.status, answer.description) == ("no_descriptor", None)
    assert "no descriptor loaded — import your CPT file" in answer.history[0]


@pytest.mark.parametrize("typed, expected", [
    ("25", ("modifier", "25")), ("-59", ("modifier", "59")), ("xs", ("modifier", "XS")), ("RT", ("modifier", "RT")),
    ("99213", ("cpt", "99213")), ("3074f", ("cpt", "3074F")), ("0202U", ("cpt", "0202U")),
    ("j1745", ("hcpcs", "J1745")), (" J 1745 ", ("hcpcs", "J1745")),
])
def test_classify_procedure_shapes(typed, expected):
    assert classify_procedure(typed) == expected


@pytest.mark.parametrize("typed", ["", "!!!", "E11.9", "x" * 5000, "'; DROP TABLE codes;--", "123456", "W1234"])
def test_classify_rejects_other_text(typed):
    with pytest.raises(BadInput):
        classify_procedure(typed)


def test_modifier_25_is_explained(icd_db):
    answer = lookup_procedure(icd_db, "25")
    assert answer.system == "modifier"
    assert "separately identifiable E/M visit" in answer.description


def test_at_least_the_forty_common_modifiers_are_explained():
    required = {"25", "26", "TC", "50", "51", "59", "XE", "XS", "XP", "XU", "76", "77", "78", "79", "91", "LT",
                "RT", "GA", "GY", "GZ", "KX", "95", "GT", "FS", "24", "57", "58", "22", "52", "53", "80", "82",
                "AS", "QW", "JW", "JZ"}
    explained = modifier_explanations()
    assert required <= set(explained)
    assert len(explained) >= 40


def test_starter_set_shape():
    rows = list(csv.DictReader(STARTER.open(encoding="utf-8"), delimiter="\t"))
    assert len(rows) >= 400
    assert len({r["code"] for r in rows}) == len(rows)
    assert all(len(r["description"]) <= 90 and r["section"] for r in rows)
    assert {r["category"] for r in rows} == {"I", "II", "III", "PLA"}
    add_ons = {r["code"] for r in rows if r["add_on"] == "yes"}
    assert {"99292", "90833", "96375", "11045", "64484"} <= add_ons
    assert "99213" not in add_ons


def test_imported_ama_descriptors_take_precedence_and_name_their_source(db_copy):
    db = open_db(db_copy)
    result = import_release(db, "cpt", FIXTURES / "cpt_2026_LONGULT_testdata.txt")
    assert (result.billable_count, result.effective_date) == (3, "2026-01-01")
    answer = lookup_procedure(db, "99213")
    assert answer.description == "TEST DESCRIPTOR: invented long text for an established-patient visit"
    assert answer.source == "cpt_2026_LONGULT_testdata.txt (long descriptors)"
    assert answer.section == "Evaluation and Management"  # kept from the starter set
    assert lookup_procedure(db, "12345").status == "valid"
    assert lookup_procedure(db, "90837").source == "medcode starter set (own plain-language text)"
    ensure_defaults(db)  # the starter set never outranks an imported file
    assert lookup_procedure(db, "99213").source.startswith("cpt_2026_LONGULT")


def test_cms_short_descriptor_sheet_imports_cpt_rows_only(db_copy):
    db = open_db(db_copy)
    result = import_release(db, "cpt", FIXTURES / "cms_addendum_testdata.csv", effective="2026-01-01")
    assert result.billable_count == 1
    assert lookup_procedure(db, "80061").description == "TEST lipid panel short"
    assert lookup_procedure(db, "J1745").system == "hcpcs"


@pytest.mark.parametrize("system, content, reason", [
    ("hcpcs", b"", "empty"),
    ("hcpcs", b"just some words\nnot a HCPCS file\n", "holds no HCPCS records"),
    ("hcpcs", b"PK\x03\x04 truncated zip", "damaged zip"),
    ("cpt", b"no codes in here\nat all\n", "holds no CPT code"),
    ("cpt", b"\x00\x01binary\x00" * 50, "binary"),
])
def test_bad_procedure_files_are_rejected(tmp_path, system, content, reason):
    db = open_db(tmp_path / "m.db")
    bad = tmp_path / "HCPC2024_JUL_ANWEB.txt"
    bad.write_bytes(content)
    with pytest.raises(BadReleaseFile, match=reason):
        import_release(db, system, bad)
    assert releases(db) == []


def test_truncated_hcpcs_file_is_rejected_and_previous_release_stays(icd_db, db_copy, tmp_path):
    import lzma

    db = open_db(db_copy)
    text = lzma.decompress(shared_file("hcpcs", "2020", "HCPC2020_ANWEB_w_disclaimer.txt.xz").read_bytes())
    cut = tmp_path / "HCPC2025_ANWEB.txt"
    cut.write_bytes(text[: len(text) // 2] + b"\n\x1a garbage tail that is not a record")
    with pytest.raises(BadReleaseFile, match="is not a HCPCS record"):
        import_release(db, "hcpcs", cut)
    assert [r["label"] for r in releases(db, "hcpcs") if r["current"]] == ["2024-07"]


def test_discontinued_hcpcs_code_is_flagged_not_active(icd_db):
    # CMS keeps discontinued codes in later files with a termination date (for older dates of service).
    code = icd_db.execute(
        "SELECT code FROM codes WHERE release_id = (SELECT id FROM releases WHERE system='hcpcs' AND current=1)"
        " AND billable = 0 AND kind = 'code' ORDER BY code LIMIT 1").fetchone()[0]
    answer = lookup_procedure(icd_db, code)
    # "no_longer_valid", as --json says: "valid" beside "Discontinued" was a contradiction (hostile pass 5)
    assert (answer.status, answer.billable) == ("no_longer_valid", False)
    assert answer.history[0].startswith(f"Discontinued: last billable date of service {answer.extra['terminated']}")
    assert answer.extra["terminated"] < "2024-07-01"
