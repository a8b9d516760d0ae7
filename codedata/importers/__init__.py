"""Importers for official code-release files, one module per format family; `import_release` dispatches."""
from __future__ import annotations

import csv
import time
import zipfile
from pathlib import Path

import sqlite_utils

from ..errors import BadReleaseFile, UnknownSystem
from ..releases import store_diff, stored_changes
from ..watches import queue_alerts
from ..models import ImportResult
from . import cpt, hcpcs, icd10cm, mcd, ncci
from .common import Progress, store_release

SYSTEMS = {"icd10cm": icd10cm, "hcpcs": hcpcs, "cpt": cpt, "ncci": ncci, "mcd": mcd}


PARTIAL_SHARE = 0.5  # a new release that keeps less than this share of the current one's billable codes
PARTIAL_FLOOR = 100  # ... when the current one has at least this many


def _refuse_partial(db: sqlite_utils.Database, previous: dict, new: dict, name: str) -> None:
    """A code set file that would drop most of the current release is part of a release (a three-code CPT file
    would report the rest of the set deleted and alert every watching channel): refused, nothing changed. No
    official ICD-10-CM, HCPCS or CPT update removes half its codes."""
    billable = "SELECT code FROM codes WHERE release_id = ? AND billable = 1"
    before = db.execute(f"SELECT count(*) FROM ({billable})", [previous["id"]]).fetchone()[0]
    if before < PARTIAL_FLOOR:
        return
    kept = db.execute(f"SELECT count(*) FROM ({billable}) WHERE code IN (SELECT code FROM codes WHERE release_id = ?)",
                      [previous["id"], new["id"]]).fetchone()[0]
    if kept < PARTIAL_SHARE * before:
        raise BadReleaseFile(f"{name} keeps {kept:,} of the {before:,} billable codes of release {previous['label']}: "
                             f"it looks like part of a release, so nothing was imported and {previous['label']} "
                             "stays current")


def import_release(
    db: sqlite_utils.Database,
    system: str,
    path: str | Path,
    label: str | None = None,
    effective: str | None = None,
    progress: Progress | None = None,
    announce_channel: str | None = None,
) -> ImportResult:
    """Import one official release file of `system`; a file already imported is a no-op.

    When the release becomes current, its diff against the previous current release is stored and alerts
    are queued for the channels watching changed codes, in the same transaction.
    """
    module = SYSTEMS.get(system)
    if module is None:
        raise UnknownSystem(f"unknown code system {system!r}; choose one of: {', '.join(SYSTEMS)}")
    started = time.perf_counter()

    def diff_and_alert(db_, previous: dict, new: dict) -> None:
        if system != "cpt":  # CPT files are layered over each other and the starter set (procedures.py)
            _refuse_partial(db_, previous, new, Path(path).name)
        store_diff(db_, previous, new)
        queue_alerts(db_, new, stored_changes(db_, previous["id"], new["id"]), announce_channel)

    try:
        release, source = module.load(path, label=label, effective=effective)
        if hasattr(module, "prepare"):  # steps that need the database, e.g. expanding code ranges
            module.prepare(db, release)
        # Rows may stream from the file into the insert: a reader error there rolls the transaction back.
        result = store_release(db, release, source, progress=progress, on_new_current=diff_and_alert)
    except (csv.Error, zipfile.BadZipFile, UnicodeError) as exc:
        # Format errors deep in a reader (an enormous field, a damaged zip): one line, nothing changed.
        raise BadReleaseFile(f"{Path(path).name} is not a readable {system} file ({type(exc).__name__})") from exc
    return result.model_copy(update={"seconds": round(time.perf_counter() - started, 3)})
