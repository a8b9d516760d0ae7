"""Compact storage of NCCI procedure-to-procedure edits.

The practitioner PTP file has 2.5 million rows; stored as text (two code strings, two dates, a rationale sentence
per row) it added ~240 MB to the database. Here each code is a small integer (ncci_code_ids), dates are YYYYMMDD
integers, the rationale is an integer into ncci_rationales, and the rows live in a WITHOUT ROWID table keyed by
(release, column 1, column 2, effective, deletion), so the key is stored once. A view named ncci_ptp gives the
edits back with the columns of the official file, for readers that want them as text.
"""
from __future__ import annotations

import sqlite3
from typing import Iterable

ACTIVE = 99991231
VIEW = """
CREATE VIEW ncci_ptp AS
SELECT e.release_id AS release_id, a.code AS column1, b.code AS column2,
       CASE WHEN e.effective = 0 THEN NULL ELSE printf('%04d-%02d-%02d', e.effective / 10000,
            e.effective / 100 % 100, e.effective % 100) END AS effective,
       printf('%04d-%02d-%02d', e.deletion / 10000, e.deletion / 100 % 100, e.deletion % 100) AS deletion,
       CASE WHEN e.mi IS NULL THEN '' ELSE CAST(e.mi AS TEXT) END AS modifier_indicator, r.text AS rationale
FROM ncci_ptp_edits e
JOIN ncci_code_ids a ON a.id = e.c1
JOIN ncci_code_ids b ON b.id = e.c2
LEFT JOIN ncci_rationales r ON r.id = e.rationale
"""


def create_schema(conn: sqlite3.Connection) -> None:
    """Tables and view; an existing text table of edits (migration 003) is converted and dropped."""
    conn.execute("CREATE TABLE ncci_code_ids (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE)")
    conn.execute("CREATE TABLE ncci_rationales (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)")
    conn.execute("CREATE TABLE ncci_ptp_edits (release_id INTEGER NOT NULL, c1 INTEGER NOT NULL, c2 INTEGER NOT NULL,"
                 " effective INTEGER NOT NULL, deletion INTEGER NOT NULL, mi INTEGER, rationale INTEGER,"
                 " PRIMARY KEY (release_id, c1, c2, effective, deletion)) WITHOUT ROWID")
    old = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'ncci_ptp' AND type = 'table'").fetchone()
    if old:
        rows = conn.execute("SELECT release_id, column1, column2, effective, deletion, modifier_indicator, rationale"
                            " FROM ncci_ptp ORDER BY release_id")
        by_release: dict[int, list[tuple]] = {}
        for release_id, *edit in rows:
            by_release.setdefault(release_id, []).append(tuple(edit))
        for release_id, edits in by_release.items():
            write_edits(conn, release_id, edits)
        conn.execute("DROP TABLE ncci_ptp")
    conn.execute(VIEW)


def _day(text: str | None) -> int:
    """YYYYMMDD as an integer from a date the file writes as YYYYMMDD or YYYY-MM-DD; 0 for '*' or nothing."""
    if not text:
        return 0
    if len(text) == 8 and text.isdigit():
        return int(text)
    if len(text) == 10 and text[4] == "-":
        return int(text[:4] + text[5:7] + text[8:])
    from .importers.common import iso_date

    found = iso_date(text)
    return int(found.replace("-", "")) if found else 0


def write_edits(conn: sqlite3.Connection, release_id: int, edits: Iterable[tuple]) -> int:
    """Store (column1, column2, effective, deletion, modifier_indicator, rationale) rows; return how many."""
    ids = dict(conn.execute("SELECT code, id FROM ncci_code_ids"))
    reasons = dict(conn.execute("SELECT text, id FROM ncci_rationales"))

    def code_id(code: str) -> int:
        found = ids.get(code)
        if found is None:
            found = ids[code] = conn.execute("INSERT INTO ncci_code_ids (code) VALUES (?)", [code]).lastrowid
        return found

    def reason_id(text: str | None) -> int | None:
        if not text:
            return None
        found = reasons.get(text)
        if found is None:
            found = reasons[text] = conn.execute("INSERT INTO ncci_rationales (text) VALUES (?)", [text]).lastrowid
        return found

    indicators = {str(n): n for n in range(10)}
    rows = [(release_id, ids.get(c1) or code_id(c1), ids.get(c2) or code_id(c2), _day(effective),
             _day(deletion) or ACTIVE, indicators.get(indicator), reasons.get(rationale) or reason_id(rationale))
            for c1, c2, effective, deletion, indicator, rationale in edits]
    rows.sort()  # insert in key order: the B-tree is filled page by page
    before = conn.total_changes
    conn.executemany("INSERT OR IGNORE INTO ncci_ptp_edits VALUES (?,?,?,?,?,?,?)", rows)
    return conn.total_changes - before


def code_ids(conn: sqlite3.Connection, codes: Iterable[str]) -> dict[str, int]:
    """The integer ids of the given codes (codes that appear in no edit are left out)."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return {}
    marks = ",".join("?" * len(codes))
    return dict(conn.execute(f"SELECT code, id FROM ncci_code_ids WHERE code IN ({marks})", codes))


def active_edits(conn: sqlite3.Connection, release_id: int, codes: list[str], dos: str) -> list[dict]:
    """Every edit of a release between two of `codes` in effect on the date of service `dos` (YYYY-MM-DD)."""
    ids = code_ids(conn, codes)
    if len(ids) < 2:
        return []
    names = {v: k for k, v in ids.items()}
    marks = ",".join("?" * len(ids))
    day = _day(dos)
    rows = conn.execute(
        f"SELECT e.c1, e.c2, e.mi, r.text, e.deletion FROM ncci_ptp_edits e LEFT JOIN ncci_rationales r"
        f" ON r.id = e.rationale WHERE e.release_id = ? AND e.c1 IN ({marks}) AND e.c2 IN ({marks})"
        f" AND e.deletion >= ? AND e.effective <= ? ORDER BY e.deletion DESC",
        [release_id, *ids.values(), *ids.values(), day, day])
    found: dict[tuple[str, str], dict] = {}
    for c1, c2, mi, rationale, _ in rows:
        key = (names[c1], names[c2])
        if key[0] != key[1] and key not in found:
            found[key] = {"column1": key[0], "column2": key[1], "modifier_indicator": "" if mi is None else str(mi),
                          "rationale": rationale}
    return list(found.values())
