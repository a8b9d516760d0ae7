"""Procedure-code answers for `/cpt`: CPT (Category I, II, III, PLA), HCPCS Level II, and modifiers."""
from __future__ import annotations

import csv
import re
from datetime import date
from functools import lru_cache
from importlib.resources import files

import sqlite_utils

from .codes import (get_code, last_release_with, other_releases, release_for, release_info, require_current,
                    retired_answer)
from .errors import BadInput
from .importers.cpt import category_of
from .models import CodeAnswer, CodeRef
from .windows import parse_dos

CPT_CODE = re.compile(r"^(\d{5}|\d{4}[FTU])$")
HCPCS_CODE = re.compile(r"^[A-V]\d{4}$")
MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
CATEGORY_NAMES = {"I": "CPT Category I", "II": "CPT Category II (performance measurement)",
                  "III": "CPT Category III (emerging technology)", "PLA": "CPT PLA (proprietary laboratory analysis)"}
# HCPCS Level II sections by first letter (CMS HCPCS overview).
HCPCS_SECTIONS = {
    "A": "Transportation, medical and surgical supplies, miscellaneous", "B": "Enteral and parenteral therapy",
    "C": "Outpatient PPS (hospital)", "E": "Durable medical equipment", "G": "Procedures and professional services (temporary)",
    "H": "Alcohol and drug abuse treatment services", "J": "Drugs administered other than by mouth",
    "K": "Temporary codes for DME MACs", "L": "Orthotics and prosthetics", "M": "Medical services and quality measures",
    "P": "Pathology and laboratory", "Q": "Temporary codes", "R": "Diagnostic radiology services",
    "S": "Temporary national codes (non-Medicare)", "T": "National codes for state Medicaid agencies",
    "U": "Coronavirus diagnostic lab tests", "V": "Vision, hearing and speech-language services",
}
# HCPCS coverage codes (CMS alpha-numeric file record layout).
COVERAGE = {"C": "carrier (contractor) judgment", "D": "special coverage instructions apply",
            "I": "not payable by Medicare", "M": "not covered by Medicare", "S": "not covered by Medicare statute"}


def classify_procedure(text: str) -> tuple[str, str]:
    """Return (shape, code) for what was typed: shape is cpt, hcpcs or modifier; raise BadInput otherwise."""
    cleaned = re.sub(r"[\s.]", "", (text or "").upper()).lstrip("-")
    if not cleaned:
        raise BadInput("type a CPT or HCPCS code (99213, J1745) or a modifier (25, -59, RT)")
    if CPT_CODE.match(cleaned):
        return "cpt", cleaned
    if HCPCS_CODE.match(cleaned):
        return "hcpcs", cleaned
    if MODIFIER.match(cleaned):
        return "modifier", cleaned
    shown = " ".join(text.split())[:40]
    raise BadInput(f"{shown!r} is not shaped like a CPT code (99213, 3074F, 0042T, 0202U), "
                   "a HCPCS code (J1745) or a modifier (25, RT)")


def lookup_procedure(db: sqlite_utils.Database, query: str, dos: str | date | None = None) -> CodeAnswer:
    """Return what medcode knows of a CPT/HCPCS code or a modifier on a date of service (default today)."""
    shape, code = classify_procedure(query)
    if shape == "modifier":
        return lookup_modifier(db, code, query)
    if shape == "hcpcs":
        return lookup_hcpcs(db, code, query, dos)
    return lookup_cpt(db, code, query)


def lookup_cpt(db: sqlite_utils.Database, code: str, query: str) -> CodeAnswer:
    """Answer from the highest-ranked CPT descriptor source that has the code (imported files, then starter)."""
    category = category_of(code)
    releases = other_releases(db, "cpt")  # newest effective date first; the undated starter set last
    rows = [(r, row) for r in releases if (row := get_code(db, r["id"], code))]
    if not rows:
        return CodeAnswer(
            query=query, system="cpt", code=code, status="no_descriptor", category=CATEGORY_NAMES[category],
            description=None,
            history=[f"Well-formed {CATEGORY_NAMES[category]} code number; no descriptor loaded — import your "
                     "CPT file (medcode import cpt PATH). medcode cannot confirm it is in use."],
            release=release_info(releases[0]) if releases else None,
        )
    release, row = rows[0]
    section = next((r["block"] for _, r in rows if r["block"]), None)
    add_on = next((r["extra"]["add_on"] for _, r in rows if r["extra"]["add_on"] is not None), None)
    return CodeAnswer(
        query=query, system="cpt", code=code, status="valid", description=row["description"], billable=True,
        kind="add-on code" if add_on else "code", category=CATEGORY_NAMES[category], section=section,
        source=row["extra"]["source"], extra={"add_on": add_on}, release=release_info(release),
    )


def lookup_hcpcs(db: sqlite_utils.Database, code: str, query: str, dos: str | date | None = None) -> CodeAnswer:
    """Answer a HCPCS Level II code from the release in force on the date of service (or say when it left).

    CMS keeps a discontinued code listed with its termination date (the last day it may be billed) and every code
    with the date it was added, so billable means added on or before the DOS and not terminated before it.
    """
    day = dos if isinstance(dos, date) else parse_dos(dos)
    resolution = release_for(db, "hcpcs", day)
    current = resolution.release
    context = {"date_of_service": day.isoformat(), "notice": resolution.notice}
    row = get_code(db, current["id"], code)
    if row is None:
        last = last_release_with(db, "hcpcs", code, current)
        if last is not None:
            old = get_code(db, last["id"], code)
            return retired_answer(db, current, last, old, query, _xref(db, current, old)).model_copy(update=context)
        return CodeAnswer(query=query, system="hcpcs", code=code, status="unknown",
                          nearest=_hcpcs_neighbours(db, current["id"], code), release=release_info(current), **context)
    extra = row["extra"]
    notes = []
    terminated, added = extra.get("terminated"), extra.get("added")
    billable = row["kind"] == "code" and (not terminated or terminated >= day.isoformat())
    if added and added > day.isoformat():
        return CodeAnswer(query=query, system="hcpcs", code=code, status="not_yet_valid",
                          description=row["description"], billable=False, kind="code", took_effect=added,
                          first_release=current["label"], category="HCPCS Level II",
                          section=HCPCS_SECTIONS.get(code[0]), source=f"CMS {current['title']}",
                          extra={"short_description": row["short_description"], **extra},
                          release=release_info(current), **context)
    if terminated:
        notes.append(f"Discontinued: last billable date of service {terminated}"
                     + (f"; CMS cross-references it to {extra['xref']}." if extra.get("xref") else "."))
    if extra.get("coverage") in COVERAGE:
        notes.append(f"Medicare coverage code {extra['coverage']}: {COVERAGE[extra['coverage']]}.")
    return CodeAnswer(
        query=query, system="hcpcs", code=code, status="valid", description=row["description"],
        billable=billable, kind="code", category="HCPCS Level II",
        section=HCPCS_SECTIONS.get(code[0]), source=f"CMS {current['title']}", history=notes,
        successors=_xref(db, current, row) if terminated else [],
        extra={"short_description": row["short_description"], **extra}, release=release_info(current), **context,
    )


def _xref(db, current: dict, old: dict) -> list[CodeRef]:
    """The code CMS cross-references a discontinued HCPCS code to (G0202 -> 77067), described if medcode can."""
    target = old["extra"].get("xref")
    if not target:
        return []
    answer = lookup_procedure(db, target) if re.match(r"^[A-Z0-9]{5}$", target) else None
    if answer is None or answer.status in ("unknown", "no_descriptor"):
        return [CodeRef(code=target, description="", billable=True)]
    return [CodeRef(code=answer.code, description=answer.description or "", billable=answer.billable)]


def _hcpcs_neighbours(db, release_id: int, code: str, limit: int = 8) -> list[CodeRef]:
    for length in (4, 3, 2):
        rows = list(db.query(
            "SELECT * FROM codes WHERE release_id = ? AND kind = 'code' AND code > ? AND code < ?"
            " ORDER BY code LIMIT ?", [release_id, code[:length], code[:length] + "~", limit]))
        if rows:
            return [CodeRef(code=r["code"], description=r["description"], billable=bool(r["billable"])) for r in rows]
    return []


@lru_cache(maxsize=1)
def modifier_explanations() -> dict[str, dict]:
    """Return medcode's own plain-language modifier explanations, keyed by modifier."""
    text = (files("codedata") / "data" / "modifiers.tsv").read_text(encoding="utf-8")
    return {row["modifier"]: row for row in csv.DictReader(text.splitlines(), delimiter="\t")}


def lookup_modifier(db: sqlite_utils.Database, modifier: str, query: str) -> CodeAnswer:
    """Explain a modifier in plain words, with the CMS HCPCS text when the HCPCS release carries it."""
    ours = modifier_explanations().get(modifier)
    hcpcs = require_current(db, "hcpcs")
    official = get_code(db, hcpcs["id"], modifier)
    if ours is None and official is None:
        return CodeAnswer(query=query, system="modifier", code=modifier, status="unknown",
                          history=["Not a modifier medcode knows; check the payer's modifier list."])
    extra = {"official_text": official["description"]} if official else {}
    if official:
        extra["official_source"] = f"CMS {hcpcs['title']}"
    return CodeAnswer(
        query=query, system="modifier", code=modifier, status="valid",
        description=ours["description"] if ours else official["description"],
        kind=f"{ours['kind']} modifier" if ours else "HCPCS modifier",
        source="medcode's plain-language explanation" if ours else f"CMS {hcpcs['title']}", extra=extra,
    )
