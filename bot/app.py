"""The Bolt app: create_app(settings, services) wires the listeners of handlers/ and one error handler."""
from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import threading
import time
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from codedata.errors import MedcodeError
from handlers import Services, register_all
from handlers.answers import safe_error
from handlers.errors import what_to_do

from .config import Settings

log = logging.getLogger("medcode.slack")


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def quiet_sdk_logs() -> None:
    """slack_sdk and Bolt log request and response bodies at DEBUG: message text must never reach a log."""
    for name in ("slack_sdk", "slack_bolt"):
        logging.getLogger(name).setLevel(logging.WARNING)


def create_app(settings: Settings, services: Services, socket_mode: bool = False,
               replay_store: Path | None = None) -> App:
    """Return the Bolt app; HTTP mode verifies every request with the signing secret (and refuses replays,
    remembered in `replay_store` when several processes serve)."""
    quiet_sdk_logs()
    client = WebClient(token=_secret(settings.slack_bot_token),
                       base_url=settings.medcode_slack_api_url or WebClient.BASE_URL)
    secret = _secret(settings.slack_signing_secret)
    if not socket_mode and not secret:
        raise ValueError("HTTP mode needs SLACK_SIGNING_SECRET")
    app = TimedApp(client=client, signing_secret=secret, request_verification_enabled=not socket_mode,
                   token_verification_enabled=False, logger=log)
    seen = ReplayGuard(None if socket_mode else replay_store)
    if not socket_mode:
        app.use(seen)
    app.use(EventRetries(seen))
    app.use(ResponseUrls(settings.medcode_slack_api_url))

    @app.error
    def on_error(error, body):
        # The exception text may quote what the user typed (patient details): log its type only.
        if isinstance(error, SlackApiError):
            code = error.response.get("error") if error.response is not None else None
            log.warning("Slack API error %s on %s", code, _kind(body))
            tell_user(app.client, body, what_to_do(code))
        elif isinstance(error, MedcodeError):  # e.g. a button whose answer no longer exists: say so, one line
            log.warning("listener refused: %s on %s", type(error).__name__, _kind(body))
            tell_user(app.client, body, safe_error(error, str(error)))
        else:
            log.error("listener failed: %s on %s", type(error).__name__, _kind(body))
            if isinstance(body, dict):  # a payload medcode cannot read: one line, never silence or a trace
                tell_user(app.client, body, "medcode could not read that request. Try the command again.")

    register_all(app, services, on_error=on_error)
    return app


def tell_user(client: WebClient, body: dict, line: str) -> None:
    """Say `line` to the user who made the request, only to them: through the request's response_url when it has
    one (commands, buttons, shortcuts), else as an ephemeral message in the event's channel."""
    try:
        url = body.get("response_url") or next(iter(body.get("response_urls") or []), {}).get("response_url")
        if url:
            WebhookClient(url, timeout=10).send(text=f":warning: {line}", response_type="ephemeral",
                                                replace_original=False)
            return
        event = body.get("event") or {}
        channel, user = event.get("channel"), event.get("user") or (body.get("user") or {}).get("id")
        if channel and user:
            client.chat_postEphemeral(channel=channel, user=user, text=f":warning: {line}")
    except (SlackApiError, OSError) as exc:
        log.warning("could not tell the user about a Slack error: %s", type(exc).__name__)


class ReplayGuard:
    """Refuse a signed request seen before (same timestamp and signature) with 401.

    Bolt's signature check accepts any correctly signed request younger than 5 minutes, so an attacker who
    captured one could replay it; Slack signs its own retries afresh, so they pass (EventRetries deals with
    those). With several HTTP worker processes the keys seen are kept in a small SQLite file all of them share
    (`shared_path`), so a replay is refused whichever process it reaches; otherwise in memory. Keys are kept for
    WINDOW: longer than the 5-minute signature window, because Slack retries an event for up to about 6 minutes
    (at once, after 1 minute, after 5 minutes) and EventRetries keeps event ids in the same store.
    """

    WINDOW = 60 * 60

    def __init__(self, shared_path: Path | None = None) -> None:
        self.seen: set[str] = set()
        self.arrivals: deque[tuple[float, str]] = deque()  # (arrival time, key), oldest first
        self.lock = threading.Lock()
        self.shared_path = shared_path
        self._local = threading.local()
        self._added = 0
        if shared_path is not None:  # created now, on a connection closed at once: none may cross a fork
            with contextlib.closing(self._connect()) as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at REAL NOT NULL)")

    def __call__(self, request, next):  # noqa: A002 - Bolt passes the rest of the chain as `next`
        signature = (request.headers.get("x-slack-signature") or [""])[0]
        timestamp = (request.headers.get("x-slack-request-timestamp") or [""])[0]
        if signature and not self.first_time(f"{timestamp}:{signature}", time.time()):
            log.warning("refused a replayed request")
            return BoltResponse(status=401, body="")
        return next()

    def first_time(self, key: str, now: float) -> bool:
        """Record `key`; False when it was seen within the window."""
        if self.shared_path is not None:
            return self._first_time_shared(key, now)
        with self.lock:
            while self.arrivals and now - self.arrivals[0][0] > self.WINDOW:
                self.seen.discard(self.arrivals.popleft()[1])
            if key in self.seen:
                return False
            self.seen.add(key)
            self.arrivals.append((now, key))
            return True

    def _first_time_shared(self, key: str, now: float) -> bool:
        conn = self._shared()
        with conn:
            added = conn.execute("INSERT OR IGNORE INTO seen (key, at) VALUES (?, ?)", [key, now]).rowcount
            self._added += 1
            if self._added % 1000 == 0:
                conn.execute("DELETE FROM seen WHERE at < ?", [now - self.WINDOW])
        return bool(added)

    def _shared(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:  # one connection per thread, opened by the process that uses it
            conn = self._local.conn = self._connect()
        return conn

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.shared_path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")  # a lost replay record after a power cut costs nothing
        conn.isolation_level = "DEFERRED"
        return conn


class EventRetries:
    """Acknowledge a retry of an Events API event already received (same event_id), without handling it again.

    Slack retries an event it did not see acknowledged within 3 seconds, with the same event_id and an
    X-Slack-Retry-Num header (in Socket Mode, a new envelope with retry_attempt). The first delivery was
    acknowledged and is being answered, so a retry is answered 200 and dropped; the event ids live in the
    replay store, shared by every HTTP process.
    """

    def __init__(self, store: ReplayGuard) -> None:
        self.store = store

    def __call__(self, body, request, next):  # noqa: A002 - Bolt passes the rest of the chain as `next`
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not self.store.first_time(f"event:{event_id}", time.time()):
            retry = (request.headers.get("x-slack-retry-num") or [""])[0]
            log.info("acknowledged a repeated event (retry %s) without handling it again", retry or "?")
            return BoltResponse(status=200, body="")
        return next()


class ResponseUrls:
    """Refuse (400) a request whose response_url is not Slack's: medcode posts answers there, so a forged one
    would make the bot send codes (or anything it answers) to an address of the sender's choosing. Slack's are
    https://hooks.slack.com/...; a test mock's host (MEDCODE_SLACK_API_URL) is allowed too."""

    def __init__(self, api_url: str | None) -> None:
        mock = urlsplit(api_url) if api_url else None
        self.mock = (mock.scheme, mock.netloc) if mock else None

    def allowed(self, url) -> bool:
        if not isinstance(url, str) or any(ch.isspace() for ch in url):
            return False  # " https://hooks.slack.com/x" passed urlsplit, then the SDK refused it: no answer at all
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:  # a port that is not a number
            return False
        slacks = parts.scheme == "https" and parts.hostname == "hooks.slack.com" and port in (None, 443) \
            and not parts.username
        return slacks or (self.mock is not None and (parts.scheme, parts.netloc) == self.mock)

    def __call__(self, body, next):  # noqa: A002 - Bolt passes the rest of the chain as `next`
        urls = [body.get("response_url")] + [u.get("response_url") for u in body.get("response_urls") or []
                                             if isinstance(u, dict)]
        if any(url is not None and not self.allowed(url) for url in urls):
            log.warning("refused a request whose response_url is not Slack's (%s)", _kind(body))
            return BoltResponse(status=400, body="")
        return next()


SAFE_ID = re.compile(r"[A-Za-z0-9_./-]{1,40}")


def _safe(value) -> str | None:
    """An id or a command name as logged: Slack's are short words; anything else (a forged newline, a name) is "?"."""
    return value if value is None or isinstance(value, str) and SAFE_ID.fullmatch(value) else "?"


def _field(body: dict, key: str, inner: str):
    """body[key][inner] when body[key] is an object (Slack's shape), body[key] when it is a string, else None."""
    value = body.get(key)
    return value.get(inner) if isinstance(value, dict) else value if isinstance(value, str) else None


def _kind(body: dict) -> str:
    return _safe(body.get("command") or _field(body, "event", "type") or body.get("type")) or "request"


class TimedApp(App):
    """Bolt's App, logging each request: what kind it was, who sent it (ids) and how long Slack waited for the
    acknowledgement; never its text.

    A global middleware cannot time this (Bolt's `next()` only marks the chain as continuing and returns at
    once, so every request logged 0.0 ms); dispatch() is where both the HTTP adapter and Socket Mode hand a
    request to Bolt, and it returns when the listener has acknowledged.
    """

    @property
    def signing_secret(self) -> str | None:
        return self._signing_secret or None

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        started = time.perf_counter()
        response = super().dispatch(req)
        if response.status == 404:
            # A signed request of a kind no listener matches (an interaction type Slack may add, a form without a
            # command) is acknowledged, as handlers.unknown does for the kinds Bolt routes: never Bolt's 404.
            response = BoltResponse(status=200, body="")
        body = req.body if isinstance(req.body, dict) else {}
        event = body.get("event") if isinstance(body.get("event"), dict) else {}
        user = body.get("user_id") or _field(body, "user", "id") or event.get("user")
        log.info("%s team=%s user=%s status=%s %.1f ms", _kind(body),
                 _safe(body.get("team_id") or _field(body, "team", "id")), _safe(user), response.status,
                 (time.perf_counter() - started) * 1000)
        return response
