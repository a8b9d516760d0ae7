"""The `medcode` CLI as a user runs it: answers, --json keys, one-line errors, nothing changed on bad input."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from codedata.db import open_db

from .conftest import shared_file


def run(db_path, *args, stdin: str | None = None):
    env = {**os.environ, "MEDCODE_DB": str(db_path)}
    env.pop("SLACK_BOT_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=env, input=stdin, timeout=120)


def snapshot(db_path):
    db = open_db(db_path)
    state = (list(db.query("SELECT * FROM releases ORDER BY id")),
             db.execute("SELECT count(*), sum(billable) FROM codes").fetchone(),
             db.execute("SELECT count(*) FROM notes").fetchone())
    db.conn.close()
    return state


def test_icd_lookup_prints_the_answer(db_copy):
    result = run(db_copy, "icd", "I63.31")
    assert result.returncode == 0
    assert "I63.31  Cerebral infarction due to thrombosis of middle cerebral artery" in result.stdout
    assert "I63.319" in result.stdout
    assert "ICD-10-CM 2026 tabular, effective 2026-04-01" in result.stdout


def test_icd_json_has_the_documented_keys(db_copy):
    result = run(db_copy, "icd", "S72.001A", "--json")
    payload = json.loads(result.stdout)
    assert payload["code"] == "S72.001A"
    assert payload["status"] == "valid"
    assert payload["billable"] is True
    assert payload["seventh_character"] == {"character": "A", "meaning": "initial encounter for closed fracture"}
    assert set(payload) >= {"query", "system", "code", "status", "description", "billable", "kind", "breadcrumb",
                            "children", "children_count", "notes", "needs_seventh_character",
                            "seventh_characters", "history", "successors", "nearest", "release"}


@pytest.mark.parametrize("args", [
    ["icd", ""], ["icd", "!!!"], ["icd", "x" * 5000],
    ["import", "icd10cm", "/etc/hostname"], ["import", "icd10cm", "/no/such/file.xml"],
    ["import", "nosuchsystem", "/etc/hostname"],
])
def test_bad_input_is_one_line_nonzero_and_changes_nothing(db_copy, args):
    before = snapshot(db_copy)
    result = run(db_copy, *args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(db_copy) == before


def test_sql_typed_as_a_query_is_just_words(db_copy):
    before = snapshot(db_copy)
    result = run(db_copy, "icd", "'; DROP TABLE codes;--")
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr
    assert snapshot(db_copy) == before


def test_icd_search_by_words(db_copy):
    result = run(db_copy, "icd", "rt", "knee", "pain", "--limit", "2")
    assert result.stdout.splitlines()[0] == "M25.561   Pain in right knee"
    payload = json.loads(run(db_copy, "icd", "chest pain", "--json", "--limit", "3", "--offset", "1").stdout)
    assert set(payload) == {"query", "systems", "total", "offset", "results", "hints", "interpreted",
                            "date_of_service", "notice"}
    assert payload["offset"] == 1 and len(payload["results"]) == 3
    assert set(payload["results"][0]) == {"code", "system", "description", "billable", "score", "section"}


def test_search_that_finds_nothing_exits_1_with_one_line(db_copy):
    result = run(db_copy, "icd", "qwzx", "vbnm")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("medcode: No codes found for your search")
    assert "qwzx" not in result.stderr  # never repeated: it may be a patient's name


@pytest.mark.parametrize("text, codes", [
    # hostile pass 4: the CLI searched "jane doe E11.9" as words ("doe 9") where Slack answers the code
    ("jane doe E11.9", ["E11.9"]), ("E11.9 doe", ["E11.9"]), ("E11.9,I10", ["E11.9", "I10"]),
    ("(E11.9)", ["E11.9"]), ("knee pain E11.9", ["E11.9"]),
])
def test_codes_among_words_or_punctuation_are_answered_as_codes(db_copy, text, codes):
    result = run(db_copy, "icd", text, "--json")
    payload = json.loads(result.stdout)
    answers = payload if isinstance(payload, list) else [payload]
    assert [a["code"] for a in answers] == codes
    assert "doe" not in result.stdout.lower() and "knee" not in result.stdout.lower()


def test_check_takes_repeated_dx_and_px_in_order(db_copy):
    # `--dx R51.9 --dx G43.909` once kept only the last diagnosis, silently checking another claim
    payload = json.loads(run(db_copy, "check", "--dx", "R51.9", "--dx", "G43.909,I10", "--px", "99213", "--px",
                             "80061", "--dos", "2026-05-01", "--json").stdout)
    assert payload["diagnoses"] == ["R51.9", "G43.909", "I10"]
    assert [p["code"] for p in payload["procedures"]] == ["99213", "80061"]


def test_check_refuses_one_claim_fact_given_twice(db_copy):
    # hostile pass 4: `--age 0 --age 45` silently took the last (an age conflict came and went with the order)
    for args in (["--age", "0", "--age", "45"], ["--dos", "2025-06-01", "--dos", "2026-06-01"]):
        result = run(db_copy, "check", "--dx", "P07.30", "--px", "99213", *args)
        assert result.returncode == 2 and "given twice" in result.stderr and "Traceback" not in result.stderr
    same = run(db_copy, "check", "--dx", "J06.9", "--px", "99213", "--age", "45", "--age", "45", "--json")
    assert same.returncode == 0


def test_check_text_and_json(db_copy):
    result = run(db_copy, "check", "--dx", "M54.5", "--px", "97140", "--dos", "2026-05-01")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == "Verdict: LIKELY DENIAL (1 error, 1 info)"
    assert "consider: M54.50 Low back pain, unspecified" in result.stdout
    payload = json.loads(run(db_copy, "check", "--dx", "E11.9,I10", "--px", "99213,83036", "--units", "83036=1",
                             "--mod", "99213=25", "--age", "67", "--sex", "F", "--dos", "2026-03-01", "--json").stdout)
    assert set(payload) == {"verdict", "findings", "diagnoses", "procedures", "date_of_service", "releases"}
    assert payload["procedures"][0] == {"code": "99213", "units": 1, "modifiers": ["25"], "pointers": []}
    assert payload["date_of_service"] == "2026-03-01"
    assert set(payload["findings"][0]) == {"severity", "rule", "codes", "message", "basis", "suggestions"}


@pytest.mark.parametrize("args", [["check"], ["check", "--dx", "E11.9", "--units", "97110"],
                                  ["check", "--dx", "E11.9", "--px", "97110", "--units", "97110=lots"],
                                  ["check", "--dx", "E11.9", "--age", "200"], ["check", "--dx", "E11.9", "--sex", "X"],
                                  ["check", "--dx", "E11.9", "--px", "99213", "--pointer", "99213=2"],
                                  ["check", "--dx", "E11.9", "--px", "99213", "--pointer", "99213=first"],
                                  ["check", "--dx", "E11.9", "--px", "99213", "--payer", "aetna"],
                                  ["check", "--dx", "E11.9", "--px", "99213", "--units", "99213=0"],
                                  ["check", "--dx", "E11.9", "--px", "99213", "--dos", ""],
                                  # an option for a procedure that is not on the claim would be ignored
                                  ["check", "--dx", "E11.9", "--px", "99213", "--mod", "97140=59"],
                                  ["check", "--dx", "E11.9", "--px", "99213", "--units", "83036=2"],
                                  # a folder with no policy pack in it (this test folder): a typo, not "no rules"
                                  ["check", "--dx", "E11.9", "--px", "99213", "--policies",
                                   os.path.dirname(__file__)]])
def test_check_bad_options_are_one_line(db_copy, args):
    result = run(db_copy, *args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_releases_json(db_copy):
    payload = json.loads(run(db_copy, "releases", "--json").stdout)
    assert [(r["system"], r["label"], r["billable_count"], r["current"]) for r in payload] == [
        ("cpt", "starter", 4_567, True), ("hcpcs", "2024-07", 6_975, True),
        ("icd10cm", "2025-04", 74_260, False), ("icd10cm", "2026-04", 74_719, True),
        ("ncci_aoc", "2024-01", 7_465, True), ("ncci_mue_practitioner", "2024-07", 14_677, True),
        ("ncci_ptp_practitioner", "2024-07", 2_546_017, True)]
    assert set(payload[0]) == {"id", "system", "label", "title", "effective_date", "source_name", "sha256",
                               "imported_at", "code_count", "billable_count", "current", "valid_from",
                               "valid_through", "window"}
    # ICD-10-CM updates take effect October 1 and April 1; the 2025-04 release's window ends the day before the
    # next one (2025-10-01); the CPT starter set has no official date.
    windows = {(r["system"], r["label"]): (r["valid_from"], r["valid_through"]) for r in payload}
    assert windows[("icd10cm", "2025-04")] == ("2025-04-01", "2025-09-30")
    assert windows[("icd10cm", "2026-04")] == ("2026-04-01", "2026-09-30")
    assert windows[("hcpcs", "2024-07")] == ("2024-07-01", "2024-09-30")
    assert windows[("cpt", "starter")] == (None, None)


def test_import_json_and_reimport_is_a_no_op(db_copy):
    path = shared_file("icd10cm", "icd10cm-order-2021.txt.xz")
    first = json.loads(run(db_copy, "import", "icd10cm", str(path), "--json").stdout)
    assert (first["status"], first["billable_count"], first["current"]) == ("imported", 72_621, False)
    before = snapshot(db_copy)
    second = json.loads(run(db_copy, "import", "icd10cm", str(path), "--json").stdout)
    assert second["status"] == "already_imported"
    assert snapshot(db_copy) == before


def test_first_use_imports_the_bundled_release(tmp_path):
    result = run(tmp_path / "fresh.db", "icd", "E11.9")
    assert result.returncode == 0
    assert "Type 2 diabetes mellitus without complications" in result.stdout
    assert "Imported icd10cm release 2026-04" in result.stderr


def test_cpt_lookup_and_json(db_copy):
    result = run(db_copy, "cpt", "J1745")
    assert "J1745  Injection, infliximab, excludes biosimilar, 10 mg" in result.stdout
    assert "(HCPCS Level II, July 2024 release)" in result.stdout
    payload = json.loads(run(db_copy, "cpt", "-59", "--json").stdout)
    assert (payload["system"], payload["code"], payload["status"]) == ("modifier", "59", "valid")
    assert run(db_copy, "cpt", "99213", "--json").returncode == 0


def test_import_cpt_descriptor_file_via_cli(db_copy):
    path = __import__("pathlib").Path(__file__).parent / "fixtures" / "cpt_2026_LONGULT_testdata.txt"
    result = run(db_copy, "import", "cpt", str(path))
    assert result.returncode == 0, result.stderr
    assert "TEST DESCRIPTOR: invented long text for exercise therapy" in run(db_copy, "cpt", "97110").stdout


def test_console_answers_piped_lines(db_copy):
    result = run(db_copy, "serve", stdin="/icd E11.9\n/icd !!!\n/cpt 97110\n/pair M54.5 97140\n/nope x\nquit\n")
    assert result.returncode == 0
    assert "E11.9  Type 2 diabetes mellitus without complications" in result.stdout
    assert "type some words to search for" in result.stdout
    assert "97110  Therapeutic exercise, each 15 minutes (for strength, endurance, motion or flexibility)" in result.stdout
    assert "Verdict: LIKELY DENIAL" in result.stdout and "M54.5 is a header" in result.stdout
    assert "Unknown command 'nope'" in result.stdout


def test_check_reads_words_typed_after_a_diagnosis(db_copy):
    payload = json.loads(run(db_copy, "check", "--dx", "I63.31 thrombosis of right carotid artery", "--px", "99213",
                             "--dos", "2026-05-01", "--json").stdout)
    assert payload["diagnoses"] == ["I63.31"]
    finding = next(f for f in payload["findings"] if f["rule"] == "words_describe_another_code")
    assert finding["suggestions"][0]["code"] == "I63.031"


# Found by a black-box pass (2026-11-24). Codes: tabular 2026-04 E11.9 'Type 2 diabetes mellitus without
# complications', I10 'Essential (primary) hypertension'; E11.99 does not exist (E11.9 is a leaf).
def test_several_codes_are_answered_one_by_one_not_run_together(db_copy):
    result = run(db_copy, "icd", "E11.9", "I10")
    assert result.returncode == 0
    assert "E11.9  Type 2 diabetes mellitus without complications" in result.stdout
    assert "I10  Essential (primary) hypertension" in result.stdout
    assert "E11.9I10" not in result.stdout


def test_an_unknown_code_exits_1(db_copy):
    result = run(db_copy, "icd", "E11.99")
    assert result.returncode == 1 and "not a known ICD-10-CM code" in result.stderr


def test_full_width_and_zero_width_characters_read_as_in_slack(db_copy):
    for typed in ("Ｅ１１．９", "E\u200b11.9", "\u200fE11.9\u200e"):
        result = run(db_copy, "icd", typed)
        assert result.returncode == 0 and result.stdout.startswith("E11.9  Type 2 diabetes"), typed


def test_a_code_sent_to_the_other_command_says_which_one(db_copy):
    result = run(db_copy, "icd", "99213")
    assert result.returncode == 2 and "/cpt" in result.stderr
    result = run(db_copy, "cpt", "E11.9")
    assert result.returncode == 2 and "/icd" in result.stderr


def test_a_claim_line_typed_to_cpt_answers_its_code(db_copy):
    for typed in ("99213-25", "97110x4"):
        result = run(db_copy, "cpt", typed)
        assert result.returncode == 0 and result.stdout.startswith(typed[:5]), typed


def test_console_blanks_a_pasted_name_as_slack_does(db_copy):
    # "Gonzalez" is no code-set word: left out with the reminder; "diabetes" is searched (undocumented type is
    # type 2, guideline I.C.4.a.2: E11.9 'Type 2 diabetes mellitus without complications', tabular 2026-04).
    result = run(db_copy, "serve", stdin="/icd Gonzalez diabetes\nquit\n")
    assert result.returncode == 0
    assert "Gonzalez" not in result.stdout and "patient details" in result.stdout
    assert "E11.9" in result.stdout


def test_cli_search_blanks_a_pasted_name_and_never_echoes_it(db_copy):
    # As in Slack: "Gonzalez" and the phone number are left out with the reminder on stderr, "type 2 diabetes" is
    # searched (E11.9 'Type 2 diabetes mellitus without complications', tabular 2026-04), and neither the JSON
    # (query, interpreted) nor the next-page hint repeats what was typed.
    typed = "diabetes Gonzalez 555-123-4567 type 2"
    result = run(db_copy, "icd", typed, "--json", "--limit", "1")
    assert result.returncode == 0 and "patient details" in result.stderr
    payload = json.loads(result.stdout)
    assert payload["results"][0]["code"] == "E11.9"
    assert "Gonzalez" not in result.stdout and "4567" not in result.stdout
    assert "gonzalez" not in payload["query"].lower() and payload["query"]
    text = run(db_copy, "icd", typed, "--limit", "1")
    assert text.stdout.splitlines()[0].startswith("E11.9") and "Gonzalez" not in text.stdout
    assert "--offset 1" in text.stdout and "4567" not in text.stdout + text.stderr


def test_cli_search_of_identifiers_only_is_one_line_and_exit_2(db_copy):
    result = run(db_copy, "icd", "555-123-4567")
    assert result.returncode == 2 and "4567" not in result.stdout + result.stderr
    assert result.stderr.startswith("medcode: nothing left to look up") and len(result.stderr.splitlines()) == 1


def test_the_console_answers_as_slack_does(icd_db):
    # hostile pass 4: the console searched "jane doe E11.9" as words, said OK for "/pair E11.9 9921" with no
    # procedure, and answered "/icd J1745" with "J17.45 is not a known code"
    from bot.console import answer_line

    assert answer_line(icd_db, "/icd jane doe E11.9").startswith("E11.9  Type 2 diabetes mellitus")
    pair = answer_line(icd_db, "/pair E11.9 9921")
    assert pair.startswith("Verdict: LIKELY DENIAL") and "9921 " not in pair
    assert "HCPCS Level II code, not ICD-10-CM" in answer_line(icd_db, "/icd J1745")
    named = answer_line(icd_db, "/pair Doe E11.9 99213 MRN 123456")
    assert "Doe" not in named and "123456" not in named and "Verdict: OK" in named


# Fifth black-box pass (2026-11-24): the CLI check repeated names, MRNs and phone numbers given as codes, in text
# and --json, and exited 0.
@pytest.mark.parametrize("args", [
    ["--dx", "E11.9", "--px", "99213 Garcia"], ["--dx", "E11.9", "--px", "5551234567"],
    ["--dx", "E11.9", "--px", "MRN48213377", "--json"], ["--dx", "Garcia", "--px", "99213"],
    ["--dx", "E11.9", "--px", "99213-Maria"],
])
def test_check_refuses_an_entry_not_shaped_like_a_code_without_repeating_it(db_copy, args):
    result = run(db_copy, "check", *args)
    assert result.returncode == 2 and result.stdout == ""
    assert "not shaped like" in result.stderr and "entry" in result.stderr and len(result.stderr.splitlines()) == 1
    for typed in ("Garcia", "GARCIA", "5551234567", "MRN48213377", "Maria", "MARIA"):
        assert typed not in result.stderr


def test_a_partial_icd_file_is_refused_and_a_cpt_file_layers_without_deleting(db_copy, tmp_path):
    # icd10cm-order-2021.txt lines 1-5 (A00 Cholera ... A01 Typhoid): a slice, not a release
    order = tmp_path / "icd10cm-order-slice.txt"
    import lzma
    with lzma.open(shared_file("icd10cm", "icd10cm-order-2021.txt.xz"), "rt", encoding="latin-1") as lines:
        order.write_text("".join(next(lines) for _ in range(5)), encoding="latin-1")
    before = snapshot(db_copy)
    result = run(db_copy, "import", "icd10cm", str(order), "--label", "2026-10", "--effective", "2026-10-01")
    assert result.returncode == 2 and "looks like part of a release" in result.stderr
    assert "nothing was imported and 2026-04 stays current" in result.stderr and snapshot(db_copy) == before
    # a CPT descriptor file is a source layered over the starter set: codes it leaves out are not "deleted"
    path = __import__("pathlib").Path(__file__).parent / "fixtures" / "cpt_2026_LONGULT_testdata.txt"
    assert run(db_copy, "import", "cpt", str(path)).returncode == 0
    changes = json.loads(run(db_copy, "diff", "cpt", "--json").stdout)["changes"]
    assert not [c for c in changes if c["change"] == "deleted"]
    assert "Verdict: OK" in run(db_copy, "check", "--dx", "E11.9", "--px", "99215", "--dos", "2026-05-01").stdout


def test_a_discontinued_hcpcs_code_is_not_valid_in_json(db_copy):
    # HCPCS 2024-07: G0202 terminated 2017-12-31, cross-referenced to 77067
    payload = json.loads(run(db_copy, "cpt", "G0202", "--json").stdout)
    assert payload["status"] == "no_longer_valid" and payload["billable"] is False
    assert payload["successors"][0]["code"] == "77067"


def test_a_diff_is_a_read_and_stores_nothing(db_copy):
    # Fifth black-box pass: a reversed diff stored 553 change rows on every run. Releases 2025-04 and 2026-04
    # are the bundled tabulars.
    def stored():
        db = open_db(db_copy)
        count = db.execute("SELECT count(*) FROM release_changes").fetchone()[0]
        db.conn.close()
        return count
    before = stored()
    result = run(db_copy, "diff", "icd10cm", "2026-04", "2025-04", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["changes"]
    assert stored() == before


def test_a_watch_asked_again_as_another_kind_is_stored_as_asked_and_shown_as_written(db_copy):
    # Fifth black-box pass: "watch E11*" after "watch E11" replied "prefix" but kept the subtree; lists showed
    # E119 for E11.9 and "icd.10cm" for the system. Codes: tabular 2026-04 E11, E11.9.
    assert run(db_copy, "watch", "add", "C0CH3", "E11").returncode == 0
    assert run(db_copy, "watch", "add", "C0CH3", "E11*").stdout.strip() == "C0CH3 watches icd10cm prefix E11*"
    assert run(db_copy, "watch", "add", "C0CH3", "E11.9").returncode == 0
    assert run(db_copy, "watch", "add", "C0CH3", "icd10cm").stdout.strip() == "C0CH3 watches icd10cm system icd10cm"
    listed = run(db_copy, "watch", "list", "C0CH3").stdout.splitlines()
    assert listed == ["C0CH3  icd10cm  prefix  E11*", "C0CH3  icd10cm  subtree  E11.9",
                      "C0CH3  icd10cm  system  icd10cm"]
    refused = run(db_copy, "watch", "list", "bad chan")
    assert refused.returncode == 2 and "bad chan" not in refused.stderr


def test_console_says_where_channel_commands_work_and_diff_refuses_a_non_code(db_copy):
    # Fifth black-box pass: the console looked E11 up for "/icd watch E11" and searched the word "changes";
    # `diff --code "E11.9; x"` listed nothing and exited 0.
    result = run(db_copy, "serve", stdin="/icd watch E11\n/cpt changes\nquit\n")
    assert result.stdout.count("work in a Slack channel") == 2 and "E11.9" not in result.stdout
    refused = run(db_copy, "diff", "icd10cm", "--code", "E11.9; x")
    assert refused.returncode == 2 and "E11.9; x" not in refused.stderr and "--code takes a code" in refused.stderr
