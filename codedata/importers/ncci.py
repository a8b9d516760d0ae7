"""NCCI importers (CMS): procedure-to-procedure (PTP), medically unlikely (MUE) and add-on code (AOC) edits,
from the official files (tab-delimited text or xlsx with notice lines before the header, or their zip) and
from tables with the same content (../shared/data/ncci)."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Iterator

from ..errors import BadReleaseFile
from .common import ReleaseData, SourceFile, decode_text, effective_from_name, iso_date, read_source, xlsx_rows

ACTIVE = "9999-12-31"
CODE = re.compile(r"^[A-Z0-9]{4,5}$")
# Header cells (lower-cased, prefix match) -> our field, per edit kind.
HEADERS = {
    "ptp": {"column 1": "column1", "column1": "column1", "column 2": "column2", "column2": "column2",
            "effective": "effective", "deletion": "deletion", "modifier": "modifier_indicator",
            "ptp edit rationale": "rationale", "ptp_edit_rationale": "rationale"},
    "mue": {"hcpcs": "code", "mue_units": "units", "practitioner services mue": "units",
            "outpatient hospital services mue": "units", "dme supplier services mue": "units",
            "mue adjudication": "mai", "mue_mai": "mai", "mue rationale": "rationale", "mue_rationale": "rationale",
            "mue_service": "service"},
    "aoc": {"add-on code": "add_on_code", "add_on_code": "add_on_code", "addon code": "add_on_code",
            "primary code": "primary_code", "primary_code": "primary_code", "aoc edit type": "edit_type",
            "aoc_edit_type": "edit_type"},
}
COLUMNS = {
    "ptp": ["column1", "column2", "effective", "deletion", "modifier_indicator", "rationale"],
    "mue": ["code", "units", "mai", "rationale", "service"],
    "aoc": ["primary_code", "add_on_code", "edit_type"],
}
TABLES = {"ptp": "ncci_ptp", "mue": "ncci_mue", "aoc": "ncci_aoc"}


def load(path: str | Path, label: str | None = None, effective: str | None = None) -> tuple[ReleaseData, SourceFile]:
    """Read an NCCI edit file (PTP, MUE or AOC) from disk."""
    source = read_source(path, member_pattern=r"\.(txt|csv|xlsx)$")
    return parse(source, label, effective), source


def parse(source: SourceFile, label: str | None = None, effective: str | None = None) -> ReleaseData:
    """Return the edits a file holds as a release of ncci_ptp_*, ncci_mue_* or ncci_aoc."""
    rows = xlsx_rows(source) if source.data[:4] == b"PK\x03\x04" else _text_rows(source)
    kind, header_at, fields = _find_header(rows, source.name)
    setting = _setting(source.name)
    system = "ncci_aoc" if kind == "aoc" else f"ncci_{kind}_{setting}"
    effective = effective or _effective_from_name(source.name)
    # A generator: the PTP file has 2.5 million rows, streamed into the insert, never listed.
    edits = _edits(kind, rows, header_at + 1, fields, source.name)
    name = {"ptp": "PTP", "mue": "MUE", "aoc": "add-on code"}[kind]
    return ReleaseData(
        system=system, label=label or effective[:7], effective_date=effective, codes=[],
        title=f"NCCI {name} edits{'' if kind == 'aoc' else ' ' + setting} {effective[:7]}",
        tables={TABLES[kind]: (COLUMNS[kind], edits)},
    )


def _text_rows(source: SourceFile) -> Iterator[list[str]]:
    head = decode_text(SourceFile(source.name, source.data[:20000], source.sha256))
    delimiter = "\t" if head.count("\t") > head.count(",") else ","
    if source.data.isascii():
        # Decoded as it is read: the PTP file is 120 MB of text, which io.StringIO would hold at 4 bytes a
        # character.
        return csv.reader(io.TextIOWrapper(io.BytesIO(source.data), encoding="ascii", newline=""),
                          delimiter=delimiter)
    return csv.reader(io.StringIO(decode_text(source)), delimiter=delimiter)


def _find_header(rows, name: str) -> tuple[str, int, dict[str, int]]:
    for index, row in enumerate(rows):
        cells = [c.strip().lower() for c in row]
        for kind, names in HEADERS.items():
            fields = {}
            for position, cell in enumerate(cells):
                field = next((f for prefix, f in names.items() if cell.startswith(prefix)), None)
                if field and field not in fields:
                    fields[field] = position
            required = {"ptp": {"column1", "column2"}, "mue": {"code", "units"},
                        "aoc": {"add_on_code", "primary_code"}}[kind]
            if required <= set(fields):
                return kind, index, fields
        if index > 200:
            break
    raise BadReleaseFile(f"{name} has no NCCI PTP, MUE or add-on code header row")


def _edits(kind: str, rows, start: int, fields: dict[str, int], name: str) -> Iterator[tuple]:
    if kind == "ptp":
        yield from _ptp_edits(rows, start, fields, name)
        return
    for number, row in enumerate(rows, start=start + 1):
        cells = [c.strip() for c in row]
        value = {f: (cells[i] if i < len(cells) else "") for f, i in fields.items()}
        first = value[COLUMNS[kind][0]].upper().rstrip("*")
        if not first or not CODE.match(first):
            if any(cells) and number > start + 3:
                raise BadReleaseFile(f"{name} line {number} is not an NCCI edit row")
            continue  # the second header line and blank lines of the official files
        yield _edit(kind, value, first)


def _ptp_edits(rows, start: int, fields: dict[str, int], name: str) -> Iterator[tuple]:
    """PTP rows as (column1, column2, effective, deletion, modifier indicator, rationale), dates left as the file
    writes them (YYYYMMDD, YYYY-MM-DD or '*'): 2.5 million rows a quarter, so no per-row dictionaries here;
    ptp_store reads the dates."""
    at = [fields.get(f, -1) for f in COLUMNS["ptp"]]
    width = max(at) + 1
    match = CODE.match
    for number, row in enumerate(rows, start=start + 1):
        if len(row) < width:
            row = row + [""] * (width - len(row))
        first = row[at[0]].strip().upper().rstrip("*")
        if not match(first):
            if any(c.strip() for c in row) and number > start + 3:
                raise BadReleaseFile(f"{name} line {number} is not an NCCI edit row")
            continue  # the second header line and blank lines of the official files
        yield (first, row[at[1]].strip().upper(), row[at[2]].strip() if at[2] >= 0 else "",
               row[at[3]].strip() if at[3] >= 0 else "", row[at[4]].strip()[:1] if at[4] >= 0 else "",
               (row[at[5]].strip() or None) if at[5] >= 0 else None)


def _edit(kind: str, value: dict, first: str) -> tuple:
    if kind == "ptp":
        return (first, value["column2"].upper(), iso_date(value.get("effective", "")),
                iso_date(value.get("deletion", "")) or ACTIVE, value.get("modifier_indicator", "")[:1],
                value.get("rationale") or None)
    if kind == "mue":
        units = re.match(r"\d+", value["units"])
        return (first, int(units.group()) if units else None, value.get("mai", "")[:1],
                value.get("rationale") or None, value.get("service") or None)
    return (value["primary_code"].upper(), value["add_on_code"].upper(), value.get("edit_type", "")[:1])


def _setting(name: str) -> str:
    lowered = name.lower()
    if "outpatient" in lowered or "hospital" in lowered or "hos" in lowered.split("_"):
        return "outpatient"
    if "dme" in lowered:
        return "dme"
    return "practitioner"


def _effective_from_name(name: str) -> str:
    stated = effective_from_name(name)
    if stated:
        return stated
    match = re.search(r"(20\d\d)", name)  # an annual file: January 1
    if match:
        return f"{match.group(1)}-01-01"
    raise BadReleaseFile(f"cannot tell the quarter from the name {name!r}: pass --effective YYYY-MM-DD")
