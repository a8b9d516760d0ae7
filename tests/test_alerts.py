"""Alert delivery against a flaky loopback Web API (429 + Retry-After, 500, dropped connection), and a worker
killed mid-delivery and restarted: every watching channel gets exactly one summary and one thread."""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from bot.alerts import alert_client, deliver_pending
from codedata.db import open_db



class FlakyWebAPI:
    """Answers chat.postMessage per a script of failures, then accepts; records only answers fully sent."""

    def __init__(self, failures: list[str], delay: float = 0.0):
        self.failures = list(failures)
        self.delay = delay
        self.accepted: list[dict] = []
        self.requests = 0
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    body = json.loads(raw)
                    body["blocks"] = json.dumps(body.get("blocks"))
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                with api.lock:
                    api.requests += 1
                    failure = api.failures.pop(0) if api.failures else None
                if failure == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if failure in ("429", "500"):
                    self.send_response(int(failure))
                    if failure == "429":
                        self.send_header("Retry-After", "1")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                time.sleep(api.delay)
                with api.lock:
                    ts = f"1700000000.{len(api.accepted):06d}"
                payload = json.dumps({"ok": True, "ts": ts, "channel": body.get("channel")}).encode()
                message = {**body, "ts": ts}
                with api.lock:  # recorded before the answer, so the client never reads back a list without it
                    api.accepted.append(message)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    self.wfile.flush()
                except OSError:
                    with api.lock:  # the client went away before the answer: Slack would not have posted it either
                        api.accepted.remove(message)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def per_channel(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for message in self.accepted:
            kind = "thread" if message.get("thread_ts") else "summary"
            counts.setdefault(message["channel"], {"summary": 0, "thread": 0})[kind] += 1
        return counts


def copy_db(db, path):
    target = sqlite3.connect(path)
    db.conn.backup(target)
    target.close()
    return path


EXPECTED = {"C_E11": {"summary": 1, "thread": 1}, "C_G35": {"summary": 1, "thread": 1},
            "C_S62": {"summary": 1, "thread": 1}, "C_ANNOUNCE": {"summary": 1, "thread": 0}}


def test_retries_429_500_and_dropped_connection_then_delivers_once(watched_db, tmp_path):
    db = open_db(copy_db(watched_db, tmp_path / "alerts.db"))
    api = FlakyWebAPI(["429", "500", "drop"])
    result = deliver_pending(db, alert_client("xoxb-test", api.url, backoff=0.05))
    assert result == {"delivered": 4, "failed": 0}
    assert api.per_channel() == EXPECTED
    e11 = [m for m in api.accepted if m["channel"] == "C_E11"]
    assert e11[1]["thread_ts"] == e11[0]["ts"] and "E11.A" in e11[1]["blocks"]
    g35_thread = [m for m in api.accepted if m["channel"] == "C_G35" and m.get("thread_ts")][0]
    assert "use instead" in g35_thread["blocks"] and "G35.A" in g35_thread["blocks"]
    assert {r["status"] for r in db.query("SELECT status FROM outbox")} == {"delivered"}
    assert deliver_pending(db, alert_client("xoxb-test", api.url)) == {"delivered": 0, "failed": 0}
    assert api.per_channel() == EXPECTED  # a second pass posts nothing


def test_a_row_that_keeps_failing_stays_pending(watched_db, tmp_path):
    db = open_db(copy_db(watched_db, tmp_path / "failing.db"))
    api = FlakyWebAPI(["500"] * 40)
    result = deliver_pending(db, alert_client("xoxb-test", api.url, retries=1, backoff=0.01))
    assert result["delivered"] < 4 and result["failed"] >= 1
    assert db.execute("SELECT count(*) FROM outbox WHERE status != 'delivered'").fetchone()[0] == result["failed"]


@pytest.mark.parametrize("kill_after", [1, 3, 6])
def test_killed_worker_restarts_without_doubling(watched_db, tmp_path, kill_after):
    path = copy_db(watched_db, tmp_path / f"killed{kill_after}.db")
    api = FlakyWebAPI([], delay=0.4)
    env = {**os.environ, "MEDCODE_DB": str(path), "SLACK_BOT_TOKEN": "xoxb-test", "MEDCODE_SLACK_API_URL": api.url}
    worker = subprocess.Popen([sys.executable, "-m", "bot", "alerts", "deliver"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while api.requests < kill_after and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # inside the request the mock is answering slowly
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    api.delay = 0.0
    rerun = subprocess.run([sys.executable, "-m", "bot", "alerts", "deliver"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    assert api.per_channel() == EXPECTED
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {r[0] for r in check.execute("SELECT status FROM outbox")} == {"delivered"}
