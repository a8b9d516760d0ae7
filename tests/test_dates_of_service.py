"""Answers for the date of service: release windows, DOS-aware lookups and checks, code history.

Sources: the real tabular files in ../shared/data/icd10cm (2021, 2025-04, 2026-04). G35 (multiple sclerosis)
is billable in icd10cm-tabular-2025-04 and a header over G35.A-G35.D in icd10cm-tabular-2026-04 (FY2026
addenda); M54.5 is billable in icd10cm-tabular-2021 and a header over M54.50/M54.51/M54.59 from FY2022;
S30.1XXA is in 2025-04 and deleted in 2026-04 (FY2026 addenda: subdivided into S30.11-/S30.12-).
"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest

from codedata.checks import check_claim
from codedata.codes import lookup_icd
from codedata.db import open_db
from codedata.errors import BadInput
from codedata.importers import import_release
from codedata.models import ClaimRequest, ProcedureLine
from codedata.windows import next_update, parse_dos, release_name, resolve, windows

from .conftest import shared_file


@pytest.fixture(scope="module")
def three_releases(db_copy_module):
    db = open_db(db_copy_module)
    import_release(db, "icd10cm", shared_file("icd10cm", "icd10cm-tabular-2021.xml.xz"))
    return db


@pytest.fixture(scope="module")
def db_copy_module(icd_db, tmp_path_factory):
    import sqlite3

    path = tmp_path_factory.mktemp("dos") / "three.db"
    target = sqlite3.connect(path)
    icd_db.conn.backup(target)
    target.close()
    return path


def check(db, dx, px=("99214",), dos=None):
    return check_claim(db, ClaimRequest(diagnoses=list(dx), procedures=[ProcedureLine(code=p) for p in px],
                                        date_of_service=dos))


def rules(report):
    return {f.rule for f in report.findings}


# --- windows -------------------------------------------------------------------------------------


def test_schedules_follow_the_official_update_dates():
    # ICD-10-CM: October 1 (fiscal year) and April 1; HCPCS and NCCI: quarterly; CPT: January 1.
    assert next_update("icd10cm", date(2026, 4, 1)) == date(2026, 10, 1)
    assert next_update("icd10cm", date(2025, 10, 1)) == date(2026, 4, 1)
    assert next_update("hcpcs", date(2024, 7, 1)) == date(2024, 10, 1)
    assert next_update("ncci_ptp_practitioner", date(2024, 10, 1)) == date(2025, 1, 1)
    assert next_update("cpt", date(2026, 1, 1)) == date(2027, 1, 1)
    assert release_name("icd10cm", date(2026, 10, 1)) == "ICD-10-CM FY2027"


def test_each_release_covers_until_the_next_scheduled_update(three_releases):
    spans = {w.release["label"]: (w.start.isoformat(), w.end.isoformat()) for w in windows(three_releases, "icd10cm")}
    assert spans == {"2020-10": ("2020-10-01", "2021-03-31"), "2025-04": ("2025-04-01", "2025-09-30"),
                     "2026-04": ("2026-04-01", "2026-09-30")}


@pytest.mark.parametrize("dos,label,covered", [
    ("2025-04-01", "2025-04", True), ("2025-09-30", "2025-04", True),  # inside, first and last day
    ("2025-10-01", "2026-04", False),   # after 2025-04's window, before 2026-04's: nearest, with a notice
    ("2026-04-01", "2026-04", True), ("2026-09-30", "2026-04", True),
    ("2026-10-01", "2026-04", False),   # FY2027 not loaded
    ("2021-02-01", "2020-10", True), ("2019-06-01", "2020-10", False),
])
def test_release_for_a_date_of_service(three_releases, dos, label, covered):
    resolution = resolve(three_releases, "icd10cm", date.fromisoformat(dos))
    assert (resolution.release["label"], resolution.covered) == (label, covered)
    assert (resolution.notice is None) == covered


def test_notice_names_the_missing_release_and_its_window(icd_db):
    notice = resolve(icd_db, "icd10cm", date(2026, 11, 24)).notice
    assert "ICD-10-CM FY2027 (in effect 2026-10-01 to 2027-03-31) is not loaded" in notice
    assert "answered from release 2026-04 (covers 2026-04-01 to 2026-09-30)" in notice
    hcpcs = resolve(icd_db, "hcpcs", date(2026, 11, 24)).notice
    assert "HCPCS Level II 2026 Q4 (in effect 2026-10-01 to 2026-12-31) is not loaded" in hcpcs
    assert "2024-07 is 9 quarters old" in hcpcs


@pytest.mark.parametrize("text", ["2026-02-30", "yesterday", "03/01/2026", "2015-09-30", "2099-01-01"])
def test_a_bad_date_of_service_is_one_clear_line(text):
    with pytest.raises(BadInput) as caught:
        parse_dos(text, today=date(2026, 11, 24))
    assert "\n" not in str(caught.value) and text not in str(caught.value)


def test_the_latest_date_of_service_is_a_year_from_today_as_the_readme_says():
    # README: "outside 2015-10-01 to a year from today" is refused; the message names that day
    assert parse_dos("2027-11-24", today=date(2026, 11, 24)) == date(2027, 11, 24)
    with pytest.raises(BadInput, match="and 2027-11-24$"):
        parse_dos("2027-11-25", today=date(2026, 11, 24))
    assert parse_dos("2029-02-28", today=date(2028, 2, 29)) == date(2029, 2, 28)


@pytest.mark.parametrize("text", ["", "  "])
def test_an_empty_date_of_service_is_refused_not_read_as_today(text):
    # `--dos ''` from a script whose variable was empty: today would answer a question nobody asked.
    with pytest.raises(BadInput, match="YYYY-MM-DD"):
        parse_dos(text, today=date(2026, 11, 24))


# --- lookups by DOS --------------------------------------------------------------------------------


def test_g35_is_billable_on_a_2025_date_and_a_header_in_2026(icd_db):
    before = lookup_icd(icd_db, "G35", dos="2025-06-01")
    assert (before.status, before.billable, before.release.label) == ("valid", True, "2025-04")
    after = lookup_icd(icd_db, "G35", dos="2026-05-01")
    assert (after.status, after.billable, after.release.label) == ("valid", False, "2026-04")


def test_a_code_not_yet_in_effect_names_when_it_took_effect(icd_db):
    answer = lookup_icd(icd_db, "G35.A", dos="2025-06-01")
    assert answer.status == "not_yet_valid"
    assert answer.first_release == "2026-04"
    assert answer.took_effect == "between 2025-10-01 and 2026-04-01"


def test_a_code_deleted_later_is_valid_on_its_date(icd_db):
    answer = lookup_icd(icd_db, "S30.1XXA", dos="2025-06-01")
    assert (answer.status, answer.billable) == ("valid", True)
    assert "deleted between 2025-10-01 and 2026-04-01" in answer.history[0]
    gone = lookup_icd(icd_db, "S30.1XXA", dos="2026-06-01")
    assert (gone.status, gone.removed_in) == ("no_longer_valid", "2026-04")


def test_history_across_every_loaded_release(three_releases):
    answer = lookup_icd(three_releases, "M54.5", dos="2026-05-01")
    assert answer.billable is False
    assert answer.history[0] == (
        "Billable in release 2020-10 (through 2021-03-31); became a header between 2021-04-01 and 2025-04-01 "
        "(release 2025-04): use M54.50, M54.51, M54.59.")


# --- checks by DOS ---------------------------------------------------------------------------------


def test_check_judges_g35_by_the_release_in_force(icd_db):
    inside = check(icd_db, ["G35"], dos="2025-06-01")
    assert inside.verdict == "ok"
    assert "dx_header" not in rules(inside)
    later = next(f for f in inside.findings if f.rule == "dx_replaced_later")
    assert later.severity == "info" and later.suggestions[0].code == "G35.A"
    assert [r.label for r in inside.releases if r.system == "icd10cm"] == ["2025-04"]
    header = check(icd_db, ["G35"], dos="2026-05-01")
    assert header.verdict == "likely_denial" and "dx_header" in rules(header)
    assert "release 2026-04" in next(f for f in header.findings if f.rule == "dx_header").basis


def test_check_refuses_a_code_before_it_took_effect(icd_db):
    report = check(icd_db, ["G35.A"], dos="2025-06-01")
    finding = next(f for f in report.findings if f.rule == "dx_not_yet_valid")
    assert finding.severity == "error" and "2025-10-01" in finding.message
    assert "release 2025-04" in finding.basis
    assert check(icd_db, ["G35.A"], dos="2026-05-01").verdict == "ok"


def test_check_says_when_no_release_covers_the_date(icd_db):
    report = check(icd_db, ["E11.9"], dos="2026-11-24")
    notice = next(f for f in report.findings if f.rule == "release_not_loaded" and "ICD-10-CM" in f.message)
    assert notice.severity == "info" and "FY2027" in notice.message
    assert report.verdict == "ok"  # a data notice is not a problem with the claim


def test_discontinued_hcpcs_code_points_to_its_cross_reference(icd_db):
    # hcpcs_2024_07: G0202 terminated 2017-12-31, cross-reference 77067 (CMS xref column).
    report = check(icd_db, ["Z12.31"], px=["G0202"], dos="2024-08-01")
    finding = next(f for f in report.findings if f.rule == "px_discontinued")
    assert "2017-12-31" in finding.message and [s.code for s in finding.suggestions] == ["77067"]


def test_cli_lookup_takes_a_date_of_service(db_copy):
    run = [sys.executable, "-m", "bot", "--db", str(db_copy)]
    result = subprocess.run([*run, "icd", "G35", "--dos", "2025-06-01", "--json"], capture_output=True, text=True)
    payload = json.loads(result.stdout)
    assert (payload["billable"], payload["release"]["label"], payload["date_of_service"]) == (True, "2025-04",
                                                                                              "2025-06-01")
    bad = subprocess.run([*run, "icd", "G35", "--dos", "June 1"], capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


# --- the tabular as published ----------------------------------------------------------------------


def test_letter_second_codes_are_read_everywhere(icd_db):
    # icd10cm-tabular-2026-04: QA0 block, QA0.0101 billable (FY2026).
    answer = lookup_icd(icd_db, "qa00101", dos="2026-05-01")
    assert (answer.code, answer.status, answer.billable) == ("QA0.0101", "valid", True)
    assert check(icd_db, ["QA0.0101"], dos="2026-05-01").verdict == "ok"


def test_a_header_without_a_seventh_character_rule_is_just_a_header(icd_db):
    # C44.102 has children C44.1021/C44.1022 (7 characters long, but no sevenChrDef applies in C44).
    answer = lookup_icd(icd_db, "C44.102", dos="2026-05-01")
    assert (answer.needs_seventh_character, answer.seventh_characters) == (False, [])
    report = check(icd_db, ["C44.102"], dos="2026-05-01")
    assert "dx_header" in rules(report) and "dx_missing_7th_character" not in rules(report)


def test_seventh_character_choices_are_only_codes_that_exist(icd_db):
    # S06 sevenChrDef offers A, D, S; its note bars D and S after 6th character 7: only S06.1X7A exists.
    answer = lookup_icd(icd_db, "S06.1X7", dos="2026-05-01")
    assert [c.character for c in answer.seventh_characters] == ["A"]
    finding = next(f for f in check(icd_db, ["S06.1X7"], dos="2026-05-01").findings
                   if f.rule == "dx_missing_7th_character")
    assert "7th-character rule (sevenChrDef) at S06" in finding.basis


def test_chapter_and_block_notes_are_inherited_and_labelled(icd_db):
    # icd10cm-tabular-2026-04 chapter 19 excludes2 "birth trauma (P10-P15)"; the T07 block excludes1 burns.
    notes = lookup_icd(icd_db, "T07.XXXA", dos="2026-05-01").notes
    assert ("excludes2", "Chapter 19") in {(n.kind, n.at) for n in notes if "birth trauma" in n.text}
    assert ("excludes1", "block T07") in {(n.kind, n.at) for n in notes if "burns and corrosions" in n.text}


def test_children_follow_the_tabular_nesting(three_releases):
    # icd10cm-tabular-2021 nests H54.512A inside H54.511 (not under a H54.512 entry).
    answer = lookup_icd(three_releases, "H54.511", dos="2021-02-01")
    assert answer.release.label == "2020-10"
    assert [c.code for c in answer.children] == ["H54.511A", "H54.512A"]


def test_console_answers_for_the_date_of_service(icd_db):
    from bot.console import answer_line

    assert "billable · category" in answer_line(icd_db, "/icd G35 dos:2025-06-01")
    assert "NOT billable (header)" in answer_line(icd_db, "/icd G35 dos:2026-05-01")
    assert "G35.A is not yet" in answer_line(icd_db, "/pair G35.A 99214 dos:2025-06-01").replace(
        "was not yet a code", "is not yet")


def test_a_search_for_a_date_of_service_lists_the_codes_in_force_that_day(icd_db):
    # Fifth black-box pass: a 2025-06-01 search listed G35.D, G35.B0, G35.C0 (new in the 2026 tabular); release
    # 2025-04 (in force 2025-04-01..2025-09-30) has G35 'Multiple sclerosis' as a billable code.
    from codedata.search import resolve as search_or_lookup
    then = search_or_lookup(icd_db, "multiple sclerosis", "icd", dos=date(2025, 6, 1))
    codes = [h.code for h in then.results]
    assert codes[0] == "G35" and not any(c.startswith("G35.") for c in codes)
    assert "release 2025-04" in then.notice and then.date_of_service == "2025-06-01"
    now = search_or_lookup(icd_db, "multiple sclerosis", "icd", dos=date(2026, 5, 1))
    assert now.results[0].code.startswith("G35.") and now.notice is None


def test_two_files_with_the_same_effective_date_show_no_impossible_window(tmp_path):
    # Fifth black-box pass: a second CPT file effective 2026-01-01 left the first "2026-01-01 to 2025-12-31".
    # The later import answers that date; the first is shown as replaced. Fixture: tests/fixtures CPT test data.
    from pathlib import Path
    db = open_db(tmp_path / "m.db")
    path = Path(__file__).parent / "fixtures" / "cpt_2026_LONGULT_testdata.txt"
    first = import_release(db, "cpt", path, label="2026a", effective="2026-01-01")
    second = tmp_path / "cpt_2026_second.txt"
    second.write_text(path.read_text(encoding="utf-8").replace("TEST DESCRIPTOR", "SECOND FILE"), encoding="utf-8")
    import_release(db, "cpt", second, label="2026b", effective="2026-01-01")
    shown = {w.release["label"]: w.text() for w in windows(db, "cpt")}
    assert shown["2026a"] == "none: release 2026b took its place (same effective date 2026-01-01)"
    assert shown["2026b"].startswith("2026-01-01 to ") and first.release_id
