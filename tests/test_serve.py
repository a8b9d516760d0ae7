"""HTTP mode with several processes: a replay is refused whichever process it reaches, a real
`medcode serve --http --processes 2` answers signed commands, and stopping it stops every process."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from bot.app import create_app
from bot.config import Settings
from bot.run import http_server
from handlers import Services

from .slack_mock import SlackMock, all_text
from .test_slack_http import SECRET, post

ROOT = Path(__file__).resolve().parents[1]


def serving(app) -> tuple[object, str]:
    server = http_server(app, 0, host="127.0.0.1")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/slack/events"


def test_a_replay_is_refused_by_another_process_sharing_the_store(icd_db_path, tmp_path):
    mock = SlackMock()
    settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
                        medcode_slack_api_url=mock.url + "/api/")
    store = tmp_path / "medcode.db.replay"
    # Two apps with their own memory, as two processes have: only the store is shared.
    first, first_url = serving(create_app(settings, Services(db_path=icd_db_path), replay_store=store))
    second, second_url = serving(create_app(settings, Services(db_path=icd_db_path), replay_store=store))
    try:
        form = urlencode({"command": "/icd", "text": "I10", "team_id": "T1", "user_id": "U1", "channel_id": "C1",
                          "trigger_id": "t", "response_url": f"{mock.url}/respond/shared"})
        timestamp = int(time.time())
        assert post(first_url, form, "application/x-www-form-urlencoded", timestamp=timestamp) == 200
        assert post(second_url, form, "application/x-www-form-urlencoded", timestamp=timestamp) == 401
        assert post(first_url, form, "application/x-www-form-urlencoded", timestamp=timestamp) == 401
        fresh = urlencode({"command": "/icd", "text": "I10", "team_id": "T1", "user_id": "U1", "channel_id": "C1",
                           "trigger_id": "t", "response_url": f"{mock.url}/respond/fresh"})
        assert post(second_url, fresh, "application/x-www-form-urlencoded") == 200  # a new request still passes
        time.sleep(0.5)
        assert len(mock.wait_for("/respond/shared")) == 1  # done once, not three times
    finally:
        first.shutdown()
        second.shutdown()
        mock.close()


def test_serve_with_two_processes_answers_and_stops_them_all(db_copy):
    mock = SlackMock()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MEDCODE_DB": str(db_copy), "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
           "MEDCODE_SLACK_API_URL": mock.url + "/api/"}
    env.pop("SLACK_APP_TOKEN", None)
    bot = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--http", "--processes", "2", "--port", str(port)],
                           env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        children = _children(bot.pid)
        assert len(children) == 1  # the first process and one copy
        url = f"http://127.0.0.1:{port}/slack/events"
        for n in range(6):
            form = urlencode({"command": "/icd", "text": "E11.9", "team_id": "T1", "user_id": "U1",
                              "channel_id": "C1", "trigger_id": "t", "response_url": f"{mock.url}/respond/p{n}"})
            assert post(url, form, "application/x-www-form-urlencoded") == 200
        for n in range(6):
            assert "E11.9" in all_text(mock.wait_for(f"/respond/p{n}")[0]["blocks"])
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=20)
        mock.close()
    time.sleep(0.5)
    assert all(not Path(f"/proc/{pid}").exists() or "Z" in _state(pid) for pid in children)


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
