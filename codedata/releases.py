"""Release diffs: what changed between two imported releases of a system, stored in release_changes.

Code systems compare billable sets (the official addenda count this way: a code that became a header is a
deleted billable code, its new children its successors) and descriptions. NCCI PTP compares edit pairs.
"""
from __future__ import annotations

import json

import sqlite_utils

from .codes import get_code, successors
from .errors import MedcodeError
from . import ptp_store
from .models import CodeRef

CODE_SYSTEMS = ("icd10cm", "hcpcs", "cpt")


def diff_releases(db: sqlite_utils.Database, old: dict, new: dict) -> list[dict]:
    """Return the changes from release `old` to release `new` of the same system, as rows to store."""
    if old["system"] != new["system"]:
        raise MedcodeError("a diff compares two releases of the same system")
    if new["system"].startswith("ncci_ptp"):
        return _ptp_changes(db, old, new)
    if new["system"] in CODE_SYSTEMS:
        return _code_changes(db, old, new)
    return []


def _codes(db, release_id: int) -> dict[str, dict]:
    rows = db.query("SELECT code, display, description, billable, extra FROM codes WHERE release_id = ?"
                    " AND kind NOT IN ('chapter', 'block', 'modifier')", [release_id])
    return {r["code"]: r for r in rows}


def _terminated(row: dict | None) -> str | None:
    return json.loads(row["extra"] or "{}").get("terminated") if row else None


def _billable_at(row: dict | None, system: str, when: str | None, terminated: str | None) -> bool:
    """Billable on `when`: present, and for HCPCS not terminated before then (CMS keeps ended codes listed)."""
    if row is None:
        return False
    if system != "hcpcs":
        return bool(row["billable"])
    return not terminated or (when is not None and terminated >= when)


def _code_changes(db, old: dict, new: dict) -> list[dict]:
    system = new["system"]
    before, after = _codes(db, old["id"]), _codes(db, new["id"])
    changes = []
    for code in sorted(set(before) | set(after)):
        # An older table may not carry terminations the newer file knows; the newer file alone says what is
        # true now (a re-activated code has no termination date any more).
        was = _billable_at(before.get(code), system, old["effective_date"],
                           _terminated(before.get(code)) or _terminated(after.get(code)))
        now = _billable_at(after.get(code), system, new["effective_date"], _terminated(after.get(code)))
        if now and not was:
            changes.append(_change(system, old, new, "added", after[code], None, after[code]["description"]))
        elif was and not now and system == "cpt" and not after.get(code):
            continue  # CPT files are layered descriptor sources: a code a new file leaves out is still answered
        elif was and not now:
            detail = "now a header: use a code under it" if after.get(code) and system == "icd10cm" else \
                "discontinued" if after.get(code) else "deleted"
            changes.append(_change(system, old, new, "deleted", before[code], before[code]["description"],
                                   after[code]["description"] if after.get(code) else None, detail,
                                   _successors(db, old, new, code)))
        elif was and now and (before[code]["description"] or "") != (after[code]["description"] or ""):
            changes.append(_change(system, old, new, "revised", after[code], before[code]["description"],
                                   after[code]["description"]))
    return changes


def _successors(db, old: dict, new: dict, code: str) -> list[dict]:
    row = get_code(db, old["id"], code)
    if new["system"] == "icd10cm":
        return [r.model_dump() for r in successors(db, new["id"], old["id"], row)]
    target = (row["extra"] or {}).get("xref") if row else None
    replacement = get_code(db, new["id"], target) if target else None
    return [CodeRef(code=replacement["display"], description=replacement["description"], billable=True).model_dump()] \
        if replacement else []


def _change(system, old, new, change, row, old_text, new_text, detail=None, successor_list=None) -> dict:
    return {"system": system, "from_release": old["id"], "to_release": new["id"], "change": change,
            "code": row["code"], "display": row["display"], "old_description": old_text,
            "new_description": new_text, "detail": detail, "successors": json.dumps(successor_list or [])}


def _ptp_changes(db, old: dict, new: dict) -> list[dict]:
    """Pairs added, pairs no longer active, and modifier indicators changed between two PTP releases."""
    def read(release_id: int) -> tuple[set[tuple[str, str]], dict[tuple[str, str], str]]:
        every, active = set(), {}
        for column1, column2, in_force, indicator in ptp_store.pairs(db.conn, release_id):
            every.add((column1, column2))
            if in_force:
                active[(column1, column2)] = indicator
        return every, active

    old_all, old_active = read(old["id"])
    new_all, new_active = read(new["id"])
    changes = [_pair_change(new, old, "pair_added", *pair, None) for pair in sorted(new_all - old_all)]
    changes += [_pair_change(new, old, "pair_ended", *pair, None) for pair in sorted(set(old_active) - set(new_active))]
    changes += [_pair_change(new, old, "indicator_changed", *pair, f"{old_active[pair]} -> {indicator}")
                for pair, indicator in sorted(new_active.items())
                if pair in old_active and old_active[pair] != indicator]
    return changes


def _pair_change(new, old, change, column1, column2, detail) -> dict:
    return {"system": new["system"], "from_release": old["id"], "to_release": new["id"], "change": change,
            "code": column1, "display": f"{column1}/{column2}", "old_description": None, "new_description": None,
            "detail": detail, "successors": "[]"}


def store_diff(db: sqlite_utils.Database, old: dict, new: dict) -> int:
    """Compute and store the diff old -> new (inside the caller's transaction); return how many changes."""
    db.conn.execute("DELETE FROM release_changes WHERE from_release = ? AND to_release = ?", [old["id"], new["id"]])
    rows = diff_releases(db, old, new)
    columns = ["system", "from_release", "to_release", "change", "code", "display", "old_description",
               "new_description", "detail", "successors"]
    db.conn.executemany(f"INSERT INTO release_changes ({', '.join(columns)}) VALUES ({','.join('?' * len(columns))})",
                        ([row[c] for c in columns] for row in rows))
    return len(rows)


def diff_pair(db: sqlite_utils.Database, system: str, from_label: str | None = None,
              to_label: str | None = None) -> tuple[dict, dict]:
    """Return the (old, new) releases a diff compares: the named labels, or previous -> current."""
    rows = list(db.query("SELECT * FROM releases WHERE system = ? ORDER BY effective_date, id", [system]))
    if not rows:
        raise MedcodeError(f"no {system} release is imported")
    by_label = {r["label"]: r for r in rows}
    if from_label or to_label:
        missing = [label for label in (from_label, to_label) if label not in by_label]
        if missing:
            raise MedcodeError(f"no {system} release labelled {missing[0]!r}; see medcode releases")
        return by_label[from_label], by_label[to_label]
    current = next((r for r in rows if r["current"]), rows[-1])
    earlier = [r for r in rows if (r["effective_date"] or "", r["id"]) < (current["effective_date"] or "", current["id"])]
    if not earlier:
        raise MedcodeError(f"only one {system} release is imported: nothing to compare")
    return earlier[-1], current


def changes_between(db: sqlite_utils.Database, old: dict, new: dict, code: str | None = None) -> list[dict]:
    """Changes old -> new: those stored when `new` was imported, else computed now and not stored (a diff is a
    read: `medcode diff icd10cm 2026-04 2025-04` must not leave reversed changes behind)."""
    seen = db.execute("SELECT count(*) FROM release_changes WHERE from_release = ? AND to_release = ?",
                      [old["id"], new["id"]]).fetchone()[0]
    if seen:
        return stored_changes(db, old["id"], new["id"], code)
    rows = [row for row in diff_releases(db, old, new)
            if not code or code <= row["code"] < code + "~"]
    for row in rows:
        row["successors"] = json.loads(row["successors"] or "[]")
    return sorted(rows, key=lambda r: (r["change"], r["code"]))


def stored_changes(db: sqlite_utils.Database, from_id: int, to_id: int, code: str | None = None) -> list[dict]:
    """Return the stored changes between two releases (optionally those of one code or its subtree)."""
    sql = "SELECT * FROM release_changes WHERE from_release = ? AND to_release = ?"
    params: list = [from_id, to_id]
    if code:
        sql += " AND code >= ? AND code < ?"
        params += [code, code + "~"]
    rows = list(db.query(sql + " ORDER BY change, code", params))
    for row in rows:
        row["successors"] = json.loads(row["successors"] or "[]")
    return rows
