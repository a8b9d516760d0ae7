"""Normalise what people type, and look codes up in the current release with hierarchy, notes and history."""
from __future__ import annotations

import json
import re

import sqlite_utils

from .db import current_release
from .errors import BadInput, MedcodeError
from .models import CodeAnswer, CodeRef, Note, ReleaseInfo, SeventhCharacter

ICD_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$")
CHILDREN_SHOWN = 25
# Notes inherited from ancestors: the tabular says they apply to every code below the entry.
INHERITED_NOTE_KINDS = ("excludes1", "excludes2", "code_first", "use_additional_code", "code_also", "note")


def normalise_icd(text: str) -> str:
    """Return the undotted upper-case ICD-10-CM code in `text` (e119 -> E119), or raise BadInput."""
    cleaned = re.sub(r"[\s.]", "", (text or "").upper()).rstrip("-")
    if not cleaned:
        raise BadInput("type an ICD-10-CM code such as E11.9 or S72.001A")
    if len(cleaned) > 8 or not ICD_SHAPE.match(cleaned):
        raise BadInput(f"{_shorten(text)!r} is not shaped like an ICD-10-CM code (e.g. E11.9, S72.001A)")
    return cleaned


def looks_like_icd(text: str) -> bool:
    """True when `text` has the shape of an ICD-10-CM code (full or partial)."""
    try:
        normalise_icd(text)
    except BadInput:
        return False
    return True


def display_icd(code: str) -> str:
    """Return the dotted form of an undotted ICD-10-CM code (S134XXA -> S13.4XXA)."""
    return code if len(code) <= 3 or not code[0].isalpha() else f"{code[:3]}.{code[3:]}"


def _shorten(text: str, limit: int = 40) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def release_info(release: dict) -> ReleaseInfo:
    """Return the public description of a release row."""
    return ReleaseInfo(
        system=release["system"], label=release["label"], title=release["title"] or release["label"],
        effective_date=release["effective_date"],
    )


def require_current(db: sqlite_utils.Database, system: str) -> dict:
    """Return the current release of `system` or raise a one-line error saying how to get one."""
    release = current_release(db, system)
    if release is None:
        raise MedcodeError(f"no {system} release is imported yet: run `medcode import {system} FILE`")
    return release


# --- single-row queries ----------------------------------------------------------------------


def get_code(db: sqlite_utils.Database, release_id: int, code: str) -> dict | None:
    """Return the stored row of `code` in a release, or None."""
    rows = list(db.query("SELECT * FROM codes WHERE release_id = ? AND code = ?", [release_id, code]))
    if not rows:
        return None
    row = rows[0]
    row["extra"] = json.loads(row["extra"]) if row["extra"] else {}
    return row


def ancestors(db: sqlite_utils.Database, release_id: int, row: dict) -> list[dict]:
    """Return the chain of parent rows, outermost (chapter) first."""
    chain = []
    parent = row["parent"]
    while parent:
        found = get_code(db, release_id, parent)
        if found is None:
            break
        chain.append(found)
        parent = found["parent"]
    return list(reversed(chain))


def _ref(row: dict) -> CodeRef:
    return CodeRef(code=row["display"], description=row["description"] or "", billable=bool(row["billable"]))


def billable_descendants(db: sqlite_utils.Database, release_id: int, row: dict,
                         limit: int = CHILDREN_SHOWN) -> tuple[list[CodeRef], int]:
    """Return the first billable codes under `row` (in tabular order) and how many there are."""
    if row["kind"] in ("chapter", "block"):
        where, params = "parent = ?", [row["code"]]
    else:
        # Undotted ICD codes sort under their parent: the range code..code~ is exactly the subtree.
        where, params = "code > ? AND code < ? AND billable = 1", [row["code"], row["code"] + "~"]
    base = f"FROM codes WHERE release_id = ? AND {where}"
    total = db.execute(f"SELECT count(*) {base}", [release_id, *params]).fetchone()[0]
    rows = db.query(f"SELECT * {base} ORDER BY seq LIMIT ?", [release_id, *params, limit])
    return [_ref(r) for r in rows], total


def notes_for(db: sqlite_utils.Database, release_id: int, row: dict, chain: list[dict]) -> list[Note]:
    """Return the row's own notes, then those inherited from its category and subcategories."""
    own = [row["code"]]
    inherited = [a["code"] for a in chain if a["kind"] in ("category", "subcategory")]
    notes = []
    for code in own + list(reversed(inherited)):
        kinds_clause = "" if code in own else f" AND kind IN ({','.join('?' * len(INHERITED_NOTE_KINDS))})"
        params = [release_id, code] + ([] if code in own else list(INHERITED_NOTE_KINDS))
        for n in db.query(
            f"SELECT kind, text FROM notes WHERE release_id = ? AND code = ?{kinds_clause} ORDER BY kind, seq",
            params,
        ):
            notes.append(Note(kind=n["kind"], text=n["text"], at=display_icd(code)))
    return notes


def seventh_character_rule(db: sqlite_utils.Database, release_id: int, codes: list[str]) -> list[SeventhCharacter]:
    """Return the 7th-character choices defined at the nearest of `codes` (innermost first)."""
    for code in codes:
        rows = list(db.query(
            "SELECT character, meaning FROM seventh_characters WHERE release_id = ? AND code = ?"
            " ORDER BY character", [release_id, code]))
        if rows:
            return [SeventhCharacter(character=r["character"], meaning=r["meaning"]) for r in rows]
    return []


# --- release history -----------------------------------------------------------------------------


def other_releases(db: sqlite_utils.Database, system: str) -> list[dict]:
    """Return every release of `system`, newest effective date first."""
    return list(db.query(
        "SELECT * FROM releases WHERE system = ? ORDER BY effective_date DESC, id DESC", [system]))


def previous_release(db: sqlite_utils.Database, current: dict) -> dict | None:
    """Return the release of the same system just before `current`, if one is imported."""
    ordered = other_releases(db, current["system"])
    ids = [r["id"] for r in ordered]
    index = ids.index(current["id"])
    return ordered[index + 1] if index + 1 < len(ordered) else None


def history(db: sqlite_utils.Database, current: dict, row: dict) -> list[str]:
    """Return plain sentences on how the code changed since the previous imported release."""
    before = previous_release(db, current)
    if before is None:
        return []
    old = get_code(db, before["id"], row["code"])
    if old is None:
        return [f"New in release {current['label']} (not in {before['label']})."]
    lines = []
    if old["billable"] and not row["billable"]:
        lines.append(
            f"Billable in release {before['label']}; stopped being billable in release "
            f"{current['label']}, where it became a header: use a code under it."
        )
    elif row["billable"] and not old["billable"]:
        lines.append(f"Became billable in release {current['label']} (a header in {before['label']}).")
    if (old["description"] or "") != (row["description"] or ""):
        lines.append(f"Description revised in release {current['label']} (was: {old['description']}).")
    return lines


# --- lookup ------------------------------------------------------------------------------------------


def lookup_icd(db: sqlite_utils.Database, query: str, children_limit: int = CHILDREN_SHOWN) -> CodeAnswer:
    """Return what ICD-10-CM says about the code in `query`: valid, no longer valid, or unknown."""
    code = normalise_icd(query)
    current = require_current(db, "icd10cm")
    row = get_code(db, current["id"], code)
    if row is not None:
        return _valid_answer(db, current, row, query, children_limit)
    retired = last_release_with(db, "icd10cm", code, current)
    if retired is not None:
        old = get_code(db, retired["id"], code)
        return retired_answer(db, current, retired, old, query, successors(db, current["id"], retired["id"], old))
    return CodeAnswer(
        query=query, system="icd10cm", code=display_icd(code), status="unknown",
        nearest=nearest_codes(db, current["id"], code), release=release_info(current),
    )


def _valid_answer(db, current: dict, row: dict, query: str, children_limit: int) -> CodeAnswer:
    chain = ancestors(db, current["id"], row)
    children, total = ([], 0) if row["billable"] else billable_descendants(db, current["id"], row, children_limit)
    lineage = [row["code"]] + [a["code"] for a in reversed(chain)]
    choices = seventh_character_rule(db, current["id"], lineage)
    answer = CodeAnswer(
        query=query, system="icd10cm", code=row["display"], status="valid",
        description=row["description"], billable=bool(row["billable"]), kind=row["kind"],
        breadcrumb=[_ref(a) for a in chain], children=children, children_count=total,
        notes=notes_for(db, current["id"], row, chain), history=history(db, current, row),
        release=release_info(current),
    )
    if row["billable"] and len(row["code"]) == 7:
        answer.seventh_character = next((c for c in choices if c.character == row["code"][6]), None)
    else:
        answer.needs_seventh_character = needs_seventh_character(db, current["id"], row)
        answer.seventh_characters = choices if answer.needs_seventh_character else []
    return answer


def needs_seventh_character(db, release_id: int, row: dict) -> bool:
    """True when the code's only children are its own 7th-character expansions (S72.001 -> S72.001A)."""
    if row["billable"]:
        return False
    stem = row["code"].ljust(6, "X")
    children = [r["code"] for r in db.query(
        "SELECT code FROM codes WHERE release_id = ? AND parent = ?", [release_id, row["code"]])]
    return bool(children) and all(len(c) == 7 and c.startswith(stem) for c in children)


def last_release_with(db, system: str, code: str, current: dict) -> dict | None:
    """Return the newest non-current release of `system` that has `code`, if any."""
    for release in other_releases(db, system):
        if release["id"] != current["id"] and get_code(db, release["id"], code):
            return release
    return None


def retired_answer(db, current: dict, last: dict, old: dict, query: str,
                   successors: list[CodeRef]) -> CodeAnswer:
    """Return the answer for a code that is in release `last` but not in the current release."""
    newer = [r for r in other_releases(db, current["system"])
             if (r["effective_date"] or "", r["id"]) > (last["effective_date"] or "", last["id"])]
    removed_in = min(newer, key=lambda r: (r["effective_date"] or "", r["id"]))["label"] if newer else current["label"]
    return CodeAnswer(
        query=query, system=current["system"], code=old["display"], status="no_longer_valid",
        description=old["description"], kind=old["kind"], last_release=last["label"],
        removed_in=removed_in, successors=successors, release=release_info(current),
    )


def successors(db, current_id: int, old_release_id: int, old_row: dict) -> list[CodeRef]:
    """Return codes to use instead of a code gone from the current release.

    First the codes that now sit under it; else the billable codes under its nearest ancestor
    that still exists.
    """
    code = old_row["code"]
    under = list(db.query(
        "SELECT * FROM codes WHERE release_id = ? AND code > ? AND code < ? AND billable = 1"
        " ORDER BY seq LIMIT ?", [current_id, code, code + "~", CHILDREN_SHOWN]))
    if under:
        return [_ref(r) for r in under]
    for ancestor in reversed(ancestors(db, old_release_id, old_row)):
        still = get_code(db, current_id, ancestor["code"])
        if still is not None:
            children, _ = billable_descendants(db, current_id, still, limit=10)
            return [_ref(still)] + children
    return []


def nearest_codes(db, release_id: int, code: str, limit: int = 10) -> list[CodeRef]:
    """Return existing codes nearest an unknown one: its longest existing prefix and codes under it."""
    for length in range(len(code) - 1, 0, -1):
        row = get_code(db, release_id, code[:length])
        if row is not None:
            children, _ = billable_descendants(db, release_id, row, limit=limit)
            return [_ref(row)] + children
    return []
