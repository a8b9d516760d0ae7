"""`medcode manifest`: the Socket Mode manifest is manifest.yml; the HTTP-mode one names a request URL for
every surface (slash commands, events, interactivity and the options load URL the claim form's typeahead
needs), and that URL is the path the real Bolt adapter answers on."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import yaml
from click.testing import CliRunner

from bot.app import create_app
from bot.cli import main
from bot.config import Settings
from bot.run import http_server
from handlers import Services

from .slack_mock import SlackMock, all_text
from .test_slack_http import SECRET, post

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str):
    return CliRunner().invoke(main, ["manifest", *args])


def test_the_default_manifest_is_manifest_yml():
    result = run()
    assert result.exit_code == 0
    assert yaml.safe_load(result.output) == yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert yaml.safe_load(result.output)["settings"]["socket_mode_enabled"] is True


def test_the_http_manifest_names_every_request_url():
    result = run("--http", "https://medcode.example.org/")
    assert result.exit_code == 0
    data = yaml.safe_load(result.output)
    url = "https://medcode.example.org/slack/events"
    assert [c["url"] for c in data["features"]["slash_commands"]] == [url, url, url]
    assert data["settings"]["event_subscriptions"]["request_url"] == url
    assert data["settings"]["interactivity"]["request_url"] == url
    assert data["settings"]["interactivity"]["message_menu_options_url"] == url
    assert data["settings"]["socket_mode_enabled"] is False
    # A prefix behind a proxy is kept; a full endpoint URL is not doubled.
    prefixed = yaml.safe_load(run("--http", "https://example.org/bots/medcode").output)
    assert prefixed["settings"]["event_subscriptions"]["request_url"] == "https://example.org/bots/medcode/slack/events"
    full = yaml.safe_load(run("--http", "https://example.org/slack/events").output)
    assert full["settings"]["interactivity"]["request_url"] == "https://example.org/slack/events"


def test_an_address_slack_would_refuse_gets_one_line_and_exit_2():
    for bad in ("http://medcode.example.org", "medcode.example.org", "https://"):
        result = run("--http", bad)
        assert result.exit_code == 2 and "public https address" in result.output
        assert "Traceback" not in result.output


def test_the_manifest_request_url_is_where_the_bolt_adapter_answers(icd_db_path):
    mock = SlackMock()
    settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
                        medcode_slack_api_url=mock.url + "/api/")
    server = http_server(create_app(settings, Services(db_path=icd_db_path)), 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        data = yaml.safe_load(run("--http", "https://medcode.example.org").output)
        path = urlsplit(data["features"]["slash_commands"][0]["url"]).path
        form = urlencode({"command": "/icd", "text": "E11.9", "team_id": "T1", "user_id": "U1", "channel_id": "C1",
                          "trigger_id": "t", "response_url": f"{mock.url}/respond/manifest"})
        assert post(f"http://127.0.0.1:{server.server_port}{path}", form, "application/x-www-form-urlencoded") == 200
        assert "Type 2 diabetes" in all_text(mock.wait_for("/respond/manifest")[0]["blocks"])
        wrong = post(f"http://127.0.0.1:{server.server_port}/elsewhere", form, "application/x-www-form-urlencoded",
                     timestamp=int(time.time()) - 1)
        assert wrong == 404
    finally:
        server.shutdown()
        server.server_close()
        mock.close()
