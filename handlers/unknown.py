"""Requests no other listener takes: registered last, so they only see what the surfaces left.

Bolt answers a request no listener matches with 404 ("unhandled request"). Slack reads that as a failure: it
retries events and disables an events subscription that fails too often, and a person who pressed a button of an
older medcode version (or a forged one) sees nothing. Here each is acknowledged; a person gets one line through
the request's response_url when it has one. Nothing of the request is repeated or logged.
"""
from __future__ import annotations

import re

from . import Services

ANY = re.compile(r".*", re.DOTALL)
OLD_BUTTON = ("That button is not one this version of medcode knows (the message may be from an older version). "
              "Run the command again: /icd, /cpt or /pair.")
OLD_COMMAND = "medcode answers /icd, /cpt and /pair. Type one of them with help to see what it takes."


def register(app, services: Services) -> None:  # noqa: ARG001 - the same signature as every surface
    def unknown_action(ack, body, respond):
        ack()
        if body.get("response_url"):  # a button in a message (the Home tab has none)
            respond(text=OLD_BUTTON, response_type="ephemeral", replace_original=False)

    def unknown_command(ack):
        ack(text=OLD_COMMAND)

    def acknowledge(ack):
        ack()

    def no_options(ack):
        ack(options=[])

    app.action(ANY)(unknown_action)
    app.command(ANY)(unknown_command)
    app.view(ANY)(acknowledge)
    app.view_closed(ANY)(acknowledge)
    app.shortcut(ANY)(acknowledge)
    app.options(ANY)(no_options)
    app.event(ANY)(acknowledge)
