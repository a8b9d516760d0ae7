"""HTTP mode as deployed: a real `medcode serve --http --processes 2` (gunicorn, two worker processes) on
loopback, signed requests, a loopback Web API mock. Hostile requests get definite answers (413, 400, 401),
idle and stalled connections do not starve real ones, a replay or an event retry is refused or dropped
whichever process it reaches, SIGTERM stops every process after the answers in flight, and SIGKILL of the
master leaves no worker serving."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.app import create_app
from bot.config import Settings
from bot.run import http_server
from handlers import Services

from .slack_mock import SlackMock, all_text
from .test_slack_http import SECRET, post

ROOT = Path(__file__).resolve().parents[1]
FORM = "application/x-www-form-urlencoded"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_bot(db_path: Path, mock: SlackMock, port: int) -> subprocess.Popen:
    env = {**os.environ, "MEDCODE_DB": str(db_path), "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
           "MEDCODE_SLACK_API_URL": mock.url + "/api/"}
    env.pop("SLACK_APP_TOKEN", None)
    bot = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--http", "--processes", "2", "--port", str(port)],
                           env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    while len(_children(bot.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    return bot


@pytest.fixture(scope="module")
def served(icd_db_path, tmp_path_factory):
    import sqlite3

    db_path = tmp_path_factory.mktemp("serve") / "serve.db"
    source, target = sqlite3.connect(icd_db_path), sqlite3.connect(db_path)
    source.backup(target)
    source.close()
    target.close()
    mock, port = SlackMock(), free_port()
    bot = start_bot(db_path, mock, port)
    yield bot, mock, f"http://127.0.0.1:{port}/slack/events", port
    if bot.poll() is None:
        bot.kill()
        bot.wait()
    mock.close()


def raw_post(port: int, body: bytes, content_type: str = FORM, timestamp: str | None = None,
             extra: str = "") -> int:
    """A signed POST as raw bytes; returns the HTTP status."""
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    head = (f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
            f"X-Slack-Request-Timestamp: {timestamp}\r\nX-Slack-Signature: {signature}\r\n{extra}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(head)
        try:
            conn.sendall(body)
        except OSError:
            pass  # refused before the body was read (413)
        reply = b""
        while b"\r\n" not in reply:
            chunk = conn.recv(256)
            if not chunk:
                break
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def slash(mock: SlackMock, tag: str, text: str = "E11.9") -> str:
    return urlencode({"command": "/icd", "text": text, "team_id": "T1", "user_id": "U1", "channel_id": "C1",
                      "trigger_id": "t", "response_url": f"{mock.url}/respond/{tag}"})


def test_two_worker_processes_answer_signed_commands(served):
    bot, mock, url, _ = served
    assert len(_children(bot.pid)) == 2  # gunicorn's master and two workers
    for n in range(6):
        assert post(url, slash(mock, f"p{n}"), FORM) == 200
    for n in range(6):
        assert "E11.9" in all_text(mock.wait_for(f"/respond/p{n}")[0]["blocks"])


@pytest.mark.parametrize("body, content_type, status", [
    (b"{not json", "application/json", 400),                       # invalid JSON, correctly signed
    (b"[1, 2, 3]", "application/json", 400),                       # JSON but not an object
    (bytes(range(256)) * 4, "application/octet-stream", 400),      # binary
    (b"payload=%7Bbroken", FORM, 400),                              # a payload field that is not JSON
    (b"command=%2Ficd&text=%FF%FE", FORM, 400),                     # form data that is not UTF-8
    (b"a=1&&&=;;==", FORM, 400),                                    # form data that does not parse
    (b"command=%2Ficd&text=" + b"E" * (1024 * 1024), FORM, 413),   # a signed 1 MB body
])
def test_malformed_and_oversized_signed_bodies_get_a_definite_status(served, body, content_type, status):
    assert raw_post(served[3], body, content_type) == status


@pytest.mark.parametrize("timestamp", ["soon", "1e9", "-5", "", "99999999999999999999"])
def test_bad_timestamps_are_refused_with_401(served, timestamp):
    assert raw_post(served[3], slash(served[1], "ts").encode(), timestamp=timestamp) == 401


def test_a_body_just_under_the_cap_is_answered(served):
    bot, mock, _, port = served
    body = slash(mock, "big", "E11.9 " + "x" * (200 * 1024)).encode()  # a long message text: 200 KB
    assert raw_post(port, body) == 200
    mock.wait_for("/respond/big")


def test_a_replay_is_refused_whichever_process_it_reaches(served):
    bot, mock, url, _ = served
    timestamp = int(time.time())
    form = slash(mock, "replayed")
    statuses = [post(url, form, FORM, timestamp=timestamp) for _ in range(6)]
    assert statuses == [200] + [401] * 5
    time.sleep(0.5)
    assert len(mock.wait_for("/respond/replayed")) == 1


def test_an_event_retry_is_acknowledged_and_not_answered_twice(served):
    bot, mock, _, port = served
    event = {"type": "event_callback", "team_id": "T1", "event_id": "EvRetry1", "event_time": int(time.time()),
             "event": {"type": "app_mention", "user": "U1", "channel": "C_RETRY", "ts": "70.1",
                       "text": "<@UBOT> E11.9"}}
    body = json.dumps(event).encode()
    assert raw_post(port, body, "application/json") == 200
    for attempt in (1, 2, 3):  # Slack signs each retry afresh (a new timestamp), with X-Slack-Retry-Num
        time.sleep(1.05)
        assert raw_post(port, body, "application/json",
                        extra=f"X-Slack-Retry-Num: {attempt}\r\nX-Slack-Retry-Reason: http_timeout\r\n") == 200
    time.sleep(1.0)
    assert len(mock.wait_for("chat.postMessage", channel="C_RETRY")) == 1


def test_idle_and_stalled_connections_do_not_starve_real_requests(served):
    bot, mock, url, port = served
    hostile = []
    try:
        for n in range(60):  # 40 that send nothing, 20 that stop halfway through their headers
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            if n >= 40:
                conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Le")
            hostile.append(conn)
        time.sleep(0.5)
        started = time.monotonic()
        for n in range(10):
            assert post(url, slash(mock, f"busy{n}"), FORM) == 200
        assert time.monotonic() - started < 5.0
        for n in range(10):
            mock.wait_for(f"/respond/busy{n}")
        # Idle and stalled connections are closed after the read timeout (bot.run.READ_TIMEOUT, 5 s), all of
        # them at about the same time: closing one does not hold up the worker (its lingering close is on a
        # thread of its own, not the worker's event loop).
        waited = time.monotonic()
        for conn in (hostile[0], hostile[39], hostile[45], hostile[59]):
            conn.settimeout(15)
            try:
                closed = conn.recv(64) == b""
            except ConnectionResetError:
                closed = True
            assert closed
        assert time.monotonic() - waited < 12
    finally:
        for conn in hostile:
            conn.close()


def test_sigterm_answers_what_is_in_flight_then_stops_every_process(served):
    bot, mock, url, _ = served
    workers = _children(bot.pid)
    assert post(url, slash(mock, "inflight", "type 2 diabetes with hyperglycemia"), FORM) == 200
    bot.send_signal(signal.SIGTERM)
    assert "E11.65" in all_text(mock.wait_for("/respond/inflight")[0]["blocks"])
    bot.wait(timeout=30)
    time.sleep(0.5)
    assert all(not _alive(pid) for pid in workers)


def test_sigkill_of_the_master_leaves_no_worker_serving(db_copy):
    mock, port = SlackMock(), free_port()
    bot = start_bot(db_copy, mock, port)
    try:
        workers = _children(bot.pid)
        assert len(workers) == 2
        bot.kill()  # SIGKILL: gunicorn's master cannot stop its workers
        bot.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)  # each noticed its parent was gone and exited
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    finally:
        mock.close()


def test_the_development_server_runs_the_same_guard(icd_db_path):
    settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_signing_secret=SECRET)
    server = http_server(create_app(settings, Services(db_path=icd_db_path)), 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert raw_post(server.server_port, b"{not json", "application/json") == 400
        assert raw_post(server.server_port, b"x" * (300 * 1024)) == 413
    finally:
        server.shutdown()
        server.server_close()


def _alive(pid: int) -> bool:
    state = _state(pid)
    return state not in ("gone", "Z")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                found.append(int(stat.parent.name))
        except OSError:
            continue
    return found


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
