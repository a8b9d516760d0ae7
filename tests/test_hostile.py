"""Hostile input: property-based tests (hypothesis) over every parser and the search, and malformed release
files for every importer. CI runs a short profile; `HYPOTHESIS_PROFILE=long` runs 10,000 examples each."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codedata.checks.claim import note_references
from codedata.codes import normalise_icd
from codedata.db import open_db, releases
from codedata.errors import BadInput, BadReleaseFile, MedcodeError
from codedata.importers import import_release
from codedata.importers.cpt import parse_descriptor_line
from codedata.importers.hcpcs import parse_record_line
from codedata.importers.icd10cm import parse_order_line
from codedata.procedures import classify_procedure
from codedata.search import resolve
from handlers.parsing import clean_text, extract_codes, find_identifiers, normalise, parse_pair

settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile("long", max_examples=10_000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Text billers could type, plus everything else: codes, punctuation, FTS syntax, unicode, control characters.
CODEISH = st.from_regex(r"[A-Za-z0-9.\- */xX]{0,12}", fullmatch=True)
ANY_TEXT = st.one_of(st.text(max_size=300), CODEISH,
                     st.lists(st.sampled_from(["E11.9", "99213", "-59", "x4", "dx:", "px:", "age:", "sex:F", "dos:",
                                               "NEAR(", '"', "*", "AND", "OR", "(", ")", "S72.001A", "J1745", "ü",
                                               "\x00", "\n", "'; DROP TABLE codes;--", "E11.-", "1/2/1960"]),
                              max_size=12).map(" ".join))


@given(ANY_TEXT)
def test_normalise_icd_returns_a_code_or_bad_input(text):
    try:
        assert normalise_icd(text).isalnum()
    except BadInput:
        pass


@given(ANY_TEXT)
def test_classify_procedure_returns_a_shape_or_bad_input(text):
    try:
        shape, code = classify_procedure(text)
        assert shape in ("cpt", "hcpcs", "modifier") and code
    except BadInput:
        pass


@given(ANY_TEXT)
def test_pair_parsing_never_fails_unexpectedly(text):
    try:
        request = parse_pair(text)
        assert all(line.units >= 1 for line in request.procedures)
    except BadInput:
        pass


@given(ANY_TEXT)
def test_code_extraction_never_fails(text):
    found = extract_codes(text)
    assert all(code == code.upper() for code in found.diagnoses + found.procedures)


@given(ANY_TEXT)
def test_slack_text_normalisation_is_total_and_idempotent(text):
    cleaned = clean_text(normalise(text))
    assert clean_text(cleaned) == cleaned
    assert not any(ch in cleaned for ch in "\u200b\u200d\u202e\ufeff\x00\n")


@given(ANY_TEXT)
def test_identifier_stripping_never_fails_and_pair_words_are_never_codes(text):
    cleaned = find_identifiers(clean_text(text), lambda word: False)
    assert isinstance(cleaned.identifiers, bool)
    left_out: list[str] = []
    try:
        request = parse_pair(cleaned.text, left_out=left_out)
    except BadInput:
        return
    # Only code-shaped tokens become codes: a diagnosis always holds a digit, never a bare word.
    assert all(any(ch.isdigit() for ch in code) for code in request.diagnoses)


@given(st.text(max_size=400))
def test_line_parsers_never_fail(line):
    assert parse_order_line(line) is None or len(parse_order_line(line)) == 4
    assert parse_record_line(line) is None or "code" in parse_record_line(line)
    assert parse_descriptor_line(line) is None or len(parse_descriptor_line(line)) == 2
    assert isinstance(note_references(line), list)


@given(ANY_TEXT, st.sampled_from(["icd", "cpt"]))
def test_search_and_lookup_never_fail_unexpectedly(icd_db, text, kind):
    try:
        resolve(icd_db, text, kind)
    except MedcodeError as exc:
        assert "\n" not in str(exc)


def _malformed(tmp_path):
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"A" * 20_000_000)
    utf16 = tmp_path / "utf16.txt"
    utf16.write_text("00002 A000    1 Cholera due to Vibrio cholerae 01, biovar cholerae", encoding="utf-16")
    files = {"empty.xml": b"", "binary.bin": bytes(range(256)) * 40, "truncated.xml": b"<?xml version='1.0'?><ICD10CM.tabular><chap",
             "wrong.csv": b"name,age\nbob,4\n", "truncated.zip": b"PK\x03\x04\x14\x00rest", "truncated.xz": b"\xfd7zXZ\x00\x00"}
    paths = [huge, utf16]
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content)
        paths.append(path)
    return paths


@pytest.mark.parametrize("system", ["icd10cm", "hcpcs", "cpt", "ncci", "mcd"])
def test_malformed_release_files_are_rejected_with_one_line_and_nothing_changes(tmp_path, system):
    db = open_db(tmp_path / "m.db")
    for path in _malformed(tmp_path):
        with pytest.raises(BadReleaseFile) as raised:
            import_release(db, system, path, effective="2026-01-01")
        assert "\n" not in str(raised.value) and str(raised.value)
    assert releases(db) == []
    assert db.execute("SELECT count(*) FROM codes").fetchone()[0] == 0


@pytest.mark.parametrize("text, dx, px", [
    # fifth black-box pass: a slash or dash between two codes made one unreadable word
    ("E11.9/99213", ["E11.9"], ["99213"]), ("E11.9\u201499213", ["E11.9"], ["99213"]),
    ("E11.9 99213/J1745", ["E11.9"], ["99213", "J1745"]),
    # must not: a date or chart shorthand is not split into codes
    ("s/p E11.9 99213 6/1/2025", ["E11.9"], ["99213"]),
])
def test_a_slash_or_dash_between_codes_separates_them(text, dx, px):
    request = parse_pair(text)
    assert request.diagnoses == dx and [line.code for line in request.procedures] == px
