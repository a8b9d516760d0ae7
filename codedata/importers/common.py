"""Shared import machinery: reading release files (plain, xz, gz, zip) and storing a release atomically."""
from __future__ import annotations

import gzip
import json
import hashlib
import io
import lzma
import re
import time
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

import sqlite_utils

from .. import ptp_store, search_index
from ..db import current_release, transaction
from ..errors import BadReleaseFile
from ..models import ImportResult

Progress = Callable[[int, int], None]

# A release file bigger than this is not an official code file (the largest, the NCCI PTP, is ~250 MB).
MAX_FILE_BYTES = 1_500_000_000


@dataclass
class ReleaseData:
    """Everything one official file says, ready to store as one release."""

    system: str
    label: str
    title: str
    effective_date: str | None
    codes: list[dict]
    notes: list[dict] = field(default_factory=list)
    seventh_characters: list[dict] = field(default_factory=list)
    # Edit or policy rows for other tables: table -> (columns without release_id, rows).
    tables: dict[str, tuple[list[str], Iterable[tuple]]] = field(default_factory=dict)


@dataclass
class SourceFile:
    name: str
    data: bytes
    sha256: str


def read_source(path: str | Path, member_pattern: str | None = None) -> SourceFile:
    """Read a release file, unwrapping .xz/.gz and picking `member_pattern` out of a zip."""
    path = Path(path)
    if not path.is_file():
        raise BadReleaseFile(f"no such file: {path}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise BadReleaseFile(f"{path.name} is too large to be a code release file")
    raw = path.read_bytes()
    if not raw:
        raise BadReleaseFile(f"{path.name} is empty")
    sha = hashlib.sha256(raw).hexdigest()
    name = path.name
    try:
        if raw[:6] == b"\xfd7zXZ\x00":
            raw, name = lzma.decompress(raw), _strip_suffix(name, ".xz")
        elif raw[:2] == b"\x1f\x8b":
            raw, name = gzip.decompress(raw), _strip_suffix(name, ".gz")
    except (lzma.LZMAError, EOFError, OSError) as exc:
        raise BadReleaseFile(f"{path.name} is a damaged compressed file ({exc})") from exc
    if raw[:4] == b"PK\x03\x04" and not _is_xlsx(raw):
        name, raw = _zip_member(raw, path.name, member_pattern)
    if not raw:
        raise BadReleaseFile(f"{path.name} holds no data")
    return SourceFile(name=name, data=raw, sha256=sha)


def _strip_suffix(name: str, suffix: str) -> str:
    return name[: -len(suffix)] if name.lower().endswith(suffix) else name


def _is_xlsx(raw: bytes) -> bool:
    """True for an Excel workbook (itself a zip) rather than a release zip that holds files."""
    try:
        return "xl/workbook.xml" in zipfile.ZipFile(io.BytesIO(raw)).namelist()
    except zipfile.BadZipFile:
        return False


def _zip_member(raw: bytes, zip_name: str, pattern: str | None) -> tuple[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        names = [n for n in archive.namelist() if not n.endswith("/")]
        if pattern:
            names = [n for n in names if re.search(pattern, Path(n).name, re.I)]
        if not names:
            raise BadReleaseFile(f"{zip_name} holds no file this importer reads")
        # Prefer the largest match: release zips carry one main file and small readmes.
        best = max(names, key=lambda n: archive.getinfo(n).file_size)
        return Path(best).name, archive.read(best)
    except zipfile.BadZipFile as exc:
        raise BadReleaseFile(f"{zip_name} is a damaged zip file") from exc


MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
               "october", "november", "december"]
_MONTHS = {name: number for number, name in enumerate(MONTH_NAMES, start=1)}
_MONTHS.update({name[:3]: number for name, number in list(_MONTHS.items())})


def effective_from_name(name: str) -> str | None:
    """The date a release file's name states, as YYYY-MM-DD, or None.

    Official names say it as April-1-2026 (CDC tabular), 2024-07 or 2020_04 (tables, CMS quarterly files),
    2024_JUL (CMS HCPCS) or 2024Q3 (NCCI quarters).
    """
    lowered = name.lower()
    match = re.search(r"(" + "|".join(MONTH_NAMES) + r")[-_ ]?(\d{1,2})[-_ ,]+(20\d\d)", lowered)
    if match:
        return date(int(match.group(3)), _MONTHS[match.group(1)], int(match.group(2))).isoformat()
    match = re.search(r"(20\d\d)[-_](0[1-9]|1[0-2])(?!\d)", lowered)
    if match:
        return f"{match.group(1)}-{match.group(2)}-01"
    match = re.search(r"(20\d\d)[-_]?(" + "|".join(n[:3] for n in MONTH_NAMES) + r")", lowered)
    if match:
        return f"{match.group(1)}-{_MONTHS[match.group(2)]:02d}-01"
    match = re.search(r"(20\d\d)[-_]?q([1-4])", lowered)
    if match:
        return f"{match.group(1)}-{(int(match.group(2)) - 1) * 3 + 1:02d}-01"
    return None


def iso_date(text: str) -> str | None:
    """YYYYMMDD or YYYY-MM-DD in a data field -> YYYY-MM-DD; None for '*', blanks and other text."""
    digits = re.sub(r"\D", "", text or "")
    if len(digits) == 8 and digits[:2] in ("19", "20", "99"):
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}"
    return None


def xlsx_rows(source: SourceFile) -> Iterator[list[str]]:
    """Yield the first worksheet's rows as strings ("" for empty cells), or raise BadReleaseFile."""
    import warnings

    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CMS workbooks carry page headers openpyxl cannot parse
        try:
            book = openpyxl.load_workbook(io.BytesIO(source.data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise BadReleaseFile(f"{source.name} is not a readable xlsx workbook") from exc
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield ["" if c is None else str(c) for c in row]


def decode_text(source: SourceFile) -> str:
    """Decode a text release file: UTF-8 when it is, else Windows-1252 (CMS files use it)."""
    if b"\x00" in source.data[:4096]:
        raise BadReleaseFile(f"{source.name} is a binary file, not a text release file")
    try:
        return source.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return source.data.decode("cp1252", errors="replace")


def already_imported(db: sqlite_utils.Database, system: str, sha256: str) -> dict | None:
    """Return the release row already imported from a file with this sha256, if any."""
    rows = list(
        db.query("SELECT * FROM releases WHERE system = ? AND sha256 = ?", [system, sha256])
    )
    return rows[0] if rows else None


def store_release(
    db: sqlite_utils.Database,
    release: ReleaseData,
    source: SourceFile,
    progress: Progress | None = None,
    on_new_current: Callable[[sqlite_utils.Database, dict, dict], None] | None = None,
) -> ImportResult:
    """Write a release in one transaction; it becomes current if it is the newest of its system."""
    started = time.perf_counter()
    existing = already_imported(db, release.system, source.sha256)
    if existing:
        return _result(existing, "already_imported", started)
    if not release.tables and not any(c["billable"] for c in release.codes):
        raise BadReleaseFile(f"{source.name} holds no billable {release.system} codes")
    with transaction(db) as conn:
        previous = current_release(db, release.system)
        release_id = _insert_release_row(conn, release, source)
        rows = _insert_rows(conn, release_id, release, progress)
        if release.tables:
            if not rows:
                raise BadReleaseFile(f"{source.name} holds no {release.system} rows")
            # Releases of edits or policies count their rows where code releases count billable codes.
            conn.execute("UPDATE releases SET billable_count = ?, code_count = ? WHERE id = ?",
                         [rows, rows, release_id])
        _flip_current(conn, release.system)
        if release.system in search_index.SYSTEMS and not search_index.is_current(db, release.system):
            search_index.rebuild(db, release.system)
        new = db["releases"].get(release_id)
        if on_new_current and previous and new["current"]:
            on_new_current(db, previous, new)  # diff and alerts commit with the release, or not at all
    row = db["releases"].get(release_id)
    return _result(row, "imported", started)


def _insert_release_row(conn, release: ReleaseData, source: SourceFile) -> int:
    billable = sum(1 for c in release.codes if c["billable"])
    cur = conn.execute(
        "INSERT INTO releases (system, label, title, effective_date, source_name, sha256,"
        " imported_at, code_count, billable_count, current) VALUES (?,?,?,?,?,?,?,?,?,0)",
        [
            release.system,
            release.label,
            release.title,
            release.effective_date,
            source.name,
            source.sha256,
            datetime.now(timezone.utc).isoformat(timespec="seconds"),
            len(release.codes),
            billable,
        ],
    )
    return cur.lastrowid


CODE_COLUMNS = (
    "code", "display", "description", "short_description", "parent",
    "billable", "kind", "chapter", "block", "seq", "extra",
)


def _insert_rows(conn, release_id: int, release: ReleaseData, progress: Progress | None) -> int:
    """Insert the release's codes, notes and table rows; return how many table rows were written."""
    placeholders = ",".join("?" * (len(CODE_COLUMNS) + 1))
    sql = f"INSERT INTO codes (release_id, {', '.join(CODE_COLUMNS)}) VALUES ({placeholders})"
    total = len(release.codes)
    batch = 20_000
    for start in range(0, total, batch):
        chunk = release.codes[start : start + batch]
        conn.executemany(
            sql, ([release_id] + [_cell(c.get(col)) for col in CODE_COLUMNS] for c in chunk)
        )
        if progress:
            progress(min(start + batch, total), total)
    conn.executemany(
        "INSERT INTO notes (release_id, code, kind, seq, text) VALUES (?,?,?,?,?)",
        ((release_id, n["code"], n["kind"], n["seq"], n["text"]) for n in release.notes),
    )
    conn.executemany(
        "INSERT INTO seventh_characters (release_id, code, character, meaning) VALUES (?,?,?,?)",
        ((release_id, s["code"], s["character"], s["meaning"]) for s in release.seventh_characters),
    )
    written = 0
    for table, (columns, rows) in release.tables.items():
        if table == "ncci_ptp":  # 2.5 million rows a quarter: stored compactly (codedata/ptp_store.py)
            written += ptp_store.write_edits(conn, release_id, rows)
            continue
        marks = ",".join("?" * (len(columns) + 1))
        cursor = conn.executemany(f"INSERT INTO {table} (release_id, {', '.join(columns)}) VALUES ({marks})",
                                  ((release_id, *row) for row in rows))
        written += cursor.rowcount
    return written


def _cell(value):
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value


def _flip_current(conn, system: str) -> None:
    # The newest effective date is current: importing an older release for history never rolls back.
    conn.execute("UPDATE releases SET current = 0 WHERE system = ? AND current = 1", [system])
    conn.execute(
        "UPDATE releases SET current = 1 WHERE id = (SELECT id FROM releases WHERE system = ?"
        " ORDER BY effective_date DESC, id DESC LIMIT 1)",
        [system],
    )


def _result(row: dict, status: str, started: float) -> ImportResult:
    return ImportResult(
        status=status,
        system=row["system"],
        release_id=row["id"],
        label=row["label"],
        title=row["title"],
        effective_date=row["effective_date"],
        source_name=row["source_name"],
        sha256=row["sha256"],
        code_count=row["code_count"],
        billable_count=row["billable_count"],
        current=bool(row["current"]),
        seconds=round(time.perf_counter() - started, 3),
    )
