"""Socket Mode end to end: a loopback websocket server speaking Slack's Socket Mode protocol (hello, envelopes
with envelope_id, acks, disconnect and reconnect) delivers a slash command and an app mention."""
from __future__ import annotations

import json
import threading
import time

import pytest
from websockets.sync.server import serve

from bot.app import create_app
from bot.config import Settings
from bot.run import socket_handler
from handlers import Services

from .slack_mock import SlackMock, all_text


class SocketModeServer:
    """Accepts the bot's websocket connections, says hello, sends envelopes, records what comes back."""

    def __init__(self):
        self.connections = []
        self.received: list[dict] = []
        self.server = serve(self._handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handle(self, websocket):
        self.connections.append(websocket)
        websocket.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"},
                                   "debug_info": {"host": "loopback"}}))
        try:
            for message in websocket:
                self.received.append(json.loads(message))
        except Exception:
            pass

    def wait(self, predicate, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError("timed out")

    def send(self, envelope: dict) -> None:
        self.connections[-1].send(json.dumps(envelope))

    def acked(self, envelope_id: str) -> bool:
        return any(m.get("envelope_id") == envelope_id for m in self.received)

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def socket_mode(icd_db_path):
    server = SocketModeServer()
    mock = SlackMock(socket_url=server.url)
    settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_app_token="xapp-test",
                        medcode_slack_api_url=mock.url + "/api/")
    app = create_app(settings, Services(db_path=icd_db_path), socket_mode=True)
    handler = socket_handler(app, "xapp-test")
    handler.connect()
    server.wait(lambda: server.connections)
    yield server, mock
    handler.close()
    mock.close()
    server.close()


def slash_envelope(envelope_id: str, mock: SlackMock, text: str) -> dict:
    return {"envelope_id": envelope_id, "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"command": "/icd", "text": text, "team_id": "T1", "user_id": "U1", "channel_id": "C1",
                        "trigger_id": "t1", "response_url": f"{mock.url}/respond/{envelope_id}"}}


def test_slash_command_is_acked_and_answered(socket_mode):
    server, mock = socket_mode
    server.send(slash_envelope("env-1", mock, "S72.001A"))
    server.wait(lambda: server.acked("env-1"))
    reply = mock.wait_for("/respond/env-1")[0]
    assert "initial encounter for closed fracture" in all_text(reply["blocks"])


def test_app_mention_is_acked_and_answered_in_thread(socket_mode):
    server, mock = socket_mode
    server.send({"envelope_id": "env-2", "type": "events_api", "accepts_response_payload": False,
                 "payload": {"type": "event_callback", "team_id": "T1", "event_id": "Ev2",
                             "event": {"type": "app_mention", "user": "U1", "channel": "C5", "ts": "9.1",
                                       "text": "<@UBOT> what's the code for rt knee pain"}}})
    server.wait(lambda: server.acked("env-2"))
    posted = mock.wait_for("chat.postMessage", channel="C5")[0]
    assert posted["thread_ts"] == "9.1" and "`M25.561`" in all_text(posted["blocks"])


def test_disconnect_then_reconnect_keeps_answering(socket_mode):
    server, mock = socket_mode
    opened = len(mock.wait_for("apps.connections.open"))
    server.send({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "loopback"}})
    server.wait(lambda: len(server.connections) >= 2)
    assert len(mock.wait_for("apps.connections.open", count=opened + 1)) == opened + 1
    server.send(slash_envelope("env-3", mock, "E11.9"))
    server.wait(lambda: server.acked("env-3"))
    assert "Type 2 diabetes" in all_text(mock.wait_for("/respond/env-3")[0]["blocks"])


def test_a_retried_event_is_acked_and_answered_once(socket_mode):
    server, mock = socket_mode
    payload = {"type": "event_callback", "team_id": "T1", "event_id": "EvSocketRetry",
               "event": {"type": "app_mention", "user": "U1", "channel": "C_SRETRY", "ts": "9.7",
                         "text": "<@UBOT> E11.9"}}
    server.send({"envelope_id": "env-r0", "type": "events_api", "accepts_response_payload": False,
                 "retry_attempt": 0, "retry_reason": "", "payload": payload})
    server.wait(lambda: server.acked("env-r0"))
    server.send({"envelope_id": "env-r1", "type": "events_api", "accepts_response_payload": False,
                 "retry_attempt": 1, "retry_reason": "timeout", "payload": payload})
    server.wait(lambda: server.acked("env-r1"))  # acknowledged, so Slack stops retrying
    time.sleep(0.5)
    assert len(mock.wait_for("chat.postMessage", channel="C_SRETRY")) == 1


def test_the_message_shortcut_answers_ephemerally_and_share_goes_through_the_response_url(socket_mode):
    server, mock = socket_mode
    server.send({"envelope_id": "env-sc", "type": "interactive", "accepts_response_payload": False,
                 "payload": {"type": "message_action", "callback_id": "check_codes", "team": {"id": "T1"},
                             "user": {"id": "U1"}, "channel": {"id": "C_SC"}, "trigger_id": "t",
                             "response_url": f"{mock.url}/respond/sock-sc",
                             "message": {"ts": "9.9", "text": "Mr. Lee E11.9 with 99213"}}})
    server.wait(lambda: server.acked("env-sc"))
    reply = mock.wait_for("/respond/sock-sc")[0]
    text = all_text(reply["blocks"])
    assert reply["response_type"] == "ephemeral" and "Diagnoses: `E11.9`   Procedures: `99213`" in text
    assert "Lee" not in text
    share = [e for b in reply["blocks"] for e in b.get("elements", []) if e.get("action_id") == "share_answer"][0]
    server.send({"envelope_id": "env-share", "type": "interactive", "accepts_response_payload": False,
                 "payload": {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U0SHARE2"},
                             "channel": {"id": "C_SC"}, "trigger_id": "t",
                             "response_url": f"{mock.url}/respond/sock-share",
                             "actions": [{"action_id": "share_answer", "value": share["value"], "type": "button"}]}})
    server.wait(lambda: server.acked("env-share"))
    shared = [r for r in mock.wait_for("/respond/sock-share", count=2) if r.get("response_type") == "in_channel"]
    assert shared and "Shared by <@U0SHARE2>" in all_text(shared[0]["blocks"])
