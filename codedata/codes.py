"""Normalise what people type, and look codes up in the current release with hierarchy, notes and history."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta

import sqlite_utils

from .db import current_release
from .errors import BadInput, MedcodeError
from .models import CodeAnswer, CodeRef, Note, ReleaseInfo, SeventhCharacter
from .windows import Resolution, next_update, parse_dos, resolve, windows

# A letter, then a digit in second or third place (A00, QA0: the FY2026 QA0 block has a letter second), then up to
# four more characters.
ICD_SHAPE = re.compile(r"^[A-Z](?:[0-9][0-9A-Z]|[A-Z][0-9])[0-9A-Z]{0,4}$")
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
    """Return the first billable codes under `row` (in tabular order) and how many there are.

    Chapters and blocks list their categories. Codes follow the tabular's nesting, not the code prefix (a file
    may nest a code under a sibling: FY2021 nests H54.512A under H54.511). Codes are stored in tabular order
    (`seq`), so a code's subtree is the run of rows after it up to the next row that hangs from the code's
    parent or from one of its ancestors.
    """
    if row["kind"] in ("chapter", "block"):
        base = "FROM codes WHERE release_id = ? AND parent = ?"
        params: list = [release_id, row["code"]]
        total = db.execute(f"SELECT count(*) {base}", params).fetchone()[0]
        rows = db.query(f"SELECT * {base} ORDER BY seq LIMIT ?", [*params, limit])
        return [_ref(r) for r in rows], total
    # an order file has no chapters: a category there hangs from nothing
    above = [a for a in [row["parent"]] + [a["code"] for a in ancestors(db, release_id, row)] if a]
    marks = ",".join("?" * len(above)) or "NULL"
    # The next chapter (no parent) ends the run too: the last code of a chapter has no later sibling above it.
    end = db.execute(f"SELECT min(seq) FROM codes WHERE release_id = ? AND (parent IN ({marks}) OR parent IS NULL)"
                     " AND seq > ?", [release_id, *above, row["seq"]]).fetchone()[0]
    end = end if end is not None else 1 << 62
    base = "FROM codes WHERE release_id = ? AND seq > ? AND seq < ? AND billable = 1"
    params = [release_id, row["seq"], end]
    total = db.execute(f"SELECT count(*) {base}", params).fetchone()[0]
    rows = db.query(f"SELECT * {base} ORDER BY seq LIMIT ?", [*params, limit])
    return [_ref(r) for r in rows], total


def notes_for(db: sqlite_utils.Database, release_id: int, row: dict, chain: list[dict]) -> list[Note]:
    """Return the row's own notes, then those inherited from every level above it up to the chapter.

    The tabular says notes at a chapter, block or category apply to every code below it; each inherited note
    is labelled with the entry that carries it (a category, a block such as E08-E13, or Chapter 4).
    """
    owners = [row] + list(reversed(chain))
    marks = ",".join("?" * len(owners))
    found: dict[str, list[tuple[str, str]]] = {}
    for code, kind, text in db.execute(
        f"SELECT code, kind, text FROM notes WHERE release_id = ? AND code IN ({marks}) ORDER BY kind, seq",
        [release_id, *(o["code"] for o in owners)],
    ):
        found.setdefault(code, []).append((kind, text))
    notes = []
    for owner in owners:
        at = f"block {owner['display']}" if owner["kind"] == "block" else owner["display"]
        notes += [Note(kind=kind, text=text, at=at) for kind, text in found.get(owner["code"], [])
                  if owner is row or kind in INHERITED_NOTE_KINDS]
    return notes


def seventh_character_rule(db: sqlite_utils.Database, release_id: int, codes: list[str]) -> list[SeventhCharacter]:
    """Return the 7th-character choices defined by a sevenChrDef at the nearest of `codes` (innermost first)."""
    for code in codes:
        rows = list(db.query(
            "SELECT character, meaning FROM seventh_characters WHERE release_id = ? AND code = ?"
            " ORDER BY character", [release_id, code]))
        if rows:
            return [SeventhCharacter(character=r["character"], meaning=r["meaning"]) for r in rows]
    return []


def seventh_character_choices(db: sqlite_utils.Database, release_id: int, row: dict,
                              chain: list[dict]) -> list[SeventhCharacter]:
    """The 7th characters that make a billable code of `row`: a sevenChrDef applies to it and the full code
    exists (S06.1X7 takes only A: the tabular bars D and S after a 6th character 7)."""
    if row["billable"] or len(row["code"]) >= 7:
        return []
    rule = seventh_character_rule(db, release_id, [row["code"]] + [a["code"] for a in reversed(chain)])
    if not rule:
        return []
    stem = row["code"].ljust(6, "X")
    existing = {r[0] for r in db.execute(
        "SELECT code FROM codes WHERE release_id = ? AND parent = ?", [release_id, row["code"]])}
    if not existing or any(len(c) != 7 or not c.startswith(stem) for c in existing):
        return []
    return [c for c in rule if stem + c.character in existing]


def needs_seventh_character(db, release_id: int, row: dict, chain: list[dict] | None = None) -> bool:
    """True when the code is billable only with a 7th character (S72.001 -> S72.001A)."""
    if chain is None:
        chain = ancestors(db, release_id, row)
    return bool(seventh_character_choices(db, release_id, row, chain))


# --- releases for a date of service and code history --------------------------------------------


def category_known(db: sqlite_utils.Database, code: str) -> bool:
    """True when the three-character category of an undotted ICD-10-CM code exists in some loaded release
    (E11 for E1199): a code-shaped word whose category is nowhere (DM2, T2DM) is an abbreviation, not a code."""
    return db.execute(
        "SELECT 1 FROM codes WHERE release_id IN (SELECT id FROM releases WHERE system = 'icd10cm') AND code = ?"
        " LIMIT 1", [code[:3]]).fetchone() is not None


def other_releases(db: sqlite_utils.Database, system: str) -> list[dict]:
    """Return every release of `system`, newest effective date first (undated releases last)."""
    return list(db.query(
        "SELECT * FROM releases WHERE system = ? ORDER BY effective_date IS NULL, effective_date DESC, id DESC",
        [system]))




def release_for(db: sqlite_utils.Database, system: str, dos: str | date | None) -> Resolution:
    """The release that answers for a date of service (today when None), or raise when none is imported."""
    day = dos if isinstance(dos, date) else parse_dos(dos)
    resolution = resolve(db, system, day)
    if resolution.release is None:
        raise MedcodeError(f"no {system} release is imported yet: run `medcode import {system} FILE`")
    return resolution


def _state(row: dict | None) -> str:
    return "absent" if row is None else "billable" if row["billable"] else "header"


def history(db: sqlite_utils.Database, used: dict, code: str) -> list[str]:
    """Plain sentences on how a code changed across every imported release of its system.

    A change took effect at a scheduled update after the last release that shows the old state and no later
    than the first that shows the new one; when releases in between are not loaded, both dates are named.
    """
    ordered = [w for w in windows(db, used["system"]) if w.start is not None]
    states = [(w, get_code(db, w.release["id"], code)) for w in ordered]
    lines = []
    for (before, old), (after, new) in zip(states, states[1:]):
        was, now = _state(old), _state(new)
        when = _change_date(before, after)
        if was == now:
            if old and new and (old["description"] or "") != (new["description"] or ""):
                lines.append(f"Description revised {when} (release {after.release['label']}; "
                             f"was: {old['description']}).")
            continue
        if now == "absent":
            instead = _use(successors(db, after.release["id"], before.release["id"], old))
            lines.append(f"{'Billable' if was == 'billable' else 'A header'} in release {before.release['label']}"
                         f" (through {before.end}); deleted {when}: not in release {after.release['label']}"
                         f"{instead}.")
        elif was == "absent":
            lines.append(f"New {when}: first in release {after.release['label']} "
                         f"(not in {before.release['label']}).")
        elif now == "header":
            under, _ = billable_descendants(db, after.release["id"], new, limit=6)
            lines.append(f"Billable in release {before.release['label']} (through {before.end}); became a "
                         f"header {when} (release {after.release['label']}){_use(under) or ': use a code under it'}.")
        else:
            lines.append(f"A header in release {before.release['label']}; billable {when} "
                         f"(release {after.release['label']}).")
    return lines


def _use(refs: list[CodeRef]) -> str:
    billable = [r.code for r in refs if r.billable][:5]
    return f": use {', '.join(billable)}" if billable else ""


def _change_date(before, after) -> str:
    """'on 2025-10-01' when the two releases' windows touch; else the span in which the change took effect."""
    first_possible = before.end + timedelta(days=1) if before.end else after.start
    if first_possible >= after.start:
        return f"on {after.start}"
    scheduled = next_update(before.release["system"], before.end) if before.end else None
    if scheduled == after.start:
        return f"on {after.start}"
    return f"between {first_possible} and {after.start}"


# --- lookup ------------------------------------------------------------------------------------------


def lookup_icd(db: sqlite_utils.Database, query: str, children_limit: int = CHILDREN_SHOWN,
               dos: str | date | None = None) -> CodeAnswer:
    """Return what ICD-10-CM says about the code in `query` on a date of service (default today).

    The release in force on that date answers; a code not yet in it, or no longer in it, says so and when.
    """
    code = normalise_icd(query)
    resolution = release_for(db, "icd10cm", dos)
    used = resolution.release
    day = dos if isinstance(dos, date) else parse_dos(dos)
    context = {"date_of_service": day.isoformat(), "notice": resolution.notice}
    row = get_code(db, used["id"], code)
    if row is not None:
        return _valid_answer(db, used, row, query, children_limit).model_copy(update=context)
    earlier = [r for r in other_releases(db, "icd10cm") if _older(r, used)]
    retired = next((r for r in earlier if get_code(db, r["id"], code)), None)
    if retired is not None:
        old = get_code(db, retired["id"], code)
        answer = retired_answer(db, used, retired, old, query, successors(db, used["id"], retired["id"], old))
        return answer.model_copy(update={**context, "history": history(db, used, code)})
    later = [r for r in reversed(other_releases(db, "icd10cm")) if _older(used, r)]
    first = next((r for r in later if get_code(db, r["id"], code)), None)
    if first is not None:
        new = get_code(db, first["id"], code)
        return CodeAnswer(
            query=query, system="icd10cm", code=new["display"], status="not_yet_valid",
            description=new["description"], billable=bool(new["billable"]), kind=new["kind"],
            first_release=first["label"], took_effect=_took_effect(db, used, first),
            history=history(db, used, code), release=release_info(used),
            nearest=nearest_codes(db, used["id"], code), **context,
        )
    return CodeAnswer(
        query=query, system="icd10cm", code=display_icd(code), status="unknown",
        nearest=nearest_codes(db, used["id"], code), release=release_info(used), **context,
    )


def _older(a: dict, b: dict) -> bool:
    return ((a["effective_date"] or ""), a["id"]) < ((b["effective_date"] or ""), b["id"])


def _took_effect(db, used: dict, first: dict) -> str:
    """When a code absent from `used` came in: its first release's date, or a span when releases are missing."""
    by_id = {w.release["id"]: w for w in windows(db, used["system"])}
    span = _change_date(by_id[used["id"]], by_id[first["id"]])
    return span.removeprefix("on ")


def _valid_answer(db, used: dict, row: dict, query: str, children_limit: int) -> CodeAnswer:
    chain = ancestors(db, used["id"], row)
    children, total = ([], 0) if row["billable"] else billable_descendants(db, used["id"], row, children_limit)
    choices = seventh_character_choices(db, used["id"], row, chain)
    answer = CodeAnswer(
        query=query, system="icd10cm", code=row["display"], status="valid",
        description=row["description"], billable=bool(row["billable"]), kind=row["kind"],
        breadcrumb=[_ref(a) for a in chain], children=children, children_count=total,
        notes=notes_for(db, used["id"], row, chain), history=history(db, used, row["code"]),
        release=release_info(used), needs_seventh_character=bool(choices), seventh_characters=choices,
    )
    if row["billable"] and len(row["code"]) == 7:
        rule = seventh_character_rule(db, used["id"], [a["code"] for a in reversed(chain)])
        answer.seventh_character = next((c for c in rule if c.character == row["code"][6]), None)
    return answer


def last_release_with(db, system: str, code: str, current: dict) -> dict | None:
    """Return the newest release of `system` older than `current` that has `code`, if any."""
    for release in other_releases(db, system):
        if _older(release, current) and get_code(db, release["id"], code):
            return release
    return None


def retired_answer(db, current: dict, last: dict, old: dict, query: str,
                   successors: list[CodeRef]) -> CodeAnswer:
    """Return the answer for a code that is in release `last` but not in release `current`."""
    newer = [r for r in other_releases(db, current["system"]) if _older(last, r) and not _older(current, r)]
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
