"""Procedure-code answers for `/cpt`: CPT (Category I, II, III, PLA), HCPCS Level II, and modifiers."""
from __future__ import annotations

import csv
import re
from datetime import date
from functools import lru_cache
from importlib.resources import files

import sqlite_utils

from . import ncci_facts, ptp_store
from .codes import (get_code, last_release_with, other_releases, release_for, release_info, require_current,
                    retired_answer)
from .errors import BadInput
from .importers.cpt import category_of
from .models import CodeAnswer, CodeRef
from .windows import parse_dos, resolve as resolve_window

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
# CPT Category I sections and subsections by code number (the ranges of the CPT code book's table of contents;
# code numbers are facts, no descriptor text): (first, last, section, subsection).
CPT_RANGES = [
    ("00100", "01999", "Anesthesia", None),
    ("10004", "19499", "Surgery", "Integumentary system"), ("20100", "29999", "Surgery", "Musculoskeletal system"),
    ("30000", "32999", "Surgery", "Respiratory system"), ("33016", "37799", "Surgery", "Cardiovascular system"),
    ("38100", "38999", "Surgery", "Hemic and lymphatic systems"),
    ("39000", "39599", "Surgery", "Mediastinum and diaphragm"), ("40490", "49999", "Surgery", "Digestive system"),
    ("50010", "53899", "Surgery", "Urinary system"), ("54000", "55899", "Surgery", "Male genital system"),
    ("55920", "55980", "Surgery", "Reproductive system and intersex"),
    ("56405", "58999", "Surgery", "Female genital system"), ("59000", "59899", "Surgery", "Maternity care and delivery"),
    ("60000", "60699", "Surgery", "Endocrine system"), ("61000", "64999", "Surgery", "Nervous system"),
    ("65091", "68899", "Surgery", "Eye and ocular adnexa"), ("69000", "69979", "Surgery", "Auditory system"),
    ("69990", "69990", "Surgery", "Operating microscope"),
    ("70010", "76499", "Radiology", "Diagnostic radiology (imaging)"), ("76506", "76999", "Radiology", "Diagnostic ultrasound"),
    ("77001", "77022", "Radiology", "Radiologic guidance"), ("77046", "77067", "Radiology", "Breast, mammography"),
    ("77071", "77092", "Radiology", "Bone and joint studies"), ("77261", "77799", "Radiology", "Radiation oncology"),
    ("78012", "79999", "Radiology", "Nuclear medicine"),
    ("80047", "80081", "Pathology and Laboratory", "Organ or disease oriented panels"),
    ("80143", "80377", "Pathology and Laboratory", "Drug assay"),
    ("80400", "80439", "Pathology and Laboratory", "Evaluative and challenge tests"),
    ("80503", "80506", "Pathology and Laboratory", "Pathology clinical consultations"),
    ("81000", "81099", "Pathology and Laboratory", "Urinalysis"),
    ("81105", "81479", "Pathology and Laboratory", "Molecular pathology"),
    ("81490", "81599", "Pathology and Laboratory", "Multianalyte assays with algorithmic analyses"),
    ("82009", "84999", "Pathology and Laboratory", "Chemistry"),
    ("85002", "85999", "Pathology and Laboratory", "Hematology and coagulation"),
    ("86000", "86849", "Pathology and Laboratory", "Immunology"),
    ("86850", "86999", "Pathology and Laboratory", "Transfusion medicine"),
    ("87003", "87999", "Pathology and Laboratory", "Microbiology"),
    ("88000", "88099", "Pathology and Laboratory", "Anatomic pathology"),
    ("88104", "88199", "Pathology and Laboratory", "Cytopathology"),
    ("88230", "88299", "Pathology and Laboratory", "Cytogenetic studies"),
    ("88300", "88399", "Pathology and Laboratory", "Surgical pathology"),
    ("88720", "88749", "Pathology and Laboratory", "In vivo (transcutaneous) laboratory procedures"),
    ("89049", "89240", "Pathology and Laboratory", "Other procedures"),
    ("89250", "89398", "Pathology and Laboratory", "Reproductive medicine procedures"),
    ("90281", "90399", "Medicine", "Immune globulins"), ("90460", "90474", "Medicine", "Immunization administration"),
    ("90476", "90759", "Medicine", "Vaccines and toxoids"), ("90785", "90899", "Medicine", "Psychiatry"),
    ("90901", "90913", "Medicine", "Biofeedback"), ("90935", "90999", "Medicine", "Dialysis"),
    ("91010", "91299", "Medicine", "Gastroenterology"), ("92002", "92499", "Medicine", "Ophthalmology"),
    ("92502", "92700", "Medicine", "Special otorhinolaryngologic services"),
    ("92920", "93799", "Medicine", "Cardiovascular"),
    ("93880", "93998", "Medicine", "Noninvasive vascular diagnostic studies"),
    ("94002", "94799", "Medicine", "Pulmonary"), ("95004", "95199", "Medicine", "Allergy and clinical immunology"),
    ("95249", "95251", "Medicine", "Endocrinology"),
    ("95700", "96020", "Medicine", "Neurology and neuromuscular procedures"),
    ("96040", "96040", "Medicine", "Medical genetics and genetic counseling"),
    ("96105", "96146", "Medicine", "Central nervous system assessments and tests"),
    ("96156", "96171", "Medicine", "Health behavior assessment and intervention"),
    ("96360", "96549", "Medicine", "Hydration, injections, infusions and chemotherapy"),
    ("96567", "96574", "Medicine", "Photodynamic therapy"),
    ("96900", "96999", "Medicine", "Special dermatological procedures"),
    ("97010", "97799", "Medicine", "Physical medicine and rehabilitation"),
    ("97802", "97804", "Medicine", "Medical nutrition therapy"), ("97810", "97814", "Medicine", "Acupuncture"),
    ("98925", "98929", "Medicine", "Osteopathic manipulative treatment"),
    ("98940", "98943", "Medicine", "Chiropractic manipulative treatment"),
    ("98960", "98962", "Medicine", "Education and training for patient self-management"),
    ("98966", "98981", "Medicine", "Non-face-to-face and remote monitoring services"),
    ("99000", "99091", "Medicine", "Special services, procedures and reports"),
    ("99100", "99140", "Medicine", "Qualifying circumstances for anesthesia"),
    ("99151", "99157", "Medicine", "Moderate (conscious) sedation"),
    ("99170", "99199", "Medicine", "Other services and procedures"),
    ("99202", "99499", "Evaluation and Management", None),
    ("99500", "99602", "Medicine", "Home health procedures and services"),
    ("99605", "99607", "Medicine", "Medication therapy management services"),
]
NCCI_SOURCE = "CMS NCCI"

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


def lookup_procedure(db: sqlite_utils.Database, query: str, dos: str | date | None = None,
                     facts: bool = True) -> CodeAnswer:
    """Return what medcode knows of a CPT/HCPCS code or a modifier on a date of service (default today);
    `facts=False` leaves out the CMS facts a person reads (a pairing check reads the edits itself)."""
    shape, code = classify_procedure(query)
    if shape == "modifier":
        return lookup_modifier(db, code, query)
    if shape == "hcpcs":
        return lookup_hcpcs(db, code, query, dos)
    return lookup_cpt(db, code, query, facts, dos)


def section_of(code: str) -> str | None:
    """The CPT section (and subsection) a well-formed code number falls in, from the number alone."""
    category = category_of(code)
    if category == "II":
        return "Performance measurement"
    if category == "III":
        return "Emerging technology, services and procedures"
    if category == "PLA":
        return "Proprietary laboratory analyses"
    for low, high, section, subsection in CPT_RANGES:
        if low <= code <= high:
            return f"{section} › {subsection}" if subsection else section
    return None


def lookup_cpt(db: sqlite_utils.Database, code: str, query: str, facts: bool = True,
               dos: str | date | None = None) -> CodeAnswer:
    """Answer from the highest-ranked CPT descriptor source that has the code (imported files, then starter),
    with what the imported CMS files know of it (NCCI edits, HCPCS cross-references)."""
    category = category_of(code)
    releases = other_releases(db, "cpt")  # newest effective date first; the undated starter set last
    rows = [(r, row) for r in releases if (row := get_code(db, r["id"], code))]
    facts, extra = cms_facts(db, code, dos) if facts else ([], {})
    if not rows:
        section = section_of(code)
        where = f" in {section}" if section else ""
        known = ("; the CMS files list it: " + "; ".join(facts)) if facts else "; the CMS files loaded do not list it"
        return CodeAnswer(
            query=query, system="cpt", code=code, status="no_descriptor", category=CATEGORY_NAMES[category],
            section=section, description=None,
            history=[f"Well-formed {CATEGORY_NAMES[category]} code number{where}; no descriptor loaded — import your "
                     f"CPT file (medcode import cpt PATH){known}."] + facts,
            release=release_info(releases[0]) if releases else None, extra={"add_on": extra.get("aoc_primaries") is not None, **extra},
        )
    release, row = rows[0]
    section = next((r["block"] for _, r in rows if r["block"]), None) or section_of(code)
    add_on = next((r["extra"]["add_on"] for _, r in rows if r["extra"]["add_on"] is not None), None)
    return CodeAnswer(
        query=query, system="cpt", code=code, status="valid", description=row["description"], billable=True,
        kind="add-on code" if add_on else "code", category=CATEGORY_NAMES[category], section=section,
        source=row["extra"]["source"], extra={"add_on": add_on, **extra}, release=release_info(release),
        history=facts,
    )


def cms_facts(db: sqlite_utils.Database, code: str, dos: str | date | None = None) -> tuple[list[str], dict]:
    """Plain lines and the data behind them: MUE, add-on status, PTP pairs, HCPCS codes cross-referenced; with a
    line saying so when the loaded edits do not cover the date of service (default today)."""
    lines, extra = [], {}
    if (found := ncci_facts.mue(db, code)) is not None:
        how = ncci_facts.MAI.get(found.mai, f"adjudication indicator {found.mai}")
        lines.append(f"MUE {found.units} unit(s) ({how}; rationale: {found.rationale}) — {NCCI_SOURCE} MUE "
                     f"{found.release}")
        extra["mue"] = {"units": found.units, "mai": found.mai, "rationale": found.rationale}
    if (aoc := ncci_facts.add_on(db, code)) is not None:
        shown = ", ".join(aoc.primaries[:12]) + (f" and {len(aoc.primaries) - 12} more" if len(aoc.primaries) > 12 else "")
        lines.append(f"Add-on code: report it with a primary code ({len(aoc.primaries)} eligible: {shown}) — "
                     f"{NCCI_SOURCE} AOC {aoc.release}")
        extra["aoc_primaries"] = aoc.primaries
    elif add_ons := ncci_facts.add_ons_of(db, code):
        lines.append(f"Primary code for {len(add_ons)} add-on code(s): {', '.join(add_ons[:12])}")
        extra["aoc_add_ons"] = add_ons
    if (pairs := ncci_facts.ptp(db, code, common=_starter_codes())) is not None and pairs.pairs:
        lines.append(f"{pairs.pairs} active PTP pair(s) ({pairs.as_column1} as column 1, {pairs.as_column2} as "
                     f"column 2); commonly billed partners first: {', '.join(pairs.partners)} — {NCCI_SOURCE} PTP "
                     f"{pairs.release}")
        extra["ptp_pairs"] = pairs.pairs
        extra["ptp_partners"] = pairs.partners
    xrefs = hcpcs_cross_references(db, code)
    if xrefs:
        lines.append("HCPCS codes cross-referenced to it: " + ", ".join(f"{r.code} ({r.description})" for r in xrefs[:6]))
        extra["hcpcs_xref"] = [r.code for r in xrefs]
    if extra.keys() & {"mue", "aoc_primaries", "aoc_add_ons", "ptp_pairs"}:
        # The edits change every quarter: say when the loaded ones do not cover the date (as /pair does).
        day = dos if isinstance(dos, date) else parse_dos(dos)
        notice = resolve_window(db, "ncci_ptp_practitioner", day).notice
        if notice:
            lines.append(f"Note: {notice}")
    return lines, extra


def hcpcs_cross_references(db: sqlite_utils.Database, code: str) -> list[CodeRef]:
    """HCPCS Level II codes of the current release whose CMS cross-reference names `code`."""
    current = db.execute("SELECT id FROM releases WHERE system = 'hcpcs' AND current = 1").fetchone()
    if current is None:
        return []
    return _cross_references(db, current[0]).get(code, [])


_XREFS: dict[tuple[str, int, str], dict[str, list[CodeRef]]] = {}


def _cross_references(db: sqlite_utils.Database, release_id: int) -> dict[str, list[CodeRef]]:
    """code -> the HCPCS codes of a release that CMS cross-references to it, read once per database file and
    release (a release's rows never change; its sha256 tells a rebuilt database's release 3 from the old one's)."""
    sha = db.execute("SELECT sha256 FROM releases WHERE id = ?", [release_id]).fetchone()[0]
    key = (ptp_store.database_key(db.conn), release_id, sha)
    if key not in _XREFS:
        found: dict[str, list[CodeRef]] = {}
        for code, description, billable, target in db.execute(
            "SELECT code, description, billable, json_extract(extra, '$.xref') FROM codes WHERE release_id = ?"
            " AND json_extract(extra, '$.xref') IS NOT NULL ORDER BY code", [release_id]):
            found.setdefault(target, []).append(CodeRef(code=code, description=description, billable=bool(billable)))
        _XREFS[key] = found
    return _XREFS[key]


@lru_cache(maxsize=1)
def _starter_codes() -> frozenset[str]:
    """The commonly billed CPT codes of the bundled starter set: shown first among PTP partners."""
    text = (files("codedata") / "data" / "cpt_starter.tsv").read_text(encoding="utf-8")
    return frozenset(row["code"] for row in csv.DictReader(text.splitlines(), delimiter="\t"))


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
    ended = bool(terminated) and terminated < day.isoformat()  # "valid" in --json would contradict "Discontinued"
    return CodeAnswer(
        query=query, system="hcpcs", code=code, status="no_longer_valid" if ended else "valid",
        description=row["description"], last_release=current["label"] if ended else None,
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
