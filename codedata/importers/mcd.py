"""Medicare Coverage Database (MCD) article export: article.csv, article_x_hcpc_code.csv,
article_x_icd10_covered.csv and article_x_icd10_noncovered.csv, from a folder or a zip. Code ranges
(E11.00-E11.9, 97110-97546) are expanded at import."""
from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from datetime import date
from pathlib import Path

import sqlite_utils

from ..db import current_release
from ..errors import BadReleaseFile
from .common import ReleaseData, SourceFile

FILES = ("article.csv", "article_x_hcpc_code.csv", "article_x_icd10_covered.csv", "article_x_icd10_noncovered.csv")


def load(path: str | Path, label: str | None = None, effective: str | None = None) -> tuple[ReleaseData, SourceFile]:
    """Read an MCD article export (folder or zip) into a release of system `mcd`."""
    path = Path(path)
    tables = _read_folder(path) if path.is_dir() else _read_zip(path)
    digest = hashlib.sha256(b"".join(tables[name] for name in FILES)).hexdigest()
    rows = {name: _csv(tables[name], name) for name in FILES}
    effective = effective or _newest_update(rows) or date.today().isoformat()
    articles = [(r["article_id"], r.get("article_version", ""), r.get("title") or r.get("article_title") or "")
                for r in rows["article.csv"] if r.get("article_id")]
    procedures = [(r["article_id"], r["hcpc_code_id"].strip().upper(), r.get("hcpc_code_group", ""))
                  for r in rows["article_x_hcpc_code.csv"] if r.get("hcpc_code_id")]
    diagnoses = [(r["article_id"], r["icd10_code_id"].strip().upper(), r.get("icd10_covered_group", ""), 1)
                 for r in rows["article_x_icd10_covered.csv"] if r.get("icd10_code_id")]
    diagnoses += [(r["article_id"], r["icd10_code_id"].strip().upper(), r.get("icd10_noncovered_group", ""), 0)
                  for r in rows["article_x_icd10_noncovered.csv"] if r.get("icd10_code_id")]
    if not articles or not procedures:
        raise BadReleaseFile(f"{path.name} has no articles or no article procedure codes")
    release = ReleaseData(
        system="mcd", label=label or effective, title=f"Medicare Coverage Database articles {effective}",
        effective_date=effective, codes=[],
        tables={"policy_articles": (["article_id", "version", "title"], articles),
                "policy_procedures": (["article_id", "code", "grp"], procedures),
                "policy_diagnoses": (["article_id", "code", "grp", "covered"], diagnoses)},
    )
    return release, SourceFile(name=path.name, data=b"", sha256=digest)


def prepare(db: sqlite_utils.Database, release: ReleaseData) -> None:
    """Expand code ranges: procedure ranges numerically (or against HCPCS), diagnosis ranges against ICD-10-CM."""
    icd = current_release(db, "icd10cm")
    hcpcs = current_release(db, "hcpcs")
    columns, procedures = release.tables["policy_procedures"]
    release.tables["policy_procedures"] = (columns, [
        (article, code, group) for article, raw, group in procedures for code in _procedure_codes(db, hcpcs, raw)])
    columns, diagnoses = release.tables["policy_diagnoses"]
    release.tables["policy_diagnoses"] = (columns, [
        (article, code, group, covered) for article, raw, group, covered in diagnoses
        for code in _icd_codes(db, icd, raw)])


def _procedure_codes(db, hcpcs: dict | None, raw: str) -> list[str]:
    if "-" not in raw:
        return [raw]
    first, last = (part.strip() for part in raw.split("-", 1))
    if first.isdigit() and last.isdigit() and len(first) == len(last) == 5:
        return [f"{n:05d}" for n in range(int(first), int(last) + 1)]
    if hcpcs is None:
        return [first, last]
    return [r[0] for r in db.execute("SELECT code FROM codes WHERE release_id = ? AND code BETWEEN ? AND ?",
                                     [hcpcs["id"], first, last])]


def _icd_codes(db, icd: dict | None, raw: str) -> list[str]:
    codes = [part.strip().replace(".", "") for part in raw.split("-", 1)]
    if len(codes) == 1 or icd is None:
        return codes
    first, last = codes
    return [r[0] for r in db.execute(
        "SELECT code FROM codes WHERE release_id = ? AND billable = 1 AND code >= ? AND code <= ?",
        [icd["id"], first, last + "~"])]


def _read_folder(path: Path) -> dict[str, bytes]:
    found = {p.name.lower(): p for p in path.rglob("*.csv")}
    missing = [name for name in FILES if name not in found]
    if missing:
        raise BadReleaseFile(f"{path.name} lacks {', '.join(missing)} (MCD article export)")
    return {name: found[name].read_bytes() for name in FILES}


def _read_zip(path: Path) -> dict[str, bytes]:
    if not path.is_file():
        raise BadReleaseFile(f"no such file or folder: {path}")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise BadReleaseFile(f"{path.name} is neither a folder nor a zip of the MCD article export") from exc
    members = {Path(n).name.lower(): n for n in archive.namelist()}
    missing = [name for name in FILES if name not in members]
    if missing:
        raise BadReleaseFile(f"{path.name} lacks {', '.join(missing)} (MCD article export)")
    return {name: archive.read(members[name]) for name in FILES}


def _csv(data: bytes, name: str) -> list[dict]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "article_id" not in [f.strip().lower() for f in reader.fieldnames]:
        raise BadReleaseFile(f"{name} has no article_id column")
    return [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]


def _newest_update(rows: dict[str, list[dict]]) -> str | None:
    dates = [m.group() for table in rows.values() for r in table
             if (m := re.match(r"\d{4}-\d{2}-\d{2}", r.get("last_updated", "")))]
    return max(dates) if dates else None
