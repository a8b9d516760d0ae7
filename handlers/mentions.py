"""Channel questions: @medcode mentions (answered in the thread) and the "Check codes in this message" shortcut
(answered only to the person who used it, with a Share button)."""
from __future__ import annotations

import re

from codedata.errors import MedcodeError

from . import Services, blocks
from .answers import answer_free_text, safe_error

MENTION = re.compile(r"<@[A-Z0-9]+>")


def register(app, services: Services) -> None:
    def handle_mention(event, say):
        if event.get("bot_id") or event.get("subtype") == "bot_message":
            return  # another bot (or medcode itself) mentioning medcode: answering could start a loop
        text = MENTION.sub(" ", event.get("text") or "")
        reply = _reply(services, text)
        say(blocks=reply, text=blocks.fallback_text(reply), thread_ts=event.get("thread_ts") or event["ts"])

    def handle_shortcut(ack, shortcut, respond):
        ack()
        message = shortcut.get("message") or {}
        reply = _reply(services, MENTION.sub(" ", message.get("text") or ""), shared=False)
        respond(response_type="ephemeral", replace_original=False, blocks=reply, text=blocks.fallback_text(reply))

    app.event("app_mention")(handle_mention)
    app.shortcut("check_codes")(handle_shortcut)


def _reply(services: Services, text: str, shared: bool = True) -> list[dict]:
    if not text.strip():
        return blocks.message(blocks.HELP)
    try:
        return answer_free_text(services, text, shared=shared)
    except MedcodeError as exc:
        return blocks.message(f":warning: {blocks.escape(safe_error(exc, text))}")
