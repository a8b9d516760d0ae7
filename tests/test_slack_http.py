"""HTTP mode end to end: the real Bolt WSGI adapter on loopback, signed requests, a loopback Web API mock."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml

from bot.app import create_app
from bot.config import Settings
from bot.run import http_server
from handlers import Services

from .slack_mock import SlackMock, all_text

SECRET = "test-signing-secret"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def slack(icd_db_path):
    mock = SlackMock()
    settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
                        medcode_slack_api_url=mock.url + "/api/")
    app = create_app(settings, Services(db_path=icd_db_path))
    server = http_server(app, 0, host="127.0.0.1")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield mock, f"http://127.0.0.1:{server.server_port}/slack/events"
    server.shutdown()
    mock.close()


def post(url: str, body: str, content_type: str, timestamp: int | None = None, secret: str = SECRET) -> int:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": content_type, "X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def command(slack, name: str, text: str, tag: str, channel: str = "C1", user_id: str = "U1", **kw) -> int:
    mock, url = slack
    form = {"command": name, "text": text, "team_id": "T1", "user_id": user_id, "channel_id": channel,
            "trigger_id": f"trigger-{tag}", "response_url": f"{mock.url}/respond/{tag}"}
    return post(url, urlencode(form), "application/x-www-form-urlencoded", **kw)


def interaction(slack, payload: dict) -> int:
    return post(slack[1], urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def event(slack, inner: dict) -> int:
    body = {"type": "event_callback", "team_id": "T1", "event_id": f"Ev{time.time_ns()}", "event": inner}
    return post(slack[1], json.dumps(body), "application/json")


@pytest.mark.parametrize("name, text, tag, expected", [
    ("/icd", "E11.9", "icd-code", "Type 2 diabetes mellitus without complications"),
    ("/icd", "type 2 diabetes", "icd-search", "`E11.9`"),
    ("/cpt", "97110", "cpt-code", "Therapeutic exercise"),
    ("/pair", "M54.5 97140", "pair", "Likely denial"),
])
def test_commands_answer_ephemerally_with_a_share_button(slack, name, text, tag, expected):
    assert command(slack, name, text, tag) == 200
    reply = slack[0].wait_for(f"/respond/{tag}")[0]
    assert reply["response_type"] == "ephemeral"
    assert expected in all_text(reply["blocks"])
    assert any(e.get("action_id") == "share_answer" for b in reply["blocks"] for e in b.get("elements", []))


def test_pair_reports_the_header_and_its_codes(slack):
    command(slack, "/pair", "M54.5 97140", "pair-detail")
    text = all_text(slack[0].wait_for("/respond/pair-detail")[0]["blocks"])
    assert "M54.5 is a header" in text and "`M54.50`" in text and "Basis: ICD-10-CM 2026 tabular" in text


def test_bad_input_gets_ephemeral_help_not_an_error(slack):
    command(slack, "/icd", "!!!", "bad")
    reply = slack[0].wait_for("/respond/bad")[0]
    assert reply["response_type"] == "ephemeral" and ":warning:" in all_text(reply["blocks"])


def test_bad_signature_and_stale_timestamp_are_refused(slack):
    assert command(slack, "/icd", "E11.9", "forged", secret="wrong") == 401
    assert command(slack, "/icd", "E11.9", "stale", timestamp=int(time.time()) - 6 * 60) == 401
    time.sleep(0.3)
    assert not [p for p, _ in slack[0].calls if "forged" in p or "stale" in p]


def test_more_results_button_replaces_the_page(slack):
    value = json.dumps({"k": "icd", "t": "knee pain", "o": 1})
    assert interaction(slack, {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"},
                               "channel": {"id": "C1"}, "trigger_id": "t", "response_url": f"{slack[0].url}/respond/more",
                               "actions": [{"action_id": "more_results", "value": value, "type": "button"}]}) == 200
    reply = slack[0].wait_for("/respond/more")[0]
    assert reply["replace_original"] is True and "knee pain" in all_text(reply["blocks"])


def test_share_button_posts_in_channel(slack):
    value = json.dumps({"k": "cpt", "t": "J1745", "o": 0})
    interaction(slack, {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"}, "channel": {"id": "C77"},
                        "trigger_id": "t", "response_url": f"{slack[0].url}/respond/share",
                        "actions": [{"action_id": "share_answer", "value": value, "type": "button"}]})
    posted = [r for r in slack[0].wait_for("/respond/share", count=2) if r.get("response_type") == "in_channel"]
    assert posted and "infliximab" in all_text(posted[0]["blocks"])


def test_pair_alone_opens_the_form_and_submission_posts_the_result(slack):
    command(slack, "/pair", "", "form")
    view = slack[0].wait_for("views.open")[-1]
    assert view["trigger_id"] == "trigger-form" and view["view"]["callback_id"] == "check_claim"
    state = {"dx": {"dx_options": {"type": "multi_external_select", "selected_options": [{"value": "M54.5"}]}},
             "px": {"px_options": {"type": "multi_external_select", "selected_options": [{"value": "97140"}]}},
             "age": {"age": {"type": "number_input", "value": "45"}},
             "sex": {"sex": {"type": "static_select", "selected_option": {"value": "F"}}},
             "dos": {"dos": {"type": "datepicker", "selected_date": "2026-03-01"}}}
    assert interaction(slack, {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U55"},
                               "view": {"type": "modal", "callback_id": "check_claim", "state": {"values": state}}}) == 200
    posted = slack[0].wait_for("chat.postMessage", channel="U55")
    assert posted and "Likely denial" in all_text(posted[0]["blocks"])


def test_typeahead_options_come_from_search(slack):
    body = urlencode({"payload": json.dumps({"type": "block_suggestion", "action_id": "dx_options", "block_id": "dx",
                                             "value": "rt knee pain", "team": {"id": "T1"}, "user": {"id": "U1"},
                                             "view": {"callback_id": "check_claim"}})})
    timestamp = int(time.time())
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(slack[1], data=body.encode(), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature})
    with urllib.request.urlopen(request, timeout=10) as response:
        options = json.loads(response.read())["options"]
    assert options[0]["value"] == "M25.561"


def test_mention_in_a_channel_answers_in_the_thread(slack):
    assert event(slack, {"type": "app_mention", "user": "U1", "channel": "C9", "ts": "111.222",
                         "text": "<@UBOT> does 97140 go with M54.2?"}) == 200
    posted = slack[0].wait_for("chat.postMessage", channel="C9")
    assert posted[0]["thread_ts"] == "111.222"
    text = all_text(posted[0]["blocks"])
    assert "`M54.2`" in text and "`97140`" in text


def test_mention_with_patient_identifiers_reminds_and_finds_no_codes(slack):
    event(slack, {"type": "app_mention", "user": "U1", "channel": "C10", "ts": "333.444",
                  "text": "<@UBOT> DOB 01/02/1960, call 555-123-4567, MRN 12345"})
    posted = slack[0].wait_for("chat.postMessage", channel="C10")
    text = all_text(posted[0]["blocks"])
    assert "Please don't paste patient details" in text
    assert "1960" not in text and "555" not in text and "12345" not in text


def test_message_shortcut_answers_only_its_user_with_a_share_button(slack):
    interaction(slack, {"type": "message_action", "callback_id": "check_codes", "team": {"id": "T1"},
                        "user": {"id": "U1"}, "channel": {"id": "C11"}, "trigger_id": "t",
                        "response_url": f"{slack[0].url}/respond/shortcut",
                        "message": {"ts": "555.666", "text": "billing E11.9 with 99213 and 83036"}})
    reply = slack[0].wait_for("/respond/shortcut")[0]
    assert reply["response_type"] == "ephemeral" and ":white_check_mark: *OK*" in all_text(reply["blocks"])
    assert any(e.get("action_id") == "share_answer" for b in reply["blocks"] for e in b.get("elements", []))
    time.sleep(0.3)
    assert not [b for p, b in slack[0].calls if "chat.postMessage" in p and b.get("channel") == "C11"]


def test_app_home_shows_the_data_vintage_and_channel_watches(slack):
    command(slack, "/icd", "watch J45*", "home-watch", channel="C_HOME")
    slack[0].wait_for("/respond/home-watch")
    event(slack, {"type": "app_home_opened", "user": "U2", "channel": "D1", "tab": "home"})
    view = slack[0].wait_for("views.publish", user_id="U2")[0]["view"]
    text = all_text(view["blocks"])
    assert "ICD-10-CM 2026 tabular" in text and "HCPCS Level II, July 2024 release" in text
    assert "<#C_HOME> icd10cm prefix `J45*`" in text  # shown as written (fifth black-box pass)


def test_every_manifest_command_has_a_listener_and_a_readme_entry(slack):
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    readme = (ROOT / "README.md").read_text()
    for entry in manifest["features"]["slash_commands"]:
        name = entry["command"]
        assert command(slack, name, "help", f"docs{name.strip('/')}") == 200, f"{name} has no listener"
        assert "medcode" in all_text(slack[0].wait_for(f"/respond/docs{name.strip('/')}")[0]["blocks"])
        assert f"`{name}" in readme, f"{name} is not in the README"
    shortcuts = {s["callback_id"] for s in manifest["features"]["shortcuts"]}
    assert shortcuts == {"check_codes"}
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {"app_mention", "app_home_opened"}


def test_every_setting_is_described():
    assert all(field.description for field in Settings.model_fields.values())


def test_watch_this_code_button(slack):
    command(slack, "/icd", "G35", "g35")
    reply_blocks = slack[0].wait_for("/respond/g35")[0]["blocks"]
    button = [e for b in reply_blocks for e in b.get("elements", []) if e.get("action_id") == "watch_code"][0]
    interaction(slack, {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"}, "channel": {"id": "C40"},
                        "trigger_id": "t", "response_url": f"{slack[0].url}/respond/watchbtn",
                        "actions": [{"action_id": "watch_code", "value": button["value"], "type": "button"}]})
    assert "now watches icd10cm subtree `G35`" in all_text(slack[0].wait_for("/respond/watchbtn")[0]["blocks"])


def test_watch_subcommands(slack):
    mock = slack[0]
    command(slack, "/icd", "watch E11", "w1")
    assert "now watches icd10cm subtree `E11`" in all_text(mock.wait_for("/respond/w1")[0]["blocks"])
    command(slack, "/icd", "watches", "w2")
    assert "`E11`" in all_text(mock.wait_for("/respond/w2")[0]["blocks"])
    command(slack, "/icd", "watch icd10cm", "w3")
    assert "for administrators" in all_text(mock.wait_for("/respond/w3")[0]["blocks"])
    command(slack, "/icd", "changes G35", "w4")
    text = all_text(mock.wait_for("/respond/w4")[0]["blocks"])
    assert "`G35`" in text and "use instead" in text and "`G35.A`" in text
    command(slack, "/icd", "unwatch E11", "w5")
    assert "Stopped watching" in all_text(mock.wait_for("/respond/w5")[0]["blocks"])


def test_missing_signature_and_replayed_request_are_refused(slack):
    mock, url = slack
    unsigned = urllib.request.Request(url, data=b"command=%2Ficd&text=E11.9", method="POST",
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=10)
    assert refused.value.code == 401
    form = urlencode({"command": "/icd", "text": "I10", "team_id": "T1", "user_id": "U1", "channel_id": "C1",
                      "trigger_id": "t", "response_url": f"{mock.url}/respond/replay"})
    timestamp = int(time.time())
    assert post(url, form, "application/x-www-form-urlencoded", timestamp=timestamp) == 200
    assert post(url, form, "application/x-www-form-urlencoded", timestamp=timestamp) == 401
    time.sleep(0.5)
    assert len(mock.wait_for("/respond/replay")) == 1  # done once, not twice


def test_replay_memory_forgets_requests_older_than_the_signature_window(monkeypatch):
    """A bot running for weeks keeps only five minutes of signatures, and still refuses a replay inside them."""
    from slack_bolt import BoltRequest, BoltResponse

    from bot.app import ReplayGuard

    guard, clock = ReplayGuard(), [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])

    def send(n: int) -> int:
        request = BoltRequest(body="", headers={"x-slack-signature": f"v0={n}", "x-slack-request-timestamp": str(n)})
        return guard(request, lambda: BoltResponse(status=200, body="")).status

    assert [send(n) for n in range(1000)] == [200] * 1000
    assert send(999) == 401
    clock[0] += ReplayGuard.WINDOW + 1
    assert send(5000) == 200
    assert len(guard.seen) == 1 and len(guard.arrivals) == 1


def test_patient_details_are_never_logged_or_echoed(slack, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    text = "J1745 for patient Jane Roe DOB 03/04/1955 MRN 884422 phone 555-867-5309 jane@example.com"
    command(slack, "/cpt", text, "phi")
    reply = all_text(slack[0].wait_for("/respond/phi")[0]["blocks"])
    assert "Please don't paste patient details" in reply
    for secret in ("03/04/1955", "884422", "555-867-5309", "jane@example.com"):
        assert secret not in reply
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("Jane", "1955", "884422", "867-5309", "jane@example.com", "J1745"):
        assert secret not in logged
    assert "/cpt" in logged  # the request was logged, by kind and ids only
    assert "xoxb-test" not in logged and SECRET not in logged  # nor the bot token or the signing secret


def test_the_request_log_times_each_request(slack, caplog):
    import logging
    import re

    caplog.set_level(logging.INFO, logger="medcode.slack")
    command(slack, "/icd", "E11.9", "timed")
    slack[0].wait_for("/respond/timed")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("/icd ")]
    assert lines, "no request log line"
    milliseconds = float(re.search(r"([\d.]+) ms$", lines[-1]).group(1))
    assert milliseconds > 0.5  # Bolt waits for the listener's ack (it polls every 10 ms): never 0.0
