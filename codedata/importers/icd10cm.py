"""ICD-10-CM importers: the CDC tabular XML (plain, .xz/.gz, release zip) and the CMS order file."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

from ..codes import display_icd
from ..errors import BadReleaseFile
from .common import ReleaseData, SourceFile, decode_text, effective_from_name, read_source

SYSTEM = "icd10cm"

# Tabular XML element -> note kind stored in the notes table.
NOTE_KINDS = {
    "inclusionTerm": "inclusion_term",
    "includes": "includes",
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "codeFirst": "code_first",
    "useAdditionalCode": "use_additional_code",
    "codeAlso": "code_also",
    "notes": "note",
    "sevenChrNote": "seventh_character_note",
}

ORDER_LINE = re.compile(r"^\d{5} [A-Z0-9]{3,7} *[01] \S")


def parse(source: SourceFile, label: str | None = None, effective: str | None = None) -> ReleaseData:
    """Return the release an official ICD-10-CM file holds (tabular XML or order file)."""
    head = source.data[:512].lstrip()
    if head.startswith(b"<?xml") or head.startswith(b"<ICD10CM"):
        return parse_tabular(source, label, effective)
    text = decode_text(source)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if ORDER_LINE.match(first.rstrip("\r")):
        return parse_order_file(text, source.name, label, effective)
    raise BadReleaseFile(
        f"{source.name} is neither an ICD-10-CM tabular XML nor an ICD-10-CM order file"
    )


def load(path: str | Path, label: str | None = None, effective: str | None = None) -> tuple[ReleaseData, SourceFile]:
    """Read and parse an ICD-10-CM release file from disk."""
    source = read_source(path, member_pattern=r"(tabular.*\.xml|order.*\.txt)$")
    return parse(source, label, effective), source


# --- tabular XML -------------------------------------------------------------------------


class _TabularWalker:
    def __init__(self) -> None:
        self.codes: list[dict] = []
        self.notes: list[dict] = []
        self.sevenths: list[dict] = []

    def add(self, code: str, display: str, desc: str, parent: str | None, kind: str,
            billable: bool, chapter: str, block: str | None) -> None:
        self.codes.append({
            "code": code, "display": display, "description": desc, "short_description": None,
            "parent": parent, "billable": int(billable), "kind": kind, "chapter": chapter,
            "block": block, "seq": len(self.codes), "extra": None,
        })

    def add_notes(self, element: ET.Element, code: str) -> None:
        for child in element:
            kind = NOTE_KINDS.get(child.tag)
            if not kind:
                continue
            for seq, note in enumerate(child.iter("note")):
                text = " ".join((note.text or "").split())
                if text:
                    self.notes.append({"code": code, "kind": kind, "seq": seq, "text": text})

    def chapter(self, element: ET.Element) -> None:
        name = _text(element, "name")
        self.add(name, f"Chapter {name}", _text(element, "desc"), None, "chapter", False, name, None)
        self.add_notes(element, name)
        for section in element.findall("section"):
            shown = section.get("id") or ""
            # Single-category blocks (B10) share their category's id; key blocks as ranges (B10-B10).
            block = shown if "-" in shown else f"{shown}-{shown}"
            self.add(block, shown, _text(section, "desc"), name, "block", False, name, block)
            self.add_notes(section, block)
            for diag in section.findall("diag"):
                self.diag(diag, block, name, block, None)

    def diag(self, element: ET.Element, parent: str, chapter: str, block: str,
             seventh: tuple[str, dict[str, str], dict[str, set[str]]] | None) -> None:
        display = _text(element, "name")
        code = display.replace(".", "")
        own = _seventh_rule(element)
        if own:
            seventh = (code, own, _seventh_exceptions(element))
            self.sevenths.extend(
                {"code": code, "character": ch, "meaning": meaning} for ch, meaning in own.items()
            )
        children = element.findall("diag")
        needs_seventh = not children and seventh is not None and len(code) < 7
        billable = not children and not needs_seventh
        kind = "category" if len(code) == 3 else ("code" if billable else "subcategory")
        desc = _text(element, "desc")
        self.add(code, display, desc, parent, kind, billable, chapter, block)
        self.add_notes(element, code)
        for child in children:
            self.diag(child, code, chapter, block, seventh)
        if needs_seventh:
            self.expand_seventh(code, desc, chapter, block, seventh[1], seventh[2])

    def expand_seventh(self, code: str, desc: str, chapter: str, block: str,
                       rule: dict[str, str], exceptions: dict[str, set[str]]) -> None:
        # Placeholder X fills the code out to six characters before the 7th (S13.4 + A -> S13.4XXA).
        base = code.ljust(6, "X")
        barred = exceptions.get(base[5], set())
        for character, meaning in rule.items():
            if character in barred:
                continue
            full = base + character
            self.add(full, display_icd(full), f"{desc}, {meaning}", code, "code", True, chapter, block)


def _seventh_rule(element: ET.Element) -> dict[str, str]:
    rule = element.find("sevenChrDef")
    if rule is None:
        return {}
    return {
        ext.get("char", ""): " ".join((ext.text or "").split())
        for ext in rule.findall("extension")
        if ext.get("char")
    }


# e.g. S06: "7th characters D and S do not apply to codes in category S06 with 6th character 7 - death
# due to brain injury ..., or 8 - death due to other cause ...". The XML gives this rule only as prose.
_DOES_NOT_APPLY = re.compile(r"7th characters? (.+?) do(?:es)? not apply to codes .*? with 6th character (.+)", re.I)


def _seventh_exceptions(element: ET.Element) -> dict[str, set[str]]:
    """Return {6th character: 7th characters barred} from the element's 7th-character notes."""
    barred: dict[str, set[str]] = {}
    notes = [*element.iterfind("sevenChrNote/note"), *element.iterfind("notes/note")]
    for note in notes:
        match = _DOES_NOT_APPLY.search(" ".join((note.text or "").split()))
        if not match:
            continue
        letters = set(re.findall(r"\b([A-Z])\b", match.group(1)))
        sixths = re.findall(r"(?:^|, or |\bor )\s*([0-9A-Z]) -", match.group(2))
        for sixth in sixths:
            barred.setdefault(sixth, set()).update(letters)
    return barred


def _text(element: ET.Element, tag: str) -> str:
    found = element.find(tag)
    return " ".join((found.text or "").split()) if found is not None else ""


def parse_tabular(source: SourceFile, label: str | None = None, effective: str | None = None) -> ReleaseData:
    """Return the release held by a CDC ICD-10-CM tabular XML file, 7th characters expanded."""
    try:
        root = ET.fromstring(source.data)
    except ET.ParseError as exc:
        raise BadReleaseFile(f"{source.name} is not well-formed XML ({exc})") from exc
    if root.tag != "ICD10CM.tabular":
        raise BadReleaseFile(f"{source.name} is XML but not an ICD-10-CM tabular file")
    walker = _TabularWalker()
    for chapter in root.findall("chapter"):
        walker.chapter(chapter)
    version = _text(root, "version")
    effective = effective or effective_from_name(source.name) or _fiscal_year_start(version)
    return ReleaseData(
        system=SYSTEM,
        label=label or effective[:7],
        title=f"ICD-10-CM {version or effective[:4]} tabular, effective {effective}",
        effective_date=effective,
        codes=walker.codes,
        notes=walker.notes,
        seventh_characters=walker.sevenths,
    )


# --- order file ----------------------------------------------------------------------------


def parse_order_file(text: str, name: str, label: str | None = None, effective: str | None = None) -> ReleaseData:
    """Return the release held by a CMS ICD-10-CM order file (fixed width, one code per line)."""
    codes: list[dict] = []
    known: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        row = parse_order_line(line)
        if row is None:
            raise BadReleaseFile(f"{name} line {number} is not in the ICD-10-CM order file layout")
        code, billable, short, long = row
        parent = next((code[:n] for n in range(len(code) - 1, 2, -1) if code[:n] in known), None)
        kind = "category" if len(code) == 3 else ("code" if billable else "subcategory")
        codes.append({
            "code": code, "display": display_icd(code), "description": long or short,
            "short_description": short, "parent": parent, "billable": int(billable), "kind": kind,
            "chapter": None, "block": None, "seq": len(codes), "extra": None,
        })
        known.add(code)
    year = _year_from_name(name)
    effective = effective or effective_from_name(name) or _fiscal_year_start(year)
    return ReleaseData(
        system=SYSTEM,
        label=label or effective[:7],
        title=f"ICD-10-CM {year or effective[:4]} order file, effective {effective}",
        effective_date=effective,
        codes=codes,
    )


def parse_order_line(line: str) -> tuple[str, bool, str, str] | None:
    """Return (code, billable, short, long) from one order-file line, or None if it is not one."""
    if not ORDER_LINE.match(line):
        return None
    code, flag = line[6:13].strip(), line[14]
    return code, flag == "1", line[16:76].strip(), line[77:].strip()


# --- release dates -------------------------------------------------------------------------


def _year_from_name(name: str) -> str:
    match = re.search(r"(20\d\d)", name)
    return match.group(1) if match else ""


def _fiscal_year_start(version: str) -> str:
    # ICD-10-CM fiscal year N takes effect on October 1 of year N-1.
    if version.isdigit():
        return f"{int(version) - 1}-10-01"
    return date.today().isoformat()
