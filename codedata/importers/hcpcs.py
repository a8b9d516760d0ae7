"""HCPCS Level II importers: the CMS alpha-numeric file (fixed-width txt, xlsx, release zip) and medcode's
compact bundled form (a TSV written from a CMS release, see codedata/data/README.md)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadReleaseFile
from .common import (MONTH_NAMES, ReleaseData, SourceFile, decode_text, effective_from_name, iso_date, read_source,
                     xlsx_rows)

SYSTEM = "hcpcs"
COMPACT_MAGIC = "# medcode compact HCPCS Level II release"
COMPACT_COLUMNS = ["code", "long_description", "short_description", "added", "action_effective",
                   "terminated", "action", "coverage", "betos", "xref"]

# Fixed-width layout (HCPCS2019_recordlayout.txt), 0-based slices of the 320-byte record.
TXT_FIELDS = {
    "code": (0, 5), "sequence": (5, 10), "recid": (10, 11), "long": (11, 91), "short": (91, 119),
    "xref": (204, 209), "coverage": (229, 230), "betos": (256, 259), "added": (268, 276),
    "action_effective": (276, 284), "terminated": (284, 292), "action": (292, 293),
}
# Record ids: 3/4 = procedure first line/continuation; 7/8 = modifier first line/continuation.
FIRST_LINE, CONTINUATION = {"3", "7"}, {"4", "8"}
XLSX_COLUMNS = {
    "HCPC": "code", "RECID": "recid", "LONG DESCRIPTION": "long", "SHORT DESCRIPTION": "short",
    "COV": "coverage", "BETOS": "betos", "ADD DT": "added", "ACT EFF DT": "action_effective",
    "TERM DT": "terminated", "ACTION CD": "action", "XREF1": "xref",
}
RECORD_LINE = re.compile(r"^[ A-Z0-9]{5}\d{4,5}[3478]")


@dataclass
class _Entry:
    code: str
    modifier: bool
    long: list[str] = field(default_factory=list)
    fields: dict = field(default_factory=dict)


def load(path: str | Path, label: str | None = None, effective: str | None = None) -> tuple[ReleaseData, SourceFile]:
    """Read and parse a HCPCS Level II release file from disk."""
    source = read_source(path, member_pattern=r"(anweb.*\.(txt|xlsx)|hcpcs.*\.tsv)$")
    return parse(source, label, effective), source


def parse(source: SourceFile, label: str | None = None, effective: str | None = None) -> ReleaseData:
    """Return the release an official HCPCS file (txt/xlsx) or the compact bundled form holds."""
    if source.data[:4] == b"PK\x03\x04":
        records = _xlsx_records(source)
    else:
        text = decode_text(source)
        if text.startswith(COMPACT_MAGIC):
            return parse_compact(text, source.name, label, effective)
        records = _txt_records(text, source.name)
    entries = _assemble(records, source.name)
    effective = effective or _effective_from_name(source.name)
    return _release(entries, label or effective[:7], effective)


def parse_record_line(line: str) -> dict | None:
    """Return the fields of one fixed-width record line, or None when the line is not a record."""
    if not RECORD_LINE.match(line):
        return None
    padded = line.ljust(320)
    return {name: padded[a:b].strip() for name, (a, b) in TXT_FIELDS.items()}


def _txt_records(text: str, name: str) -> list[dict]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        record = parse_record_line(line.rstrip("\r\n"))
        if record is not None:
            records.append(record)
        elif records and line.strip():
            # Notice paragraphs come before the first record; text after it means a damaged file.
            raise BadReleaseFile(f"{name} line {number} is not a HCPCS record")
    if not records:
        raise BadReleaseFile(f"{name} holds no HCPCS records (is it the alpha-numeric ANWEB file?)")
    return records


def _xlsx_records(source: SourceFile) -> list[dict]:
    columns = None
    records = []
    for cells in xlsx_rows(source):
        if columns is None:
            # Some quarterly workbooks start with a notice paragraph before the header row.
            if "HCPC" in cells and "RECID" in cells:
                columns = {XLSX_COLUMNS[c]: i for i, c in enumerate(cells) if c in XLSX_COLUMNS}
            continue
        if any(cells):
            records.append({name: cells[i].strip() if i < len(cells) else "" for name, i in columns.items()})
    if columns is None:
        raise BadReleaseFile(f"{source.name} has no HCPC/RECID header row: not a HCPCS alpha-numeric workbook")
    return records


def _assemble(records: list[dict], name: str) -> list[_Entry]:
    entries: dict[tuple[str, bool], _Entry] = {}
    for record in records:
        recid, code = record["recid"], record["code"].strip().upper()
        if recid not in FIRST_LINE | CONTINUATION or not code:
            raise BadReleaseFile(f"{name} has a record with an unknown record id {recid[:3]!r}")
        key = (code, recid in ("7", "8"))
        entry = entries.setdefault(key, _Entry(code=code, modifier=key[1]))
        entry.long.append(record["long"])
        if recid in FIRST_LINE:
            entry.fields = record
    return list(entries.values())


def _release(entries: list[_Entry], label: str, effective: str) -> ReleaseData:
    codes = []
    cutoff = effective.replace("-", "")
    for entry in entries:
        f = entry.fields
        terminated = iso_date(f.get("terminated", ""))
        extra = {k: f.get(k) or None for k in ("coverage", "betos", "action", "xref")}
        extra.update(added=iso_date(f.get("added", "")), action_effective=iso_date(f.get("action_effective", "")),
                     terminated=terminated)
        billable = not entry.modifier and (not terminated or terminated.replace("-", "") >= cutoff)
        codes.append({
            "code": entry.code, "display": entry.code,
            "description": " ".join(" ".join(entry.long).split()),
            "short_description": f.get("short") or None, "parent": None, "billable": int(billable),
            "kind": "modifier" if entry.modifier else "code",
            "chapter": None if entry.modifier else entry.code[0], "block": None,
            "seq": len(codes), "extra": extra,
        })
    return ReleaseData(system=SYSTEM, label=label, title=_title(effective), effective_date=effective, codes=codes)


def _title(effective: str) -> str:
    year, month = int(effective[:4]), int(effective[5:7])
    return f"HCPCS Level II, {MONTH_NAMES[month - 1].title()} {year} release"


def _effective_from_name(name: str) -> str:
    stated = effective_from_name(name)
    if stated:
        return stated
    match = re.search(r"hcpc(20\d\d)", name.lower())
    if match:  # the annual file (HCPC2020_ANWEB) takes effect on January 1
        return f"{match.group(1)}-01-01"
    raise BadReleaseFile(f"cannot tell the release date from the name {name!r}: pass --effective YYYY-MM-DD")


# --- compact bundled form ------------------------------------------------------------------------------


def parse_compact(text: str, name: str, label: str | None = None, effective: str | None = None) -> ReleaseData:
    """Return the release held in medcode's compact TSV (header lines `# key: value`, then a table)."""
    meta, rows = {}, []
    lines = text.splitlines()
    body = [ln for ln in lines if not ln.startswith("#")]
    for line in lines:
        if line.startswith("# ") and ":" in line:
            key, _, value = line[2:].partition(":")
            meta[key.strip()] = value.strip()
    if not body or body[0].split("\t") != COMPACT_COLUMNS:
        raise BadReleaseFile(f"{name} has a compact HCPCS header but not its columns")
    for number, line in enumerate(body[1:], start=2):
        cells = line.split("\t")
        if len(cells) != len(COMPACT_COLUMNS):
            raise BadReleaseFile(f"{name} row {number} has {len(cells)} columns, expected {len(COMPACT_COLUMNS)}")
        rows.append(dict(zip(COMPACT_COLUMNS, cells)))
    entries = [
        _Entry(code=r["code"], modifier=len(r["code"]) == 2, long=[r["long_description"]],
               fields={"short": r["short_description"], **{k: r[k] for k in COMPACT_COLUMNS[3:]}})
        for r in rows
    ]
    effective = effective or meta.get("effective") or _effective_from_name(name)
    return _release(entries, label or meta.get("label") or effective[:7], effective)


def write_compact(codes: list[dict], label: str, effective: str, source_note: str) -> str:
    """Return the compact TSV text for `codes` (dicts keyed by COMPACT_COLUMNS)."""
    header = [COMPACT_MAGIC, f"# label: {label}", f"# effective: {effective}", f"# source: {source_note}",
              "\t".join(COMPACT_COLUMNS)]
    lines = ["\t".join((c.get(col) or "").replace("\t", " ") for col in COMPACT_COLUMNS) for c in codes]
    return "\n".join(header + lines) + "\n"
