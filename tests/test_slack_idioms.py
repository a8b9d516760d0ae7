"""Slack idioms, end to end through the real Bolt HTTP adapter and a loopback Web API mock: sharing through the
response_url, Web API errors told to the user, the claim form's result, paging instead of truncation, block
limits that keep the Share button and the data line, typeahead over billable codes, App Home only on its tab,
paginated list calls.

Codes and counts come from the ICD-10-CM 2026 tabular (bundled CDC file) and the HCPCS July 2024 release
(bundled CMS file) as loaded in the session database; the tests read them from there, not from a typed list.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import urllib.request
from urllib.parse import urlencode

from codedata.db import current_release

from .slack_mock import all_text
from .test_slack_http import SECRET, command, event, interaction, slack  # noqa: F401 - `slack` is a fixture


def signed_reply(url: str, payload: dict) -> dict:
    """POST an interaction payload and return Bolt's JSON reply (typeahead options, view_submission acks)."""
    body = urlencode({"payload": json.dumps(payload)})
    timestamp = int(time.time())
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature})
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else {}


def press(slack, action_id: str, value: dict, tag: str, channel: str = "C1", user: str = "U1") -> None:
    interaction(slack, {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": user},
                        "channel": {"id": channel}, "trigger_id": "t", "response_url": f"{slack[0].url}/respond/{tag}",
                        "actions": [{"action_id": action_id, "value": json.dumps(value), "type": "button"}]})


def buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b.get("type") == "actions" for e in b["elements"]]


def test_share_posts_in_channel_through_the_response_url_saying_who_shared(slack):
    mock = slack[0]
    press(slack, "share_answer", {"k": "icd", "t": "E11.9", "o": 0}, "share-idiom", channel="D_DM", user="U0SHARER1")
    replies = mock.wait_for("/respond/share-idiom", count=2)
    shared = next(r for r in replies if r.get("response_type") == "in_channel")
    text = all_text(shared["blocks"])
    assert "Type 2 diabetes mellitus without complications" in text and "Shared by <@U0SHARER1>" in text
    assert not [b for b in buttons(shared["blocks"]) if b["action_id"] == "share_answer"]
    assert any(r.get("delete_original") for r in replies)  # the private copy goes
    assert not [b for p, b in mock.calls if "chat.postMessage" in p and b.get("channel") == "D_DM"]


def test_an_expired_trigger_is_told_to_the_user(slack):
    mock = slack[0]
    mock.fail("views.open", "expired_trigger_id", trigger_id="trigger-expired")
    command(slack, "/pair", "", "expired")
    reply = mock.wait_for("/respond/expired")[0]
    assert reply["response_type"] == "ephemeral" and "run the command again" in reply["text"]


def test_a_channel_the_bot_is_not_in_gets_an_ephemeral_what_to_do(slack):
    mock = slack[0]
    mock.fail("chat.postMessage", "not_in_channel", channel="C_NOT_IN")
    event(slack, {"type": "app_mention", "user": "U7", "channel": "C_NOT_IN", "ts": "80.1", "text": "<@UBOT> E11.9"})
    told = mock.wait_for("chat.postEphemeral", channel="C_NOT_IN")[0]
    assert told["user"] == "U7" and "/invite @medcode" in told["text"]


def test_the_claim_form_shows_its_result_instead_of_closing(slack):
    state = {"dx": {"dx_options": {"type": "multi_external_select", "selected_options": [{"value": "E11.9"}]}},
             "px": {"px_options": {"type": "multi_external_select", "selected_options": [{"value": "99213"}]}}}
    ack = signed_reply(slack[1], {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U_FORM"},
                                  "view": {"type": "modal", "callback_id": "check_claim", "state": {"values": state}}})
    assert ack["response_action"] == "update"
    text = all_text(ack["view"]["blocks"])
    assert ":white_check_mark: *OK*" in text and "Data: ICD-10-CM 2026 tabular" in text
    assert len(ack["view"]["blocks"]) <= 100
    copy = slack[0].wait_for("chat.postMessage", channel="U_FORM")[0]
    assert any(b["action_id"] == "share_answer" for b in buttons(copy["blocks"]))


def test_a_claim_form_date_out_of_range_is_shown_under_the_date(slack):
    # The date picker can send a date before ICD-10-CM began (2015-10-01, the earliest date of service): the error
    # belongs under the date field, where the biller looks, not under the diagnoses.
    state = {"dx": {"dx_options": {"type": "multi_external_select", "selected_options": [{"value": "E11.9"}]}},
             "dos": {"dos": {"type": "datepicker", "selected_date": "2014-06-01"}}}
    ack = signed_reply(slack[1], {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U_FORM2"},
                                  "view": {"type": "modal", "callback_id": "check_claim", "state": {"values": state}}})
    assert ack["response_action"] == "errors" and list(ack["errors"]) == ["dos"]
    assert "2015-10-01" in ack["errors"]["dos"]


def test_show_all_codes_pages_whole_lines_instead_of_cutting_at_2900_characters(slack, icd_db):
    release = current_release(icd_db, "icd10cm")["id"]
    header = "S52"  # fractures of the forearm: hundreds of billable codes (7th characters expanded)
    total = icd_db.execute("SELECT count(*) FROM codes WHERE release_id = ? AND billable = 1 AND code LIKE ?",
                           [release, header + "%"]).fetchone()[0]
    assert total > 200
    press(slack, "show_children", {"k": "icd", "t": header, "o": 0}, "children-1")
    first = slack[0].wait_for("/respond/children-1")[0]
    texts = [b["text"]["text"] for b in first["blocks"] if b["type"] == "section"]
    assert all(len(t) <= 3000 for t in texts) and len(texts) > 1
    lines = [ln for t in texts for ln in t.split("\n")][1:]
    assert len(lines) == 100 and all(re.fullmatch(r"`S52\.[0-9A-Z]+` \S.*\S", ln) for ln in lines)
    assert f"(1–100 of {total})" in texts[0]
    next_page = [b for b in buttons(first["blocks"]) if b["action_id"] == "show_children"][0]
    assert json.loads(next_page["value"])["o"] == 100
    press(slack, "show_children", json.loads(next_page["value"]), "children-2")
    second = slack[0].wait_for("/respond/children-2")[0]
    assert second["replace_original"] is True and f"(101–200 of {total})" in all_text(second["blocks"])


def test_a_pair_over_the_block_limit_keeps_its_share_button_and_data_line(slack, icd_db):
    release = current_release(icd_db, "icd10cm")["id"]
    headers = [r[0] for r in icd_db.execute(  # 39 subcategory headers: each is a finding with its basis
        "SELECT display FROM codes WHERE release_id = ? AND billable = 0 AND kind = 'subcategory' "
        "ORDER BY seq LIMIT 39", [release])]
    command(slack, "/pair", " ".join(headers) + " 99213", "many")
    reply = slack[0].wait_for("/respond/many")[0]
    blocks = reply["blocks"]
    assert len(blocks) <= 50
    assert blocks[-1]["type"] == "actions" and buttons(blocks)[-1]["action_id"] == "share_answer"
    assert all_text([blocks[-2]]).startswith("Data: ICD-10-CM 2026 tabular")
    assert "more blocks not shown" in all_text(blocks)


def test_typeahead_lists_the_billable_codes_under_a_typed_header(slack, icd_db):
    release = current_release(icd_db, "icd10cm")["id"]
    billable = {r[0] for r in icd_db.execute(
        "SELECT display FROM codes WHERE release_id = ? AND billable = 1 AND code LIKE 'E11%'", [release])}
    reply = signed_reply(slack[1], {"type": "block_suggestion", "action_id": "dx_options", "block_id": "dx",
                                    "value": "E11", "team": {"id": "T1"}, "user": {"id": "U1"},
                                    "view": {"callback_id": "check_claim"}})
    group = reply["option_groups"][0]
    assert group["label"]["text"].startswith("E11 Type 2 diabetes mellitus")
    values = [o["value"] for o in group["options"]]
    assert values and set(values) <= billable and len(values) == min(100, len(billable))


def test_typeahead_reads_full_width_input(slack):
    # hostile pass 4: the README promises full-width input reads as E11.9; the picker offered nothing for it
    reply = signed_reply(slack[1], {"type": "block_suggestion", "action_id": "dx_options", "block_id": "dx",
                                    "value": "\uff25\uff11\uff11\uff0e\uff19", "team": {"id": "T1"},
                                    "user": {"id": "U1"}, "view": {"callback_id": "check_claim"}})
    values = [o["value"] for group in reply.get("option_groups", [reply]) for o in group.get("options", [])]
    assert "E11.9" in values


def test_typeahead_for_97_lists_procedure_codes_not_modifier_97(slack, icd_db):
    reply = signed_reply(slack[1], {"type": "block_suggestion", "action_id": "px_options", "block_id": "px",
                                    "value": "97", "team": {"id": "T1"}, "user": {"id": "U1"},
                                    "view": {"callback_id": "check_claim"}})
    values = [o["value"] for o in reply["options"]]
    assert "97110" in values and all(re.fullmatch(r"97\d{3}", v) for v in values)


def test_app_home_is_published_for_the_home_tab_only_and_reads_every_page_of_channels(slack):
    mock = slack[0]
    command(slack, "/icd", "watch I10", "home-page2", channel="C_HOME_2")
    mock.wait_for("/respond/home-page2")
    event(slack, {"type": "app_home_opened", "user": "U_MSG", "channel": "D2", "tab": "messages"})
    event(slack, {"type": "app_home_opened", "user": "U_HOME", "channel": "D3", "tab": "home"})
    view = mock.wait_for("views.publish", user_id="U_HOME")[0]["view"]
    assert "<#C_HOME_2> icd10cm" in all_text(view["blocks"])  # from the second page of users.conversations
    pages = [b.get("cursor") for p, b in mock.calls if "users.conversations" in p and b.get("user") == "U_HOME"]
    assert pages == [None, "page-2"]
    assert not [b for p, b in mock.calls if "views.publish" in p and b.get("user_id") == "U_MSG"]
    # fifth black-box pass: a forged user object was passed on to users.conversations and views.publish
    event(slack, {"type": "app_home_opened", "user": {"id": "U_FORGED"}, "channel": "D4", "tab": "home"})
    event(slack, {"type": "app_home_opened", "user": "U_AFTER", "channel": "D5", "tab": "home"})
    mock.wait_for("views.publish", user_id="U_AFTER")
    assert not [b for p, b in mock.calls if "U_FORGED" in json.dumps(b)]


def test_a_button_whose_answer_fails_says_so_in_one_line(slack):
    press(slack, "more_results", {"k": "icd", "t": "!!!", "o": 10}, "button-fails")
    reply = slack[0].wait_for("/respond/button-fails")[0]
    assert reply["response_type"] == "ephemeral" and reply["text"].startswith(":warning: type some words")


def test_show_all_codes_keeps_the_date_of_service_and_refuses_a_page_past_the_end(slack):
    # Fifth black-box pass: the button lost the date, listing C50.A0-C50.A2 (new in the 2026 tabular, absent
    # from the 2025-04 release in force on 2025-06-01) for a 2025 date of service.
    command(slack, "/icd", "C50 dos:2025-06-01", "c50")
    reply = slack[0].wait_for("/respond/c50")[0]
    value = json.loads([b for b in buttons(reply["blocks"]) if b["action_id"] == "show_children"][0]["value"])
    assert value["d"] == "2025-06-01"
    press(slack, "show_children", value, "c50-all")
    listed = all_text(slack[0].wait_for("/respond/c50-all")[0]["blocks"])
    assert "C50.911" in listed and "C50.A" not in listed
    press(slack, "show_children", {"k": "icd", "t": "C50", "o": 0}, "c50-today")
    assert "C50.A0" in all_text(slack[0].wait_for("/respond/c50-today")[0]["blocks"])
    press(slack, "show_children", {"k": "icd", "t": "C50", "o": 9000}, "c50-past")
    assert "no page starts after" in slack[0].wait_for("/respond/c50-past")[0]["text"]
