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


def register_all(app, services: Services) -> None:
    """Attach every listener to a Bolt app (nothing registers itself on import)."""
    from . import actions, commands, home, mentions

    app.use(normalise_input)
    for surface in (commands, mentions, actions, home):
        surface.register(app, services)


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
