"""Watches (which channel tracks which codes) and the alert outbox (one row per channel and release)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import sqlite_utils

from .codes import display_icd
from .db import transaction
from .errors import BadInput

SYSTEM_NAMES = {"icd10cm", "hcpcs", "cpt", "ncci_ptp_practitioner", "ncci_ptp_outpatient"}
PATTERN = re.compile(r"^[A-Z0-9]{2,7}\*?$")


def parse_pattern(text: str, default_system: str) -> tuple[str, str, str]:
    """Return (system, kind, pattern) for E11 (subtree), E11* (prefix), E11.9 (exact) or a system name."""
    cleaned = (text or "").strip()
    if default_system not in SYSTEM_NAMES:
        raise BadInput(f"watches are for {', '.join(sorted(SYSTEM_NAMES))}")
    if cleaned.lower() in SYSTEM_NAMES:
        return cleaned.lower(), "system", cleaned.lower()
    code = cleaned.upper().replace(".", "").replace(" ", "")
    if not PATTERN.match(code):
        raise BadInput(f"watch a code (E11.9), a prefix (E11*), a subtree (E11) or a system ({', '.join(sorted(SYSTEM_NAMES))})")
    if code.endswith("*"):
        return default_system, "prefix", code[:-1]
    # An ICD-10-CM category or subcategory is a subtree; a complete code is exact (its own changes).
    kind = "subtree" if default_system == "icd10cm" and len(code) < 7 else "exact"
    return default_system, kind, code


CHANNEL = re.compile(r"^[A-Z][A-Z0-9_]{1,30}$")  # a Slack channel, DM or user id (C024BE91L, D0..., U0...)
CODE_SYSTEMS = {"icd10cm", "hcpcs", "cpt"}  # the NCCI systems hold pairs of codes, not codes of their own


def add_watch(db: sqlite_utils.Database, channel: str, text: str, default_system: str, user: str | None) -> dict:
    """Add (or keep) a watch; return it (with `display`, the pattern as people write it). A channel that is not a
    Slack id, or a code that no loaded release has (or begins), is refused in one line and nothing is stored."""
    if not CHANNEL.match(channel or ""):
        raise BadInput("a channel is a Slack id such as C024BE91L")
    system, kind, pattern = parse_pattern(text, default_system)
    if system in CODE_SYSTEMS and kind != "system" and not _known_pattern(db, system, pattern, kind):
        raise BadInput(f"no {system} code in the loaded releases is or begins with that: nothing to watch")
    # The same pattern asked again as another kind (E11 after E11*) is that kind now: the reply says what is stored
    db.conn.execute(
        "INSERT INTO watches (channel, system, kind, pattern, created_by, created_at) VALUES (?,?,?,?,?,?)"
        " ON CONFLICT (channel, system, pattern) DO UPDATE SET kind = excluded.kind",
        [channel, system, kind, pattern, user, _now()])
    db.conn.commit()
    return {"channel": channel, "system": system, "kind": kind, "pattern": pattern,
            "display": display(system, kind, pattern)}


def display(system: str, kind: str, pattern: str) -> str:
    """A watch's pattern as people write it: E11.9, E11*, icd10cm (never "icd.10cm" or "E119")."""
    if kind == "system":
        return pattern
    shown = display_icd(pattern) if system == "icd10cm" else pattern
    return shown + "*" if kind == "prefix" else shown


def _known_pattern(db: sqlite_utils.Database, system: str, pattern: str, kind: str) -> bool:
    ids = "SELECT id FROM releases WHERE system = ?"
    if kind == "exact":
        sql, args = f"SELECT 1 FROM codes WHERE release_id IN ({ids}) AND code = ? LIMIT 1", [system, pattern]
    else:
        sql = f"SELECT 1 FROM codes WHERE release_id IN ({ids}) AND code >= ? AND code < ? LIMIT 1"
        args = [system, pattern, pattern + "~"]
    return db.execute(sql, args).fetchone() is not None


def remove_watch(db: sqlite_utils.Database, channel: str, text: str, default_system: str) -> int:
    """Remove a watch; return how many were removed (0 when the channel did not watch it)."""
    system, kind, pattern = parse_pattern(text, default_system)
    cursor = db.conn.execute("DELETE FROM watches WHERE channel = ? AND system = ? AND pattern = ?",
                             [channel, system, pattern])
    db.conn.commit()
    return cursor.rowcount


def list_watches(db: sqlite_utils.Database, channel: str | None = None) -> list[dict]:
    """Return watches, of one channel or all."""
    sql = "SELECT channel, system, kind, pattern, created_by, created_at FROM watches"
    params = [channel] if channel else []
    rows = list(db.query(sql + (" WHERE channel = ?" if channel else "") + " ORDER BY channel, system, pattern", params))
    return [dict(row, display=display(row["system"], row["kind"], row["pattern"])) for row in rows]


def watch_matches(watch: dict, change: dict) -> bool:
    """True when a change (code or NCCI pair) falls under a watch."""
    if watch["system"] != change["system"]:
        return False
    if watch["kind"] == "system":
        return True
    codes = change["display"].replace(".", "").split("/")  # an NCCI pair matches on either code
    if watch["kind"] == "exact":
        return watch["pattern"] in codes
    return any(c.startswith(watch["pattern"]) for c in codes)


def queue_alerts(db: sqlite_utils.Database, release: dict, changes: list[dict], announce_channel: str | None) -> int:
    """Queue one outbox row per channel with matching changes (inside the import transaction)."""
    by_channel: dict[str, list[int]] = {}
    for watch in db.query("SELECT * FROM watches WHERE system = ?", [release["system"]]):
        matched = [c["id"] for c in changes if watch_matches(watch, c)]
        if matched:
            by_channel.setdefault(watch["channel"], [])
            by_channel[watch["channel"]] += [i for i in matched if i not in by_channel[watch["channel"]]]
    if announce_channel and changes:
        by_channel.setdefault(announce_channel, [])  # the release summary; no per-code details
    for channel, ids in by_channel.items():
        db.conn.execute(
            "INSERT OR IGNORE INTO outbox (channel, release_id, system, change_ids, status, attempts, created_at)"
            " VALUES (?,?,?,?, 'pending', 0, ?)", [channel, release["id"], release["system"], json.dumps(ids), _now()])
    return len(by_channel)


def queue_announcement(db: sqlite_utils.Database, channel: str, system: str) -> tuple[dict, bool] | None:
    """Queue the summary of `system`'s current release for `channel`; return (release, newly queued), or None
    when no release is imported. A release is announced once per channel (the outbox row is unique)."""
    release = db.execute("SELECT id, system, label FROM releases WHERE system = ? AND current = 1",
                         [system]).fetchone()
    if release is None:
        return None
    with transaction(db):
        added = db.conn.execute(
            "INSERT OR IGNORE INTO outbox (channel, release_id, system, change_ids, status, attempts, created_at)"
            " VALUES (?,?,?, '[]', 'pending', 0, ?)", [channel, release[0], system, _now()]).rowcount
    return {"id": release[0], "system": release[1], "label": release[2]}, bool(added)


def pending(db: sqlite_utils.Database) -> list[dict]:
    """Outbox rows not yet delivered, oldest first."""
    return list(db.query("SELECT * FROM outbox WHERE status != 'delivered' ORDER BY id"))


def alert_content(db: sqlite_utils.Database, row: dict) -> dict:
    """What an outbox row announces: the release, the label it follows, its matching changes, all changes."""
    release = db["releases"].get(row["release_id"])
    previous = db.execute("SELECT label FROM releases WHERE id = (SELECT from_release FROM release_changes"
                          " WHERE to_release = ? LIMIT 1)", [release["id"]]).fetchone()
    total = db.execute("SELECT count(*) FROM release_changes WHERE to_release = ?", [release["id"]]).fetchone()[0]
    ids = json.loads(row["change_ids"] or "[]")
    changes = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        changes += db.query(f"SELECT * FROM release_changes WHERE id IN ({','.join('?' * len(chunk))})"
                            " ORDER BY change, code", chunk)
    for change in changes:
        change["successors"] = json.loads(change["successors"] or "[]")
    return {"release": release, "previous": previous[0] if previous else None, "changes": changes, "total": total}


def mark(db: sqlite_utils.Database, outbox_id: int, **fields) -> None:
    """Record delivery progress at once (committed): a restart resumes from here."""
    sets = ", ".join(f"{k} = ?" for k in fields)
    db.conn.execute(f"UPDATE outbox SET {sets} WHERE id = ?", [*fields.values(), outbox_id])
    db.conn.commit()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
