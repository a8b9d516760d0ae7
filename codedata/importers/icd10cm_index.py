"""ICD-10-CM index tables (CDC/NCHS XML): the Table of Drugs and Chemicals, the External Cause of Injuries
Index and the Neoplasm Table. Each belongs to one ICD-10-CM release: a file is stored with the release of its
fiscal year (`<version>`) and refused by any other. Search reads the terms as extra names of the codes they
point to (codedata.search_index)."""
from __future__ import annotations

import hashlib
import lzma
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import sqlite_utils

from ..errors import BadReleaseFile

# The bundled copies (public domain, CDC), April 1 2026 release (FY2026), beside the tabular of the same release.
BUNDLED = ("icd10cm-drug-2026-04.xml.xz", "icd10cm-eindex-2026-04.xml.xz", "icd10cm-neoplasm-2026-04.xml.xz")
PARTS = {"drug": "Table of Drugs and Chemicals", "eindex": "External Cause of Injuries Index",
         "neoplasm": "Neoplasm Table"}
# Column headings of the two tables (<indexHeading> in the files); the drug table's intents read as the
# tabular's own words ("Poisoning by ..., accidental (unintentional)").
DRUG_COLUMNS = {2: "poisoning accidental (unintentional)", 3: "poisoning intentional self-harm",
                4: "poisoning assault", 5: "poisoning undetermined", 6: "adverse effect", 7: "underdosing"}
NEOPLASM_COLUMNS = {2: "malignant primary", 3: "malignant secondary", 4: "carcinoma in situ", 5: "benign",
                    6: "uncertain behavior", 7: "unspecified behavior"}


@dataclass
class IndexFile:
    part: str
    version: str
    name: str
    sha256: str
    rows: list[tuple[str, str, str, int]] = field(default_factory=list)  # path, code (undotted), heading, column


def create_schema(db: sqlite_utils.Database) -> None:
    """Tables of migration 015: the index files stored per release and their term -> code rows."""
    db["icd10cm_index_files"].create({"release_id": int, "part": str, "version": str, "source_name": str,
                                      "sha256": str, "rows": int}, pk=("release_id", "part"))
    db["icd10cm_index"].create({"release_id": int, "part": str, "path": str, "code": str, "heading": str,
                                "col": int})
    db["icd10cm_index"].create_index(["release_id", "code"])


def parse(data: bytes, name: str) -> IndexFile:
    """Return the terms of one index XML file; raise BadReleaseFile for anything else."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise BadReleaseFile(f"{name} is not well-formed XML ({exc})") from exc
    if root.tag != "ICD10CM.index":
        raise BadReleaseFile(f"{name} is not an ICD-10-CM index file (Table of Drugs, External Cause Index "
                             "or Neoplasm Table)")
    heads = {h.get("col"): (h.text or "").strip().lower() for h in root.iter("head")}
    title = (root.findtext("title") or "").lower()
    if heads.get("1") == "substance":
        part, columns = "drug", DRUG_COLUMNS
    elif heads.get("1") == "neoplasm":
        part, columns = "neoplasm", NEOPLASM_COLUMNS
    elif "external cause" in title:
        part, columns = "eindex", {}
    else:
        raise BadReleaseFile(f"{name} is an ICD-10-CM index file medcode does not read (only the Table of "
                             "Drugs, the External Cause Index and the Neoplasm Table)")
    version = (root.findtext("version") or "").strip()
    if not version.isdigit():
        raise BadReleaseFile(f"{name} does not say which ICD-10-CM year it belongs to (<version>)")
    found = IndexFile(part=part, version=version, name=name, sha256=hashlib.sha256(data).hexdigest())
    for letter in root.findall("letter"):
        for term in letter.findall("mainTerm"):
            _walk(term, [], columns, found.rows)
    if not found.rows:
        raise BadReleaseFile(f"{name} holds no index terms with codes")
    return found


def _title(element: ET.Element) -> str:
    node = element.find("title")
    return " ".join("".join(node.itertext()).split()) if node is not None else ""


def _walk(element: ET.Element, path: list[str], columns: dict[int, str], rows: list) -> None:
    here = path + [_title(element)]
    joined = ", ".join(t for t in here if t)
    code = element.findtext("code")
    if code and code.strip():
        rows.append((joined, _undot(code), "", 0))
    for cell in element.findall("cell"):
        value = (cell.text or "").strip()
        col = int(cell.get("col", "0"))
        if value and value.strip("-") and col in columns:
            rows.append((joined, _undot(value), columns[col], col))
    for child in element.findall("term"):
        _walk(child, here, columns, rows)


def _undot(code: str) -> str:
    """T39.1X1 -> T391X1; C79.8- (more characters needed) -> C798."""
    return code.strip().rstrip("-").replace(".", "").upper()


def fiscal_year(effective_date: str | None) -> str | None:
    """The ICD-10-CM year a release date belongs to: October 1 starts the next fiscal year."""
    if not effective_date:
        return None
    year, month = int(effective_date[:4]), int(effective_date[5:7])
    return str(year + 1 if month >= 10 else year)


def store(db: sqlite_utils.Database, release: dict, index: IndexFile) -> int:
    """Store an index file with `release` (call inside a transaction); refuse a file of another year."""
    year = fiscal_year(release["effective_date"])
    if index.version != year:
        raise BadReleaseFile(f"{index.name} is the {index.version} ICD-10-CM {PARTS[index.part]}; release "
                             f"{release['label']} is ICD-10-CM {year}: an index is kept only with its own release")
    conn = db.conn
    conn.execute("DELETE FROM icd10cm_index WHERE release_id = ? AND part = ?", [release["id"], index.part])
    conn.executemany("INSERT INTO icd10cm_index (release_id, part, path, code, heading, col) VALUES (?,?,?,?,?,?)",
                     ((release["id"], index.part, *row) for row in index.rows))
    conn.execute("INSERT OR REPLACE INTO icd10cm_index_files (release_id, part, version, source_name, sha256, rows)"
                 " VALUES (?,?,?,?,?,?)", [release["id"], index.part, index.version, index.name, index.sha256,
                                           len(index.rows)])
    return len(index.rows)


def read(path: str | Path) -> IndexFile:
    """Read an index file (.xml, .xml.xz) from disk."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        data = lzma.decompress(raw) if path.name.endswith(".xz") else raw
    except (OSError, lzma.LZMAError) as exc:
        raise BadReleaseFile(f"cannot read {path.name}: {exc}") from exc
    return parse(data, path.name)


def import_file(db: sqlite_utils.Database, path: str | Path) -> dict:
    """Store an index file with the imported ICD-10-CM release of its year (the current one if several);
    return that release. Refused when no release of that year is imported."""
    from ..db import transaction

    index = read(path)
    candidates = [r for r in db.query("SELECT * FROM releases WHERE system = 'icd10cm' ORDER BY current DESC,"
                                      " effective_date DESC") if fiscal_year(r["effective_date"]) == index.version]
    if not candidates:
        raise BadReleaseFile(f"{index.name} belongs to ICD-10-CM {index.version}; import that year's tabular first")
    with transaction(db):
        store(db, candidates[0], index)
        db.conn.execute("DELETE FROM search_state WHERE system = 'icd10cm'")  # search reads it on next use
    return candidates[0]


def attach_bundled(db: sqlite_utils.Database, release: dict) -> int:
    """Store the bundled index files of the release's year that it lacks (inside the import transaction)."""
    have = {r["part"] for r in db.query("SELECT part FROM icd10cm_index_files WHERE release_id = ?", [release["id"]])}
    added = 0
    for name in BUNDLED:
        index = read(Path(str(files("codedata") / "data" / name)))
        if index.part not in have and index.version == fiscal_year(release["effective_date"]):
            added += store(db, release, index)
    return added


def terms_by_code(db: sqlite_utils.Database, release_id: int) -> dict[str, list[tuple[str, str, str]]]:
    """Return code -> [(part, path, heading)] for the index terms stored with a release."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    for row in db.query("SELECT part, path, code, heading FROM icd10cm_index WHERE release_id = ?", [release_id]):
        found.setdefault(row["code"], []).append((row["part"], row["path"], row["heading"]))
    return found
