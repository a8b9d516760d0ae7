"""Compact storage of NCCI procedure-to-procedure (PTP) edits.

The practitioner PTP file has 2.5 million rows a quarter; stored as text rows it added ~240 MB to the database,
and as integer rows keyed by both codes still 60 MB. Here a release keeps one row per column-1 code holding its
edits as packed arrays, sorted by column-2 code, in chunks of at most CHUNK edits so that a row fits in its page
(a longer row spills into overflow pages that were a third empty): the column-2 code ids (2 bytes each), deletion and effective
dates (YYYYMMDD, 4 bytes), the modifier indicator (1 byte) and the rationale id (2 bytes). A claim's pairs are
found by binary search in the arrays of its own codes. Codes and rationale sentences are numbered once, in
ncci_code_ids and ncci_rationales; ncci_ptp_by_column2 lists, per column-2 code, the column-1 codes of its active
edits (for /cpt).
"""
from __future__ import annotations

import sqlite3
from array import array
from bisect import bisect_left, bisect_right
from itertools import groupby
from typing import Iterable, Iterator

from .errors import BadReleaseFile

ACTIVE = 99991231
NO_INDICATOR = 255
CHUNK = 64  # edits per stored row: at most 64 x 13 bytes, under SQLite's ~1000-byte in-page limit at 4 KB pages


def create_schema(conn: sqlite3.Connection) -> None:
    """Tables; an existing text table of edits (migration 003) is converted and dropped."""
    conn.execute("CREATE TABLE ncci_code_ids (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE)")
    conn.execute("CREATE TABLE ncci_rationales (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)")
    conn.execute("CREATE TABLE ncci_ptp_packed (release_id INTEGER NOT NULL, c1 INTEGER NOT NULL, chunk INTEGER NOT NULL,"
                 " c2s BLOB NOT NULL, deletions BLOB NOT NULL, effectives BLOB NOT NULL, indicators BLOB NOT NULL,"
                 " reasons BLOB NOT NULL, PRIMARY KEY (release_id, c1, chunk)) WITHOUT ROWID")
    conn.execute("CREATE TABLE ncci_ptp_by_column2 (release_id INTEGER NOT NULL, c2 INTEGER NOT NULL,"
                 " c1s BLOB NOT NULL, PRIMARY KEY (release_id, c2)) WITHOUT ROWID")
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


def _date(day: int) -> str | None:
    return f"{day // 10000:04d}-{day // 100 % 100:02d}-{day % 100:02d}" if day else None


def write_edits(conn: sqlite3.Connection, release_id: int, edits: Iterable[tuple]) -> int:
    """Store (column1, column2, effective, deletion, modifier_indicator, rationale) rows; return how many distinct
    edits were stored (an exact duplicate row of the file counts once)."""
    ids = dict(conn.execute("SELECT code, id FROM ncci_code_ids"))
    reasons = dict(conn.execute("SELECT text, id FROM ncci_rationales"))

    def code_id(code: str) -> int:
        found = ids[code] = conn.execute("INSERT INTO ncci_code_ids (code) VALUES (?)", [code]).lastrowid
        if found > 0xFFFF:
            raise BadReleaseFile("more than 65,535 distinct NCCI codes: not an NCCI PTP file")
        return found

    def reason_id(text: str | None) -> int:
        if not text:
            return 0
        found = reasons[text] = conn.execute("INSERT INTO ncci_rationales (text) VALUES (?)", [text]).lastrowid
        return found

    indicators = {str(n): n for n in range(10)}
    # Per column-1 code, parallel arrays filled while the file streams by (a tuple per edit took 1.4 GB for
    # the 2.5 million rows of a quarter; arrays take ~13 bytes an edit).
    grouped: dict[int, tuple[array, array, array, bytearray, array]] = {}
    for c1, c2, effective, deletion, indicator, rationale in edits:
        first = ids.get(c1) or code_id(c1)
        group = grouped.get(first)
        if group is None:
            group = grouped[first] = (array("H"), array("I"), array("I"), bytearray(), array("H"))
        group[0].append(ids.get(c2) or code_id(c2))
        group[1].append(_day(deletion) or ACTIVE)
        group[2].append(_day(effective))
        group[3].append(indicators.get(indicator, NO_INDICATOR))
        group[4].append(reasons.get(rationale) or reason_id(rationale))
    packed, by_column2, written = [], {}, 0
    for c1 in sorted(grouped):
        c2s, deletions, effectives, marks, why = grouped.pop(c1)
        edits_of_c1 = sorted(set(zip(c2s, effectives, deletions, marks, why)))  # one code's edits: small
        written += len(edits_of_c1)
        for chunk, start in enumerate(range(0, len(edits_of_c1), CHUNK)):
            part = edits_of_c1[start:start + CHUNK]
            effective_part = array("I", (e[1] for e in part))
            packed.append((release_id, c1, chunk, array("H", (e[0] for e in part)).tobytes(),
                           array("I", (e[2] for e in part)).tobytes(),
                           effective_part.tobytes() if any(effective_part) else b"",
                           bytes(e[3] for e in part), array("H", (e[4] for e in part)).tobytes()))
        for c2, _, deletion, _, _ in edits_of_c1:
            if deletion == ACTIVE:
                by_column2.setdefault(c2, set()).add(c1)
    conn.executemany("INSERT INTO ncci_ptp_packed VALUES (?,?,?,?,?,?,?,?)", packed)
    conn.executemany("INSERT INTO ncci_ptp_by_column2 VALUES (?,?,?)",
                     ((release_id, c2, array("H", sorted(c1s)).tobytes()) for c2, c1s in sorted(by_column2.items())))
    return written


def database_key(conn: sqlite3.Connection) -> str:
    """The database file a connection reads (for caches of what never changes in it); a memory database by
    its connection."""
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    return path or f"memory:{id(conn)}"


_NAMES: dict[str, tuple[int, dict[int, str]]] = {}  # per database file: (highest id, id -> code)


def code_names(conn: sqlite3.Connection) -> dict[int, str]:
    """id -> code for every NCCI code, read once per database file: ids are only ever added, so the highest
    id says whether the copy is current."""
    top = conn.execute("SELECT max(id) FROM ncci_code_ids").fetchone()[0] or 0
    key = database_key(conn)
    cached = _NAMES.get(key)
    if cached is None or cached[0] != top:
        cached = _NAMES[key] = (top, dict(conn.execute("SELECT id, code FROM ncci_code_ids")))
    return cached[1]


def code_ids(conn: sqlite3.Connection, codes: Iterable[str]) -> dict[str, int]:
    """The integer ids of the given codes (codes that appear in no edit are left out)."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return {}
    marks = ",".join("?" * len(codes))
    return dict(conn.execute(f"SELECT code, id FROM ncci_code_ids WHERE code IN ({marks})", codes))


class _Edits:
    """The edits of one column-1 code in one release, as parallel arrays sorted by column-2 id."""

    def __init__(self, chunks: list[tuple]) -> None:
        self.c2s, self.deletions, self.reasons = array("H"), array("I"), array("H")
        self.effectives, self.indicators = array("I"), b""
        for c2s, deletions, effectives, indicators, reasons in chunks:
            self.c2s.frombytes(c2s)
            self.deletions.frombytes(deletions)
            self.effectives.frombytes(effectives or bytes(len(indicators) * 4))
            self.indicators += indicators
            self.reasons.frombytes(reasons)
        if not any(self.effectives):
            self.effectives = None

    def with_column2(self, c2: int) -> range:
        return range(bisect_left(self.c2s, c2), bisect_right(self.c2s, c2))

    def in_force(self, index: int, day: int) -> bool:
        effective = self.effectives[index] if self.effectives is not None else 0
        return self.deletions[index] >= day and effective <= day

    def indicator(self, index: int) -> str:
        value = self.indicators[index]
        return "" if value == NO_INDICATOR else str(value)


def _edits_of(conn: sqlite3.Connection, release_id: int, c1: int) -> _Edits | None:
    chunks = conn.execute("SELECT c2s, deletions, effectives, indicators, reasons FROM ncci_ptp_packed"
                          " WHERE release_id = ? AND c1 = ? ORDER BY chunk", [release_id, c1]).fetchall()
    return _Edits(chunks) if chunks else None


def _rationales(conn: sqlite3.Connection) -> dict[int, str]:
    return dict(conn.execute("SELECT id, text FROM ncci_rationales"))


def active_edits(conn: sqlite3.Connection, release_id: int, codes: list[str], dos: str) -> list[dict]:
    """Every edit of a release between two of `codes` in effect on the date of service `dos` (YYYY-MM-DD)."""
    ids = code_ids(conn, codes)
    if len(ids) < 2:
        return []
    day, reasons, found = _day(dos), None, []
    for first, c1 in ids.items():
        edits = _edits_of(conn, release_id, c1)
        if edits is None:
            continue
        for second, c2 in ids.items():
            if second == first:
                continue
            # Several periods of one pair: the latest deletion in force on the DOS answers.
            hits = [i for i in edits.with_column2(c2) if edits.in_force(i, day)]
            if hits:
                at = max(hits, key=lambda i: edits.deletions[i])
                reasons = reasons if reasons is not None else _rationales(conn)
                found.append({"column1": first, "column2": second, "modifier_indicator": edits.indicator(at),
                              "rationale": reasons.get(edits.reasons[at]), "deletion": _date(edits.deletions[at])})
    return found


def edits_of(conn: sqlite3.Connection, release_id: int, column1: str) -> list[dict]:
    """Every edit of a column-1 code in a release, with the columns of the official file."""
    ids = code_ids(conn, [column1])
    edits = _edits_of(conn, release_id, ids[column1]) if ids else None
    if edits is None:
        return []
    names, reasons = code_names(conn), _rationales(conn)
    return [{"column1": column1, "column2": names[edits.c2s[i]],
             "effective": _date(edits.effectives[i]) if edits.effectives is not None else None,
             "deletion": _date(edits.deletions[i]), "modifier_indicator": edits.indicator(i),
             "rationale": reasons.get(edits.reasons[i])} for i in range(len(edits.c2s))]


_PARTNERS: dict[tuple, tuple[frozenset[str], frozenset[str]]] = {}
PARTNERS_KEPT = 512


def active_partners(conn: sqlite3.Connection, release_id: int, code: str) -> tuple[frozenset[str], frozenset[str]]:
    """The codes `code` has an active edit with: (as column 1 -> its column-2 codes, as column 2 -> column 1s).
    Kept for the codes asked most recently: a release's edits never change (a rebuilt database's release with the
    same id has another sha256)."""
    sha = conn.execute("SELECT sha256 FROM releases WHERE id = ?", [release_id]).fetchone()
    key = (database_key(conn), release_id, sha[0] if sha else None, code)
    if key not in _PARTNERS:
        if len(_PARTNERS) >= PARTNERS_KEPT:
            _PARTNERS.pop(next(iter(_PARTNERS)))
        first, second = _active_partners(conn, release_id, code)
        _PARTNERS[key] = (frozenset(first), frozenset(second))
    return _PARTNERS[key]


def _active_partners(conn: sqlite3.Connection, release_id: int, code: str) -> tuple[set[str], set[str]]:
    found = code_ids(conn, [code])
    if not found:
        return set(), set()
    own = found[code]
    names = code_names(conn)
    edits = _edits_of(conn, release_id, own)
    first = {names[edits.c2s[i]] for i in range(len(edits.c2s)) if edits.deletions[i] == ACTIVE} if edits else set()
    packed = conn.execute("SELECT c1s FROM ncci_ptp_by_column2 WHERE release_id = ? AND c2 = ?",
                          [release_id, own]).fetchone()
    second = {names[c1] for c1 in array("H", packed[0])} if packed else set()
    return first, second


def pairs(conn: sqlite3.Connection, release_id: int) -> Iterator[tuple[str, str, bool, str]]:
    """Every edit of a release as (column1, column2, active, modifier indicator), for release diffs."""
    names = code_names(conn)
    rows = conn.execute("SELECT c1, c2s, deletions, effectives, indicators, reasons FROM ncci_ptp_packed"
                        " WHERE release_id = ? ORDER BY c1, chunk", [release_id])
    for c1, chunks in groupby(rows, key=lambda r: r[0]):
        edits = _Edits([chunk[1:] for chunk in chunks])
        for i, c2 in enumerate(edits.c2s):
            yield names[c1], names[c2], edits.deletions[i] == ACTIVE, edits.indicator(i)
