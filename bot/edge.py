"""The HTTP edge in front of Bolt's WSGI adapter: a size cap, the signature check, and a well-formed body.

Bolt's adapter reads any body whole, and a correctly signed body that is not JSON or form data (or a
timestamp that is not a number) raised inside it: HTTP 500. Here every request gets a definite answer before
Bolt sees it:

- 413 when the body is larger than MAX_BODY (by Content-Length, before reading it; or while reading a chunked
  body), so a client cannot make a process read and hash megabytes;
- 401 when the timestamp is missing, not a number or older than five minutes, or the signature is wrong;
- 400 when a correctly signed body is not what Slack sends: not UTF-8, JSON that is not an object, form data
  that does not parse, or a `payload` field that is not a JSON object.

MAX_BODY is 256 KiB. The largest requests Slack sends are message shortcuts and view submissions: a shortcut
carries the whole message, whose text Slack caps at 40,000 characters, once as text and again inside its
rich_text blocks, percent-encoded in a form field (about 2 x 40,000 x 1.5 = 120 KB for plain text, more for
punctuation-heavy or non-ASCII text); slash commands carry at most a few kilobytes. 256 KiB leaves room for the
worst real message and refuses the 1 MB bodies that only an attacker sends.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from urllib.parse import parse_qs

from handlers.parsing import SLACK_ID


log = logging.getLogger("medcode.http")

MAX_BODY = 256 * 1024


def _reply(start_response, status: str, text: str) -> list[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def well_formed(body: bytes, content_type: str) -> bool:
    """True when `body` parses as what Slack sends with this content type."""
    try:
        text = body.decode("utf-8")
        if "application/json" in content_type:
            return _shaped(json.loads(text))
        form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
        if "payload" in form:
            return _shaped(json.loads(form["payload"][0]))
        # a slash command: its ids as Slack sends them
        return all(_id_shaped(form[key][0]) for key in ("user_id", "team_id", "channel_id") if form.get(key))
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSON nested thousands deep is not Slack's
        return False


OBJECTS = ("user", "team", "channel", "enterprise", "container", "message", "view", "event")
IDS = ("user", "team", "channel", "enterprise")


def _id_shaped(value) -> bool:
    if isinstance(value, dict):
        value = value.get("id")
    return value is None or isinstance(value, str) and bool(SLACK_ID.fullmatch(value))


def _shaped(payload) -> bool:
    """The fields Bolt itself reads before any listener runs (it fails with a 500 without them): a view
    submission's view and its type, a block action's list of actions."""
    if not isinstance(payload, dict):
        return False
    # Bolt reads the ids of these as an object with an "id" or as a plain string: anything else made it raise
    if any(key in payload and not isinstance(payload[key], (dict, str)) for key in OBJECTS):
        return False
    if not all(_id_shaped(payload.get(key)) for key in IDS + ("user_id", "team_id", "channel_id")):
        return False
    kind = payload.get("type")
    if kind == "event_callback":
        event = payload.get("event")
        if not isinstance(event, dict) or not all(_id_shaped(event.get(key)) for key in ("user", "channel")):
            return False
        if not isinstance(event.get("text", ""), str):
            return False
    if kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        return isinstance(view, dict) and isinstance(view.get("type"), str)
    if kind == "block_actions":
        return isinstance(payload.get("actions"), list) and all(isinstance(a, dict) for a in payload["actions"])
    return True


class RequestGuard:
    """WSGI middleware: cap, verify and check a Slack request, then hand Bolt's adapter the body it read."""

    def __init__(self, app, signing_secret: str, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.secret = signing_secret.encode()
        self.max_body = max_body

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        body = self._read(environ)
        if body is None:
            log.warning("refused an oversized request")
            return _reply(start_response, "413 Payload Too Large", "Request body too large")
        if not self.signed(body, environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "",
                           environ.get("HTTP_X_SLACK_SIGNATURE") or ""):
            return _reply(start_response, "401 Unauthorized", "")
        if not well_formed(body, environ.get("CONTENT_TYPE") or ""):
            log.warning("refused a signed request with a malformed body")
            return _reply(start_response, "400 Bad Request", "Malformed request body")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    def signed(self, body: bytes, timestamp: str, signature: str) -> bool:
        """Slack's v0 signature over the raw bytes (slack_sdk's verifier decodes the body as UTF-8 first, and
        raised on binary), with a timestamp that is a number within five minutes of now."""
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return False
        if abs(time.time() - int(timestamp)) > 5 * 60:
            return False
        expected = "v0=" + hmac.new(self.secret, b"v0:" + timestamp.encode() + b":" + body,
                                    hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def _read(self, environ) -> bytes | None:
        """The body, or None when it is larger than the cap (by its declared length or as read)."""
        stream = environ["wsgi.input"]
        declared = environ.get("CONTENT_LENGTH") or ""
        if declared:
            try:
                length = int(declared)
            except ValueError:
                return None if len(declared) > 12 else b""
            if length > self.max_body:
                return None
            return stream.read(length) if length > 0 else b""
        if "chunked" not in (environ.get("HTTP_TRANSFER_ENCODING") or "").lower():
            return b""  # neither a length nor chunks: no body
        body = stream.read(self.max_body + 1)  # the server de-chunks; read one byte past the cap
        return None if len(body) > self.max_body else body
