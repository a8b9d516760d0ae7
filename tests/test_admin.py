"""Administrators in Slack: importing an official release from its address and announcing a release, through
the real Bolt HTTP adapter with signed requests; everyone else is refused and nothing changes."""
from __future__ import annotations

import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.alerts import alert_client, deliver_pending
from bot.app import create_app
from bot.config import Settings
from bot.run import http_server
from codedata.db import open_db
from codedata.errors import BadReleaseFile
from codedata.importers.fetch import fetch
from handlers import Services

from .conftest import shared_file
from .slack_mock import SlackMock, all_text
from .test_slack_http import SECRET, command

ADMIN = "UADMIN"
HCPCS_2020 = "HCPC2020_ANWEB_w_disclaimer.txt.xz"  # the official January 2020 file, as CMS names it


class FileServer:
    """Serves a folder on loopback, like cms.gov serves release files; records what was downloaded."""

    def __init__(self, folder):
        self.requested: list[str] = []
        served = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):
                served.requested.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def admin_slack(db_copy, tmp_path):
    folder = tmp_path / "cms"
    folder.mkdir()
    shutil.copy(shared_file("hcpcs", "2020", HCPCS_2020), folder / HCPCS_2020)
    (folder / "HCPC2021_ANWEB.txt").write_bytes(b"\x00\x01 this is not a HCPCS file \xff" * 100)
    mock, files = SlackMock(), FileServer(folder)
    settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
                        medcode_slack_api_url=mock.url + "/api/")
    app = create_app(settings, Services(db_path=db_copy, admins=frozenset({ADMIN})))
    server = http_server(app, 0, host="127.0.0.1")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield (mock, f"http://127.0.0.1:{server.server_port}/slack/events"), files, open_db(db_copy)
    server.shutdown()
    files.server.shutdown()
    mock.close()


def replies(slack, tag: str, count: int, timeout: float = 10.0) -> list[str]:
    return [all_text(r["blocks"]) for r in slack[0].wait_for(f"/respond/{tag}", count=count, timeout=timeout)]


def hcpcs_releases(db) -> list[tuple]:
    return db.execute("SELECT label, current FROM releases WHERE system = 'hcpcs' ORDER BY id").fetchall()


def test_an_administrator_imports_an_official_file_from_its_address(admin_slack):
    slack, files, db = admin_slack
    before = hcpcs_releases(db)
    assert command(slack, "/cpt", f"import hcpcs <{files.url}/{HCPCS_2020}>", "imp", user_id=ADMIN) == 200
    started, done = replies(slack, "imp", 2, timeout=120)
    assert "Importing hcpcs" in started
    assert "Imported hcpcs release 2020-01 from HCPC2020_ANWEB_w_disclaimer.txt" in done
    assert "kept for history" in done  # July 2024 is newer and stays current
    assert hcpcs_releases(db) == before + [("2020-01", 0)]
    assert files.requested == [f"/{HCPCS_2020}"]


def test_one_import_at_a_time_across_processes(admin_slack, db_copy):
    import fcntl

    slack, files, db = admin_slack
    with open(f"{db_copy}.import-lock", "a") as held:  # as another bot process does while it imports
        fcntl.flock(held, fcntl.LOCK_EX)
        command(slack, "/cpt", f"import hcpcs {files.url}/{HCPCS_2020}", "busy", user_id=ADMIN)
        assert "already running" in replies(slack, "busy", 1)[0]
    assert files.requested == []


def test_everyone_else_is_refused_and_nothing_is_downloaded_or_stored(admin_slack):
    slack, files, db = admin_slack
    before = hcpcs_releases(db)
    command(slack, "/cpt", f"import hcpcs {files.url}/{HCPCS_2020}", "noimp")
    command(slack, "/icd", "announce", "noann", channel="C77")
    assert "for administrators" in replies(slack, "noimp", 1)[0]
    assert "for administrators" in replies(slack, "noann", 1)[0]
    assert files.requested == []
    assert hcpcs_releases(db) == before
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


@pytest.mark.parametrize("text, reason", [
    ("import hcpcs {url}/HCPC2021_ANWEB.txt", "Import failed"),
    ("import hcpcs {url}/HCPC2022_ANWEB.txt", "HTTP 404"),
    ("import hcpcs file:///etc/passwd", "Say which release to import"),
    ("import hcpcs", "Say which release to import"),
    # fifth black-box pass: a word that is no system was skipped over, credentials were repeated back
    ("import bogus {url}/HCPC2022_ANWEB.txt", "Say which release to import"),
    ("import hcpcs https://user:secretpw@example.org/HCPC2024.zip", "user name or password is refused"),
])
def test_a_bad_file_or_address_gets_one_line_and_the_current_release_stays(admin_slack, text, reason):
    slack, files, db = admin_slack
    before = hcpcs_releases(db)
    command(slack, "/cpt", text.format(url=files.url), "bad", user_id=ADMIN)
    fetched = "{url}" in text and "bogus" not in text
    answers = replies(slack, "bad", 2 if fetched else 1, timeout=120)
    assert reason in answers[-1] and "secretpw" not in answers[-1] and "bogus" not in answers[-1]
    if fetched:
        assert "previous release is still current" in answers[-1]
        assert "Traceback" not in answers[-1] and len(answers[-1].splitlines()) == 2
    assert hcpcs_releases(db) == before


def test_a_download_over_the_size_cap_is_refused_and_not_kept(admin_slack, tmp_path):
    _, files, _ = admin_slack
    folder = tmp_path / "downloads"
    folder.mkdir()
    with pytest.raises(BadReleaseFile, match="is larger than"):
        fetch(f"{files.url}/{HCPCS_2020}", folder, max_bytes=100_000)  # the real file is 231 kB
    assert list(folder.iterdir()) == []
    whole = fetch(f"{files.url}/{HCPCS_2020}", folder)  # under the default cap, kept under the publisher's name
    assert whole.name == HCPCS_2020
    assert whole.read_bytes() == shared_file("hcpcs", "2020", HCPCS_2020).read_bytes()


def test_an_administrator_announces_the_current_release_once_per_channel(admin_slack):
    slack, _, db = admin_slack
    command(slack, "/icd", "announce", "ann1", channel="C77", user_id=ADMIN)
    assert "will post the summary of icd10cm release 2026-04" in replies(slack, "ann1", 1)[0]
    command(slack, "/icd", "announce", "ann2", channel="C77", user_id=ADMIN)
    assert "already announced in this channel" in replies(slack, "ann2", 1)[0]
    assert deliver_pending(db, alert_client("xoxb-test", slack[0].url + "/api/")) == {"delivered": 1, "failed": 0}
    posted = slack[0].wait_for("chat.postMessage", channel="C77")
    assert len(posted) == 1 and "2026-04" in all_text(posted[0]["blocks"])
