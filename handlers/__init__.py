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

    for surface in (commands, mentions, actions, home):
        surface.register(app, services)
