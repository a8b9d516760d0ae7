"""`medcode icd` lookups on the real 2025-04 + 2026-04 database: the issue's acceptance cases."""
from __future__ import annotations

import pytest

from codedata.codes import lookup_icd, normalise_icd
from codedata.errors import BadInput


@pytest.mark.parametrize("typed, code", [
    ("E11.9", "E119"), ("e119", "E119"), (" e11.9 ", "E119"), ("S13.4XXA", "S134XXA"),
    ("s134xxa", "S134XXA"), ("S134XXA", "S134XXA"), ("s13.4 xxa", "S134XXA"), ("E11.-", "E11"),
])
def test_normalise_what_people_type(typed, code):
    assert normalise_icd(typed) == code


@pytest.mark.parametrize("typed", ["", "   ", "!!!", "A" * 5000, "'; DROP TABLE codes;--", "99213", "E11.9.9.9.9.9"])
def test_normalise_rejects_what_is_not_a_code(typed):
    with pytest.raises(BadInput):
        normalise_icd(typed)


def test_header_lists_its_billable_children(icd_db):
    answer = lookup_icd(icd_db, "I63.31")
    assert (answer.status, answer.billable, answer.kind) == ("valid", False, "subcategory")
    assert [c.code for c in answer.children] == ["I63.311", "I63.312", "I63.313", "I63.319"]
    assert answer.children_count == 4
    assert [b.code for b in answer.breadcrumb] == ["Chapter 9", "I60-I69", "I63", "I63.3"]
    assert answer.release.label == "2026-04"


def test_missing_dot_lookup(icd_db):
    answer = lookup_icd(icd_db, "i63031")
    assert answer.code == "I63.031"
    assert answer.description == "Cerebral infarction due to thrombosis of right carotid artery"
    assert answer.billable is True


def test_seventh_character_code_explains_its_character(icd_db):
    answer = lookup_icd(icd_db, "S72.001A")
    assert answer.billable is True
    assert answer.seventh_character.character == "A"
    assert answer.seventh_character.meaning == "initial encounter for closed fracture"


def test_code_needing_a_seventh_character_lists_choices(icd_db):
    answer = lookup_icd(icd_db, "S72.001")
    assert answer.billable is False
    assert answer.needs_seventh_character is True
    choices = [c.character for c in answer.seventh_characters]
    assert choices == ["A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "M", "N", "P", "Q", "R", "S"]
    assert answer.children[0].code == "S72.001A"


def test_placeholder_forms_resolve_to_the_same_code(icd_db):
    assert lookup_icd(icd_db, "S13.4XXA") == lookup_icd(icd_db, "s134xxa").model_copy(update={"query": "S13.4XXA"})
    assert lookup_icd(icd_db, "S13.4").needs_seventh_character is True


def test_e11_shows_its_excludes1_notes(icd_db):
    answer = lookup_icd(icd_db, "E11")
    excludes1 = [n.text for n in answer.notes if n.kind == "excludes1"]
    assert "type 1 diabetes mellitus (E10.-)" in excludes1
    assert "gestational diabetes (O24.4-)" in excludes1
    assert answer.children_count > len(answer.children) == 25


def test_billable_code_inherits_category_notes(icd_db):
    answer = lookup_icd(icd_db, "E11.9")
    assert any(n.kind == "excludes1" and n.at == "E11" and "E10" in n.text for n in answer.notes)


def test_m54_5_is_a_header_in_2026(icd_db):
    answer = lookup_icd(icd_db, "M54.5")
    assert answer.billable is False
    assert [c.code for c in answer.children] == ["M54.50", "M54.51", "M54.59"]


def test_g35_stopped_being_billable_in_2026(icd_db):
    answer = lookup_icd(icd_db, "G35")
    assert answer.billable is False
    # The 2025-04 window ends 2025-09-30; the change came at an update between then and the 2026-04 release.
    assert answer.history == [
        "Billable in release 2025-04 (through 2025-09-30); became a header between 2025-10-01 and 2026-04-01 "
        "(release 2026-04): use G35.A, G35.B0, G35.B1, G35.B2, G35.C0."
    ]
    assert [c.code for c in answer.children][:3] == ["G35.A", "G35.B0", "G35.B1"]


def test_fy2026_addenda_counts_hold(icd_db):
    # Official FY2026 addenda: 487 billable codes added, 28 deleted (12 gone, 16 now headers such as G35).
    billable = "SELECT code FROM codes WHERE release_id = ? AND billable = 1"
    old = {r["code"] for r in icd_db.query(billable, [1])}
    new = {r["code"] for r in icd_db.query(billable, [2])}
    assert (len(new - old), len(old - new)) == (487, 28)


def test_code_gone_in_2026_is_no_longer_valid_with_successors(icd_db):
    answer = lookup_icd(icd_db, "S30.1XXA")
    assert answer.status == "no_longer_valid"
    assert answer.description == "Contusion of abdominal wall, initial encounter"
    assert (answer.last_release, answer.removed_in) == ("2025-04", "2026-04")
    assert answer.successors[0].code == "S30.1"
    assert all(s.code.startswith("S30.1") for s in answer.successors)
    assert any(s.billable for s in answer.successors)


def test_unknown_code_gets_nearest_codes_not_a_guess(icd_db):
    answer = lookup_icd(icd_db, "S13.4A")
    assert answer.status == "unknown"
    assert answer.description is None
    assert answer.nearest[0].code == "S13.4"
    assert "S13.4XXA" in [r.code for r in answer.nearest]


def test_new_code_says_it_is_new(icd_db):
    assert lookup_icd(icd_db, "E11.A").history == [
        "New between 2025-10-01 and 2026-04-01: first in release 2026-04 (not in 2025-04)."]
