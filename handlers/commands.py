"""/icd, /cpt and /pair: ack at once, answer ephemerally with a Share button; /pair alone opens the form."""
from __future__ import annotations

import re

from codedata import watches
from codedata.errors import BadInput, MedcodeError
from codedata.releases import changes_between, diff_pair

from . import Services, admin, blocks
from .answers import answer, safe_error

CODE_OR_PREFIX = re.compile(r"^[A-Za-z]?\d[0-9A-Za-z]{0,2}(?:\.?[0-9A-Za-z]{0,4})?$")  # E11, E11.9, 9921, J17
SUBCOMMANDS = ("watch", "unwatch", "watches", "changes", "import", "announce")

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
            reply = subcommand(services, kind, text, command, respond) or answer(services, kind, text)
        except MedcodeError as exc:
            reply = blocks.message(f":warning: {blocks.escape(safe_error(exc, text))}\n"
                                   f"Type `/{kind} help` for examples.")
        respond(response_type="ephemeral", blocks=reply, text=blocks.fallback_text(reply))

    handle_command.__name__ = f"handle_{kind}"
    return handle_command


def subcommand(services: Services, kind: str, text: str, command: dict, respond) -> list[dict] | None:
    """watch / unwatch / watches / changes, and the administrators' import / announce; None when the text is an
    ordinary lookup or search."""
    word, _, rest = text.partition(" ")
    word, rest = word.lower(), rest.strip()
    if kind == "pair" or word not in SUBCOMMANDS:
        return None
    if word == "import":
        return admin.start_import(services, kind, rest, command, respond)
    if word == "announce":
        return admin.announce(services, kind, rest, command)
    db, channel = services.db(), command.get("channel_id", "")
    system = "icd10cm" if kind == "icd" else ("hcpcs" if rest[:1].isalpha() else "cpt")
    if word == "watches":
        rows = watches.list_watches(db, channel)
        lines = "\n".join(f"• {r['system']} {r['kind']} `{blocks.escape(r['display'])}`" for r in rows)
        return blocks.message(f"*Watches in this channel*\n{lines}" if rows else "This channel watches no codes.")
    if word == "changes":
        if rest and not CODE_OR_PREFIX.match(rest):
            # "/icd changes kowalski" answered "No changes to that code" as if a name were a code
            raise BadInput("changes takes a code or the start of one, e.g. `changes E11` or `changes 9921`")
        old, new = diff_pair(db, system)
        rows = changes_between(db, old, new, rest.upper().replace(".", "") or None)
        if not rows:  # what was typed is not repeated: it may not be a code
            return blocks.message(f"No changes{' to that code' if rest else ''} from {old['label']} to {new['label']}.")
        return blocks.alert_details(rows, new, old["label"])
    if not rest:
        return blocks.message(f"Say what to {word}: a code (E11.9), a prefix (E11*), a subtree (E11) or a system.")
    if word == "unwatch":
        removed = watches.remove_watch(db, channel, rest, system)
        return blocks.message(f"Stopped watching `{blocks.escape(rest)}`." if removed else  # a stored pattern
                              "This channel was not watching that.")
    return watch(services, channel, rest, system, command.get("user_id"))


def watch(services: Services, channel: str, text: str, system: str, user: str | None) -> list[dict]:
    """Add a watch for `/icd watch` and the "Watch this code" button alike: a whole code system is for
    administrators, whatever the request says."""
    _, kind, _ = watches.parse_pattern(text, system)
    if kind == "system" and user not in services.admins:
        return blocks.message(":lock: Watching a whole code system is for administrators (MEDCODE_ADMINS).")
    added = watches.add_watch(services.db(), channel, text, system, user)
    return blocks.message(f":eyes: This channel now watches {added['system']} {added['kind']} "
                          f"`{blocks.escape(added['display'])}`: when a new release changes it, medcode posts here.")
