"""/icd, /cpt and /pair: ack at once, answer ephemerally with a Share button; /pair alone opens the form."""
from __future__ import annotations

from codedata.errors import MedcodeError

from . import Services, blocks
from .answers import answer

COMMANDS = {"/icd": "icd", "/cpt": "cpt", "/pair": "pair"}


def register(app, services: Services) -> None:
    for name, kind in COMMANDS.items():
        app.command(name)(_listener(services, kind))


def _listener(services: Services, kind: str):
    def handle_command(ack, command, respond, client):
        ack()
        text = (command.get("text") or "").strip()
        if kind == "pair" and not text:
            client.views_open(trigger_id=command["trigger_id"], view=blocks.claim_modal())
            return
        if not text or text.lower() in ("help", "?"):
            respond(response_type="ephemeral", blocks=blocks.message(blocks.HELP), text="medcode help")
            return
        try:
            reply = answer(services, kind, text)
        except MedcodeError as exc:
            reply = blocks.message(f":warning: {blocks.escape(str(exc))}\nType `/{kind} help` for examples.")
        respond(response_type="ephemeral", blocks=reply, text=blocks.fallback_text(reply))

    handle_command.__name__ = f"handle_{kind}"
    return handle_command
