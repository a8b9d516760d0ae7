"""Channel questions: @medcode mentions and the "Check codes in this message" shortcut, answered in thread."""
from __future__ import annotations

import re

from codedata.errors import MedcodeError

from . import Services, blocks
from .answers import answer_free_text

MENTION = re.compile(r"<@[A-Z0-9]+>")


def register(app, services: Services) -> None:
    def handle_mention(event, say):
        text = MENTION.sub(" ", event.get("text") or "")
        reply = _reply(services, text)
        say(blocks=reply, text=blocks.fallback_text(reply), thread_ts=event.get("thread_ts") or event["ts"])

    def handle_shortcut(ack, shortcut, client):
        ack()
        message = shortcut.get("message") or {}
        reply = _reply(services, MENTION.sub(" ", message.get("text") or ""))
        client.chat_postMessage(channel=shortcut["channel"]["id"], thread_ts=message.get("thread_ts") or message["ts"],
                                blocks=reply, text=blocks.fallback_text(reply))

    app.event("app_mention")(handle_mention)
    app.shortcut("check_codes")(handle_shortcut)


def _reply(services: Services, text: str) -> list[dict]:
    if not text.strip():
        return blocks.message(blocks.HELP)
    try:
        return answer_free_text(services, text)
    except MedcodeError as exc:
        return blocks.message(f":warning: {blocks.escape(str(exc))}")
