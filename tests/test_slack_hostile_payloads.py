"""Hostile but correctly signed Slack requests found by a black-box pass (2026-11-24): each gets a clear answer or
a clean refusal, never an HTTP 500, and never changes stored data it should not."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from codedata import watches
from codedata.db import open_db

from .slack_mock import all_text
from .test_slack_http import command, event, interaction, post, slack  # noqa: F401  (the served app, module-wide)


def test_json_nested_thousands_deep_is_a_bad_request_not_a_server_error(slack):  # noqa: F811
    assert post(slack[1], "[" * 100_000 + "]" * 100_000, "application/json") == 400
    nested = '{"type": "event_callback", "event": ' + '{"a":' * 5000 + "1" + "}" * 5000 + "}"
    assert post(slack[1], nested, "application/json") == 400


def test_a_claim_form_submitted_without_its_state_is_not_a_server_error(slack):  # noqa: F811
    status = interaction(slack, {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1"},
                                 "view": {"type": "modal", "callback_id": "check_claim", "state": {}}})
    assert status == 200  # the form asks for a code instead
    shapeless = interaction(slack, {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1"},
                                    "view": {"callback_id": "check_claim", "state": {}}})
    assert shapeless == 400  # not what Slack sends: refused at the edge


def test_a_button_value_that_is_not_medcode_json_gets_one_line(slack):  # noqa: F811
    # Bolt resets the acknowledgement of a listener that raises after acknowledging (a race: Slack saw a 404
    # after 3 s); every listener is guarded, so the answer is 200 and one line, every time.
    # A negative or enormous offset would page from the end or past everything: refused the same way.
    for tag, value in (("badvalue", "not json"), ("badvalue2", "[1, 2]"), ("badvalue3", '{"k": "icd"}'),
                       ("badvalue4", '{"k": "icd", "t": "diabetes", "o": -5}'),
                       ("badvalue5", '{"k": "icd", "t": "diabetes", "o": "5"}'),
                       ("badvalue6", '{"k": "sql", "t": "diabetes", "o": 0}')):
        status = interaction(slack, {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"},
                                     "channel": {"id": "C1"}, "trigger_id": "t",
                                     "response_url": f"{slack[0].url}/respond/{tag}",
                                     "actions": [{"action_id": "more_results", "value": value, "type": "button"}]})
        assert status == 200
        assert slack[0].wait_for(f"/respond/{tag}")[0]["text"].startswith(":warning:")


def test_a_forged_watch_button_cannot_watch_a_whole_system_or_an_unknown_one(slack, icd_db_path):  # noqa: F811
    for tag, value in (("sysw", {"s": "icd10cm", "c": "icd10cm"}), ("evilw", {"s": "evil", "c": "E11.9"})):
        interaction(slack, {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U9"},
                            "channel": {"id": "C77"}, "trigger_id": "t", "response_url": f"{slack[0].url}/respond/{tag}",
                            "actions": [{"action_id": "watch_code", "value": json.dumps(value), "type": "button"}]})
        reply = slack[0].wait_for(f"/respond/{tag}")[0]["text"]
        assert "now watches" not in reply and reply.startswith((":warning:", ":lock:"))
    assert watches.list_watches(open_db(icd_db_path), "C77") == []


def test_units_that_are_not_a_whole_number_are_refused_not_dropped(slack):  # noqa: F811
    for tag, text in (("u1", "E11.9 97110x-3"), ("u2", "E11.9 97110x1.5"), ("u3", "E11.9 97110xx4")):
        command(slack, "/pair", text, tag)
        reply = all_text(slack[0].wait_for(f"/respond/{tag}")[0].get("blocks") or []) or \
            slack[0].wait_for(f"/respond/{tag}")[0]["text"]
        assert "units follow x as a whole number" in reply and "OK" not in reply


def test_a_zip_code_after_a_city_and_state_is_not_read_as_a_procedure_code(slack):  # noqa: F811
    command(slack, "/icd", "Springfield IL 62704 knee pain", "zip")
    reply = json.dumps(slack[0].wait_for("/respond/zip")[0])
    assert "62704" not in reply and "Springfield" not in reply
    assert "M25.5" in reply  # knee pain is still searched (tabular 2026-04: M25.56- 'Pain in knee')


def test_a_response_url_that_is_not_slacks_is_refused(slack):  # noqa: F811
    # Slack's response_urls are https://hooks.slack.com/...; the mock's host is allowed (MEDCODE_SLACK_API_URL).
    status = command(slack, "/icd", "E11.9", "ssrf")
    assert status == 200
    from .test_slack_http import SECRET  # noqa: F401
    from urllib.parse import urlencode
    form = {"command": "/icd", "text": "E11.9", "team_id": "T1", "user_id": "U1", "channel_id": "C1",
            "trigger_id": "t", "response_url": "http://169.254.169.254/latest/meta-data/"}
    assert post(slack[1], urlencode(form), "application/x-www-form-urlencoded") == 400


def test_a_lone_surname_is_not_repeated_and_does_not_spoil_the_search(slack):  # noqa: F811
    # "Gonzalez" is no word of the code sets: taken for a name, blanked, reminded; "diabetes" is still searched
    # (undocumented type: E11.9, guideline I.C.4.a.2; tabular 2026-04 'Type 2 diabetes mellitus without
    # complications').
    command(slack, "/icd", "Gonzalez diabetes", "lonename")
    reply = json.dumps(slack[0].wait_for("/respond/lonename")[0])
    assert "Gonzalez" not in reply and "gonzalez" not in reply
    assert "E11.9" in reply and "patient" in reply.lower()


def test_a_parameter_given_twice_or_a_bad_place_of_service_gets_one_line(slack):  # noqa: F811
    for tag, text, expected in (("twice", "E11.9 99213 age:67 age:12", "given twice"),
                                ("pos", "E11.9 99213 pos:abc", "place-of-service")):
        command(slack, "/pair", text, tag)
        reply = json.dumps(slack[0].wait_for(f"/respond/{tag}")[0])
        assert expected in reply and "OK" not in reply


# Found by a second black-box pass (2026-11-24).
def test_fields_of_the_wrong_type_are_never_a_server_error(slack):  # noqa: F811
    base = {"type": "block_actions", "channel": {"id": "C1"}, "trigger_id": "t",
            "actions": [{"action_id": "more_results", "value": "{}", "type": "button"}]}
    for user, team in (("U1", {"id": "T1"}), (5, {"id": "T1"}), (["U1"], {"id": "T1"}), ({"id": "U1"}, "T1")):
        assert interaction(slack, {**base, "user": user, "team": team}) in (200, 400)
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "EvX", "event": "app_mention"})
    assert post(slack[1], body, "application/json") in (200, 400)


def test_a_response_url_must_be_slacks_own_https_address(slack):  # noqa: F811
    from urllib.parse import urlencode, urlsplit
    mock_port = urlsplit(slack[0].url).port
    for url in ("http://hooks.slack.com/commands/x", "https://hooks.slack.com:8443/commands/x",
                "https://user@hooks.slack.com/commands/x", f"http://127.0.0.1:{mock_port + 1}/respond/x",
                " https://hooks.slack.com/commands/x"):
        form = {"command": "/icd", "text": "E11.9", "team_id": "T1", "user_id": "U1", "channel_id": "C1",
                "trigger_id": "t", "response_url": url}
        assert post(slack[1], urlencode(form), "application/x-www-form-urlencoded") == 400, url


def test_logged_ids_cannot_forge_a_log_line():
    from bot.app import _safe
    assert _safe("U012AB3CD") == "U012AB3CD" and _safe("/icd") == "/icd"
    assert _safe("U1\n2026-11-24 medcode.slack INFO FAKE LINE Jane Smith") == "?"
    assert _safe(["U1"]) == "?" and _safe(None) is None


def test_a_name_after_a_dash_is_no_modifier(slack):  # noqa: F811
    command(slack, "/pair", "M54.2 97140-SMITH", "namemod")
    reply = json.dumps(slack[0].wait_for("/respond/namemod")[0])
    assert "SMITH" not in reply and "two letters or digits" in reply


def test_share_and_more_keep_the_date_of_service_of_the_answer(slack):  # noqa: F811
    # G35.A was added in FY2026 (tabular 2026-04; the 2025-04 tabular has G35 billable, no G35.A): on 2025-06-01
    # it was not yet a code, and the shared answer must say so too, not answer for today.
    command(slack, "/icd", "G35.A dos:2025-06-01", "dosshare")
    first = slack[0].wait_for("/respond/dosshare")[0]
    share = next(e for b in first["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"] == "share_answer")
    assert "dos:2025-06-01" in json.loads(share["value"])["t"]
    interaction(slack, {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"},
                        "channel": {"id": "C1"}, "trigger_id": "t", "response_url": f"{slack[0].url}/respond/dosshared",
                        "actions": [{"action_id": "share_answer", "value": share["value"], "type": "button"}]})
    shared = json.dumps(slack[0].wait_for("/respond/dosshared")[0])
    assert "2025-06-01" in shared and "Not yet" in shared


def test_an_address_typed_in_lower_case_is_not_read_as_codes(slack):  # noqa: F811
    command(slack, "/pair", "E11.9 99213 for mrs okafor, 12 maple ave, springfield il 62704", "lowaddr")
    reply = json.dumps(slack[0].wait_for("/respond/lowaddr")[0])
    assert "62704" not in reply and "maple" not in reply and "okafor" not in reply
    assert "99213" in reply  # the visit is still checked


def test_a_mention_keeps_units_modifiers_and_repeats_as_pair_does(slack):  # noqa: F811
    from .test_slack_http import event
    event(slack, {"type": "app_mention", "user": "U1", "channel": "C31", "ts": "31.31",
                  "text": "<@UBOT> M54.2 97110x4 97140-59"})
    text = all_text(slack[0].wait_for("chat.postMessage", channel="C31")[0]["blocks"])
    assert "`97110` ×4" in text and "`97140`-59" in text  # as /pair reads them, not "97140" alone


@pytest.mark.parametrize("text, code", [
    ("chest ct 71250 E11.9", "71250"),         # "ct" is a scan, not Connecticut
    ("acute mi 99223 I21.9", "99223"),         # "mi" is an infarction, not Michigan
    ("99213 follow up with dr jones E11.9", "99213"),  # "dr" is a doctor, not a street
    ("road rash 99213 T14.8XXA", "99213"),
])
def test_clinical_shorthand_is_not_read_as_an_address(text, code):
    from handlers.parsing import find_identifiers
    assert code in find_identifiers(text, lambda word: True).text


def test_requests_no_listener_takes_are_acknowledged_not_404(slack):  # noqa: F811
    # An old or forged button, form, shortcut, option list, command or event type: Bolt alone answers 404 (Slack
    # retries events and shows the person nothing); each gets 200, and a button in a message one line.
    old_button = {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"}, "channel": {"id": "C1"},
                  "trigger_id": "t", "response_url": f"{slack[0].url}/respond/oldbutton",
                  "actions": [{"action_id": "retired_button", "value": "Gonzalez 1970-01-01", "type": "button"}]}
    assert interaction(slack, old_button) == 200
    reply = slack[0].wait_for("/respond/oldbutton")[0]
    assert reply["text"].startswith("That button is not one") and "Gonzalez" not in reply["text"]
    assert reply["response_type"] == "ephemeral"
    for payload in (
        {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1"},
         "view": {"type": "modal", "callback_id": "retired_form", "state": {"values": {}}}},
        {"type": "view_closed", "team": {"id": "T1"}, "user": {"id": "U1"},
         "view": {"type": "modal", "callback_id": "retired_form", "state": {"values": {}}}},
        {"type": "shortcut", "team": {"id": "T1"}, "user": {"id": "U1"}, "callback_id": "retired", "trigger_id": "t"},
        {"type": "block_suggestion", "team": {"id": "T1"}, "user": {"id": "U1"}, "action_id": "retired_options",
         "block_id": "b", "value": "E11"},
    ):
        assert interaction(slack, payload) == 200, payload["type"]
    assert command(slack, "/medcode-old", "E11.9", "oldcmd") == 200
    # fifth black-box pass: an interaction type Bolt does not route, and a signed form with no command
    assert interaction(slack, {"type": "mystery_type", "team": {"id": "T1"}, "user": {"id": "U1"}}) == 200
    assert post(slack[1], urlencode({"text": "E11.9", "team_id": "T1", "user_id": "U1"}),
                "application/x-www-form-urlencoded") == 200
    assert event(slack, {"type": "reaction_added", "user": "U1", "reaction": "thumbsup",
                         "item": {"type": "message", "channel": "C1", "ts": "1.2"}}) == 200


def test_forged_ids_and_picker_values_are_refused_not_repeated(slack):  # noqa: F811
    # Third black-box pass: a user id "U1> <!channel" was written into a Share post (a channel-wide ping), and
    # a claim form's forged option value (a name and phone number) was repeated in the form and the DM copy.
    share = {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1> <!channel"},
             "channel": {"id": "C1"}, "trigger_id": "t", "response_url": f"{slack[0].url}/respond/forgedshare",
             "actions": [{"action_id": "share_answer", "value": json.dumps({"k": "icd", "t": "E11.9", "o": 0}),
                          "type": "button"}]}
    assert interaction(slack, share) == 400
    assert event(slack, {"type": "app_mention", "user": "U1", "channel": "C1/../x", "ts": "1.1",
                         "text": "<@UBOT> E11.9"}) == 400
    assert event(slack, {"type": "app_mention", "user": ["x"], "channel": "C1", "ts": "1.2", "text": "E11.9"}) == 400
    assert event(slack, {"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1.3", "text": 5}) == 400
    from urllib.parse import urlencode
    form = {"command": "/icd", "text": "E11.9", "team_id": "T1", "user_id": "U1\nforged", "channel_id": "C1",
            "trigger_id": "t", "response_url": f"{slack[0].url}/respond/forgedcmd"}
    assert post(slack[1], urlencode(form), "application/x-www-form-urlencoded") == 400
    from .test_slack_idioms import signed_reply
    state = {"dx": {"dx_options": {"type": "multi_external_select",
                                   "selected_options": [{"value": "John Smith 555-123-4567"}, {"value": "E11.9"}]}}}
    ack = signed_reply(slack[1], {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U_FORGED"},
                                  "view": {"type": "modal", "callback_id": "check_claim", "state": {"values": state}}})
    assert ack["response_action"] == "errors" and list(ack["errors"]) == ["dx"]
    assert "Smith" not in json.dumps(ack) and "4567" not in json.dumps(ack)


def test_a_shared_answer_names_only_a_slack_user_id():
    from handlers.actions import shared_by

    assert shared_by("U0123ABC")["elements"][0]["text"] == "Shared by <@U0123ABC> with medcode"
    for forged in ("U1> <!channel", "<!everyone>", "U0123456|x> <!here", 5, None):
        assert "<" not in json.dumps(shared_by(forged))


def test_claim_form_values_must_be_codes_the_pickers_offer():
    from handlers.actions import _offered_icd, _offered_procedure

    assert _offered_icd("E11.9") and _offered_icd("S72.001A") and not _offered_icd("John Smith 555-123-4567")
    assert _offered_procedure("99213") and _offered_procedure("J1745") and _offered_procedure("3074F")
    assert not _offered_procedure("25") and not _offered_procedure("99213-ZZ") and not _offered_procedure("x")


def test_a_mention_by_a_bot_is_not_answered(slack):  # noqa: F811
    mock = slack[0]
    assert event(slack, {"type": "app_mention", "user": "U1", "bot_id": "B1", "channel": "C_BOTLOOP", "ts": "9.1",
                         "text": "<@UBOT> E11.9"}) == 200
    assert event(slack, {"type": "app_mention", "user": "U1", "channel": "C_HUMAN", "ts": "9.2",
                         "text": "<@UBOT> E11.9"}) == 200
    assert mock.wait_for("chat.postMessage", channel="C_HUMAN")
    assert not [c for c in mock.calls if c[1].get("channel") == "C_BOTLOOP"]


def test_a_mistyped_diagnosis_in_pair_is_refused_not_dropped(slack):  # noqa: F811
    # Third pass: "/pair E11.99999 99213" dropped the diagnosis and answered "No diagnosis code given".
    command(slack, "/pair", "E11.99999 99213", "mistyped")
    reply = json.dumps(slack[0].wait_for("/respond/mistyped")[0])
    assert "not an ICD-10-CM code" in reply and "No diagnosis code given" not in reply


def test_a_long_note_shared_with_the_shortcut_is_read_to_its_end(slack):  # noqa: F811
    # Third pass: a 23,000-character note whose codes came at the end was answered "that search is longer than
    # 200 characters". Slack caps a message at 40,000 characters; all of it is read for codes.
    note = "Seen today for follow-up. " * 900 + " Dx E11.9, I10. Proc 99213, 83036."
    for tag, text in (("longnote", note), ("longplain", "Seen today for follow-up. " * 900)):
        interaction(slack, {"type": "message_action", "callback_id": "check_codes", "team": {"id": "T1"},
                            "user": {"id": "U1"}, "channel": {"id": "C12"}, "trigger_id": "t",
                            "response_url": f"{slack[0].url}/respond/{tag}", "message": {"ts": "1.5", "text": text}})
    answered = json.dumps(slack[0].wait_for("/respond/longnote")[0])
    assert "E11.9" in answered and "99213" in answered and "longer than" not in answered
    plain = json.dumps(slack[0].wait_for("/respond/longplain")[0])
    assert "No codes found in this message" in plain and "follow-up" not in plain


def test_a_more_button_past_the_end_says_so(slack):  # noqa: F811
    # Third pass: a page past the end answered "No codes found", though the search has matches.
    status = interaction(slack, {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"},
                                 "channel": {"id": "C1"}, "trigger_id": "t",
                                 "response_url": f"{slack[0].url}/respond/pastend",
                                 "actions": [{"action_id": "more_results", "type": "button",
                                              "value": json.dumps({"k": "icd", "t": "knee pain", "o": 500})}]})
    assert status == 200
    reply = json.dumps(slack[0].wait_for("/respond/pastend")[0])
    assert "No more results" in reply and "No codes found" not in reply
