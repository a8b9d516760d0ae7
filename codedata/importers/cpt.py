"""CPT importers: medcode's starter set (plain-language text written for this project), AMA CPT data files
(tab-delimited code + descriptor), and CMS spreadsheets that carry CPT short descriptors.

CPT descriptors are AMA copyright: the project ships none. Files a practice licenses are imported into its
own database and labelled with their source.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

from ..errors import BadReleaseFile
from .common import ReleaseData, SourceFile, decode_text, read_source, xlsx_rows

SYSTEM = "cpt"
STARTER_HEADER = ["code", "category", "section", "add_on", "description"]
STARTER_TITLE = "medcode CPT starter set (plain-language descriptions written for medcode, not AMA text)"
CPT_SHAPE = re.compile(r"^(\d{5}|\d{4}[FTU])$")
CATEGORY_BY_SUFFIX = {"F": "II", "T": "III", "U": "PLA"}
# AMA data file names say which descriptor they hold.
DESCRIPTOR_KINDS = [("clinician", "clinician"), ("consumer", "consumer"), ("long", "long"),
                    ("med", "medium"), ("short", "short")]


def category_of(code: str) -> str:
    """Return the CPT category of a well-formed code number: I, II, III or PLA."""
    return CATEGORY_BY_SUFFIX.get(code[-1], "I")


def load(path: str | Path, label: str | None = None, effective: str | None = None) -> tuple[ReleaseData, SourceFile]:
    """Read and parse a CPT descriptor file (or the starter set) from disk."""
    source = read_source(path, member_pattern=r"\.(txt|tsv|csv|xlsx)$")
    return parse(source, label, effective), source


def parse(source: SourceFile, label: str | None = None, effective: str | None = None) -> ReleaseData:
    """Return the CPT descriptors a file holds, whatever its accepted format."""
    if source.data[:4] == b"PK\x03\x04":
        rows = list(xlsx_rows(source))
        return _release(_cms_descriptors(rows, source.name), source.name, "short", label, effective)
    text = decode_text(source)
    first = text.split("\n", 1)[0].rstrip("\r").split("\t")
    if first == STARTER_HEADER:
        return parse_starter(text, source.name)
    rows = list(csv.reader(io.StringIO(text), delimiter="\t" if "\t" in text[:5000] else ","))
    if _header_index(rows) is not None:
        return _release(_cms_descriptors(rows, source.name), source.name, "short", label, effective)
    return _release(_ama_descriptors(rows, source.name), source.name, _kind_from_name(source.name), label, effective)


def parse_starter(text: str, name: str) -> ReleaseData:
    """Return the starter set as a release with no effective date (it ranks below any imported file)."""
    codes = []
    for number, row in enumerate(csv.DictReader(io.StringIO(text), delimiter="\t"), start=2):
        if not CPT_SHAPE.match(row["code"] or "") or not row["description"]:
            raise BadReleaseFile(f"{name} row {number} is not a starter-set row")
        codes.append(_row(row["code"], row["description"], len(codes), category=row["category"],
                          section=row["section"], add_on=row["add_on"] == "yes",
                          source="medcode starter set (own plain-language text)"))
    return ReleaseData(system=SYSTEM, label="starter", title=STARTER_TITLE, effective_date=None, codes=codes)


def _row(code: str, text: str, seq: int, category: str | None = None, section: str | None = None,
         add_on: bool | None = None, source: str = "", kind: str | None = None) -> dict:
    return {
        "code": code, "display": code, "description": text, "short_description": None, "parent": None,
        "billable": 1, "kind": "code", "chapter": category or category_of(code), "block": section,
        "seq": seq, "extra": {"add_on": add_on, "source": source, "descriptor_kind": kind},
    }


def parse_descriptor_line(line: str) -> tuple[str, str] | None:
    """Return (code, descriptor) from one tab-delimited AMA data-file line, or None for other lines."""
    cells = [c.strip() for c in line.rstrip("\r\n").split("\t")]
    code = next((c.upper() for c in cells if CPT_SHAPE.match(c.upper())), None)
    text = next((c for c in reversed(cells) if c and c.upper() != code), None)
    return (code, " ".join(text.split())) if code and text else None


def _ama_descriptors(rows: list[list[str]], name: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for row in rows:
        parsed = parse_descriptor_line("\t".join(row))
        if parsed and parsed[0] not in found:  # clinician files list several descriptors per code
            found[parsed[0]] = parsed[1]
    if not found:
        raise BadReleaseFile(f"{name} holds no CPT code + descriptor lines (tab-delimited)")
    return found


def _header_index(rows: list[list]) -> int | None:
    for index, row in enumerate(rows[:50]):
        cells = [str(c or "").strip().lower() for c in row]
        if "hcpcs code" in cells and "short descriptor" in cells:
            return index
    return None


def _cms_descriptors(rows: list[list], name: str) -> dict[str, str]:
    header = _header_index(rows)
    if header is None:
        raise BadReleaseFile(f"{name} has no 'HCPCS Code' and 'Short Descriptor' columns")
    cells = [str(c or "").strip().lower() for c in rows[header]]
    code_at, text_at = cells.index("hcpcs code"), cells.index("short descriptor")
    found = {}
    for row in rows[header + 1:]:
        code = str(row[code_at] or "").strip().upper() if len(row) > code_at else ""
        text = str(row[text_at] or "").strip() if len(row) > text_at else ""
        if CPT_SHAPE.match(code) and text:  # Level II codes in the same sheet belong to the HCPCS import
            found.setdefault(code, " ".join(text.split()))
    if not found:
        raise BadReleaseFile(f"{name} lists no CPT codes with short descriptors")
    return found


def _release(descriptors: dict[str, str], name: str, kind: str, label: str | None,
             effective: str | None) -> ReleaseData:
    year = re.search(r"(20\d\d)", name)
    effective = effective or (f"{year.group(1)}-01-01" if year else date.today().isoformat())
    source = f"{name} ({kind} descriptors)"
    codes = [_row(code, text, i, source=source, kind=kind) for i, (code, text) in enumerate(descriptors.items())]
    return ReleaseData(system=SYSTEM, label=label or f"{effective[:4]}-{kind}", title=f"CPT descriptors from {source}",
                       effective_date=effective, codes=codes)


def _kind_from_name(name: str) -> str:
    lowered = name.lower()
    return next((kind for token, kind in DESCRIPTOR_KINDS if token in lowered), "long")
