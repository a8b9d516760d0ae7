"""Slack adapter: listeners per surface, text parsing, Block Kit building. `register_all` wires every surface."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from codedata.db import open_db


@dataclass
class Services:
    """What listeners need: a database connection per thread, and the organisation's policy folders."""

    db_path: Path
    policy_dirs: tuple[Path, ...] = ()
    admins: frozenset[str] = frozenset()  # Slack user ids allowed to run admin actions (MEDCODE_ADMINS)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def db(self) -> sqlite_utils.Database:
        if getattr(self._local, "db", None) is None:
            self._local.db = open_db(self.db_path)
        return self._local.db


def register_all(app, services: Services, on_error=None) -> None:
    """Attach every listener to a Bolt app (nothing registers itself on import). With `on_error(error, body)`,
    a listener that fails is acknowledged and reported through it, never left to Bolt (see _Guarded)."""
    from . import actions, commands, home, mentions, unknown

    app.use(normalise_input)
    target = _Guarded(app, on_error) if on_error else app
    for surface in (commands, mentions, actions, home, unknown):  # unknown last: what no other listener took
        surface.register(target, services)


class _Guarded:
    """The app as the surfaces see it: every listener they register is wrapped so that an exception is handled
    here. Bolt's own path has a race: a listener that acknowledges and then raises has its acknowledgement reset
    (slack_bolt 1.x thread_runner sets ack.response to None), so Slack got a 404 after 3 s instead of 200."""

    REGISTRARS = ("action", "view", "command", "event", "shortcut", "options", "message")

    def __init__(self, app, on_error) -> None:
        self._app, self._on_error = app, on_error

    def __getattr__(self, name):
        attribute = getattr(self._app, name)
        if name not in self.REGISTRARS:
            return attribute

        def register(*args, **kwargs):
            decorator = attribute(*args, **kwargs)
            return lambda listener: decorator(_guard(listener, self._on_error))
        return register


def _guard(listener, on_error):
    """`listener` with its exceptions acknowledged and reported; Bolt injects arguments by name, so the wrapper
    shows Bolt the listener's parameters plus `ack` and `body`, and passes on only what the listener takes."""
    import functools
    import inspect

    signature = inspect.signature(listener)
    wanted = set(signature.parameters)
    extra = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)
             for n in ("ack", "body") if n not in wanted]

    @functools.wraps(listener)
    def guarded(**kwargs):
        try:
            return listener(**{k: v for k, v in kwargs.items() if k in wanted})
        except Exception as error:  # noqa: BLE001 - every failure is reported through on_error, one line
            ack = kwargs.get("ack")
            if ack is not None and getattr(ack, "response", None) is None:
                ack()
            on_error(error, kwargs.get("body") or {})

    guarded.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *extra])
    del guarded.__wrapped__  # Bolt reads the signature above, not the listener's
    return guarded


def normalise_input(body, next):  # noqa: A002 - Bolt passes the rest of the chain as `next`
    """Bolt middleware: what people typed is normalised once, at the edge (parsing.normalise), for every surface
    (slash command text, event text, a shortcut's message) in both HTTP and Socket Mode."""
    from .parsing import normalise

    if isinstance(body.get("text"), str):
        body["text"] = normalise(body["text"]).strip()
    for key in ("event", "message"):
        inner = body.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("text"), str):
            inner["text"] = normalise_keep_mentions(inner["text"])
    return next()


def normalise_keep_mentions(text: str) -> str:
    """Normalise event text but keep user mentions (<@U…>) for the listeners that read them."""
    import re

    from .parsing import normalise

    parts = re.split(r"(<@[A-Z0-9]+>)", text)
    return "".join(p if p.startswith("<@") else normalise(p) for p in parts)
