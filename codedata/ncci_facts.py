"""What the imported CMS NCCI edit files say about one procedure code, for `/cpt`: its medically unlikely edit,
its add-on status and eligible primaries, its active procedure-to-procedure pairs.

Every read of the ncci_* tables for `/cpt` is here, as small functions over the current release of each edit
file (systems ncci_mue_practitioner, ncci_aoc, ncci_ptp_practitioner), so a change in how edits are stored
touches this module only."""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import sqlite_utils

from . import ptp_store


# MUE adjudication indicators (CMS NCCI MUE documentation): how the units limit is applied.
MAI = {"1": "line edit: units on one claim line",
       "2": "date of service edit, policy: all lines for the day, set by policy (absolute)",
       "3": "date of service edit, clinical: all lines for the day, appealable with documentation"}


@dataclass
class Mue:
    units: int | None
    mai: str
    rationale: str
    release: str


@dataclass
class AddOn:
    primaries: list[str]
    edit_types: list[str]
    release: str


@dataclass
class PtpSummary:
    pairs: int  # distinct codes this code has an active edit with, either column
    as_column1: int
    as_column2: int
    partners: list[str] = field(default_factory=list)
    release: str = ""


def _current(db: sqlite_utils.Database, system: str) -> dict | None:
    rows = list(db.query("SELECT id, label, title FROM releases WHERE system = ? AND current = 1", [system]))
    return rows[0] if rows else None


def mue(db: sqlite_utils.Database, code: str) -> Mue | None:
    """The practitioner MUE of `code` in the current MUE release, or None."""
    release = _current(db, "ncci_mue_practitioner")
    if release is None:
        return None
    row = db.execute("SELECT units, mai, rationale FROM ncci_mue WHERE release_id = ? AND code = ?",
                     [release["id"], code]).fetchone()
    return Mue(units=row[0], mai=row[1] or "", rationale=row[2] or "", release=release["label"]) if row else None


def add_on(db: sqlite_utils.Database, code: str) -> AddOn | None:
    """The eligible primary codes of `code` if the current AOC release lists it as an add-on code, else None."""
    release = _current(db, "ncci_aoc")
    if release is None:
        return None
    rows = db.execute("SELECT DISTINCT primary_code, edit_type FROM ncci_aoc WHERE release_id = ? AND add_on_code = ?"
                      " ORDER BY primary_code", [release["id"], code]).fetchall()
    if not rows:
        return None
    return AddOn(primaries=list(dict.fromkeys(r[0] for r in rows)),
                 edit_types=sorted({r[1] for r in rows if r[1]}), release=release["label"])


def add_ons_of(db: sqlite_utils.Database, code: str) -> list[str]:
    """The add-on codes the current AOC release allows with `code` as their primary."""
    release = _current(db, "ncci_aoc")
    if release is None:
        return []
    return [r[0] for r in db.execute("SELECT DISTINCT add_on_code FROM ncci_aoc WHERE release_id = ? AND"
                                     " primary_code = ? ORDER BY add_on_code", [release["id"], code])]


def ptp(db: sqlite_utils.Database, code: str, common: set[str] | frozenset[str] = frozenset(),
        limit: int = 8) -> PtpSummary | None:
    """Active practitioner PTP edits of `code` in the current release: how many distinct partner codes, and up
    to `limit` partners, commonly billed ones (`common`) first. None when no PTP release is imported."""
    release = _current(db, "ncci_ptp_practitioner")
    if release is None:
        return None
    first, second = ptp_store.active_partners(db.conn, release["id"], code)
    every = first | second  # thousands for an E/M code: pick the few shown without sorting them all
    partners = sorted(every & common)[:limit]
    partners += heapq.nsmallest(limit - len(partners), every - common) if len(partners) < limit else []
    return PtpSummary(pairs=len(every), as_column1=len(first), as_column2=len(second),
                      partners=partners, release=release["label"])
