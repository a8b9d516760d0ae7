"""/cpt for any well-formed CPT code: section from the number, and what the bundled CMS NCCI files say (the July
2024 practitioner PTP and MUE files and the 2024 AOC file); PTP counts are checked against the official file."""
from __future__ import annotations

import csv
import gzip

import pytest

from bot.render import code_answer
from codedata import ncci_facts
from codedata.procedures import lookup_procedure, section_of


@pytest.mark.parametrize("code, section", [
    ("27447", "Surgery › Musculoskeletal system"),
    ("36415", "Surgery › Cardiovascular system"),
    ("99173", "Medicine › Other services and procedures"),  # screening tests 99170-99199, not Ophthalmology
    ("99213", "Evaluation and Management"),
    ("80053", "Pathology and Laboratory › Organ or disease oriented panels"),
    ("0042T", "Emerging technology, services and procedures"),
    ("3074F", "Performance measurement"),
])
def test_section_comes_from_the_code_number(code, section):
    assert section_of(code) == section


def test_mue_add_on_and_ptp_facts(ncci_db):
    # mue_practitioner_2024-07.csv line 871: 11046,10,3,Clinical: Data
    assert ncci_facts.mue(ncci_db, "11046") == ncci_facts.Mue(10, "3", "Clinical: Data", "2024-07")
    # aoc_2024.csv line 689: primary 11043, add-on 11046, edit type 1
    aoc = ncci_facts.add_on(ncci_db, "11046")
    assert "11043" in aoc.primaries and aoc.edit_types == ["1"]
    assert ncci_facts.add_on(ncci_db, "11042") is None and "11045" in ncci_facts.add_ons_of(ncci_db, "11042")
    # ptp_practitioner_2024-07.csv.gz, read here as the oracle: the active rows (deletion 9999-12-31) of 36000.
    first, second = _active_partners("36000")
    pairs = ncci_facts.ptp(ncci_db, "36000", common={"45380"})
    assert (pairs.pairs, pairs.as_column1, pairs.as_column2) == (len(first | second), len(first), len(second))
    assert pairs.partners[0] == "45380"  # commonly billed first, then by number
    assert pairs.partners[1:] == sorted(pairs.partners[1:])


def _active_partners(code: str) -> tuple[set[str], set[str]]:
    from .conftest import shared_file

    first, second = set(), set()
    with gzip.open(shared_file("ncci", "2024", "ptp_practitioner_2024-07.csv.gz"), "rt") as handle:
        for row in csv.DictReader(handle):
            if row["deletion_date"] == "9999-12-31":
                if row["column1"] == code:
                    first.add(row["column2"])
                elif row["column2"] == code:
                    second.add(row["column1"])
    return first, second


def test_cpt_code_outside_the_starter_set_gets_the_cms_facts(ncci_db):
    answer = lookup_procedure(ncci_db, "36640")
    assert answer.status == "no_descriptor" and answer.section == "Surgery › Cardiovascular system"
    # mue_practitioner_2024-07.csv line 3883: 36640,1,3,Clinical: Data
    assert answer.extra["mue"] == {"units": 1, "mai": "3", "rationale": "Clinical: Data"}
    first, second = _active_partners("36640")
    assert answer.extra["ptp_pairs"] == len(first | second) > 1000
    text = code_answer(answer)
    assert "MUE 1 unit(s)" in text and f"{len(first | second)} active PTP pair(s)" in text
    assert "cannot confirm" not in text


def test_starter_code_answers_carry_the_facts_too(ncci_db):
    answer = lookup_procedure(ncci_db, "11042")
    assert answer.status == "valid" and answer.description
    # mue_practitioner_2024-07.csv line 867: 11042,1,2,Code Descriptor / CPT Instruction
    assert answer.extra["mue"]["units"] == 1 and answer.extra["mue"]["mai"] == "2"
    assert "11045" in answer.extra["aoc_add_ons"]
    assert any(line.startswith("MUE 1 unit(s) (date of service edit, policy") for line in answer.history)


def test_without_ncci_files_a_code_still_gets_its_section(tmp_path):
    from pathlib import Path

    from codedata.db import open_db
    from codedata.importers import import_release

    db = open_db(tmp_path / "no-ncci.db")
    import_release(db, "cpt", Path(__file__).resolve().parents[1] / "codedata" / "data" / "cpt_starter.tsv")
    answer = lookup_procedure(db, "36640")
    assert answer.status == "no_descriptor" and "mue" not in answer.extra
    assert "Surgery" in answer.history[0] and "do not list it" in answer.history[0]


def test_starter_set_covers_every_em_and_97xxx_code_in_the_mue_file():
    import csv
    import lzma
    from pathlib import Path

    from .conftest import shared_file

    starter = {r["code"]: r for r in csv.DictReader(
        (Path(__file__).resolve().parents[1] / "codedata" / "data" / "cpt_starter.tsv").open(encoding="utf-8"),
        delimiter="\t")}
    with lzma.open(shared_file("ncci", "2024", "mue_practitioner_2024-07.csv.xz"), "rt") as handle:
        codes = {r["hcpcs_code"] for r in csv.DictReader(handle)}
    wanted = {c for c in codes if "99202" <= c <= "99499" or (c.isdigit() and c.startswith("97"))}
    assert len(wanted) == 233 and wanted <= set(starter)
    with lzma.open(shared_file("ncci", "2024", "aoc_2024.csv.xz"), "rt") as handle:
        add_ons = {r["add_on_code"] for r in csv.DictReader(handle)}
    # The add-on column agrees with the CMS AOC file for every E/M and 97xxx code.
    assert {c for c in wanted if starter[c]["add_on"] == "yes"} == wanted & add_ons
    # Known errors fixed: 90863 is prescribing by a psychologist; 99173 (screening test) is not Ophthalmology.
    assert "prescribing" in starter["90863"]["description"].lower() and "non-prescribing" not in \
        starter["90863"]["description"].lower()
    assert starter["99173"]["section"] != "Ophthalmology"


def test_hcpcs_codes_cross_referenced_to_a_cpt_code(icd_db):
    # hcpcs_2024_07_admin_fields.csv line 1100: C8904 ... xref 77046 (terminated 2018-12-31, still listed)
    from codedata.procedures import hcpcs_cross_references

    assert "C8904" in [r.code for r in hcpcs_cross_references(icd_db, "77046")]
    answer = lookup_procedure(icd_db, "77046")
    assert "C8904" in answer.extra["hcpcs_xref"]


def test_ncci_facts_name_a_date_of_service_their_edits_do_not_cover(ncci_db):
    # The NCCI files are July 2024 (mue/ptp_practitioner_2024-07): they cover 2024-07-01 to 2024-09-30.
    inside = lookup_procedure(ncci_db, "11046", dos="2024-08-01")
    outside = lookup_procedure(ncci_db, "11046", dos="2026-05-01")
    assert not any("is not loaded" in line for line in inside.history)
    assert any("2026 Q2" in line and "is not loaded" in line for line in outside.history)
