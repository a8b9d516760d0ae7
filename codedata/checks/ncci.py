"""Rule family 5, NCCI: procedure-to-procedure pairs, medically unlikely units, add-on codes without a primary."""
from __future__ import annotations

from ..codes import get_code
from .. import ptp_store
from ..models import CodeRef, Finding
from .claim import Claim

# NCCI-associated modifiers that may bypass a modifier-indicator-1 edit when clinically appropriate
# (NCCI Policy Manual, chapter I). 25 applies to an E/M code only.
BYPASS_MODIFIERS = {"59", "XE", "XS", "XP", "XU", "24", "27", "57", "58", "78", "79", "91", "E1", "E2", "E3", "E4",
                    "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "LC", "LD", "LM", "LT", "RC",
                    "RI", "RT", "TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9"}
# MUE adjudication indicators: 1 line edit, 2 date-of-service edit (policy), 3 date-of-service edit (clinical).
MAI = {"1": ("error", "line edit: units above the limit on a line are denied"),
       "2": ("error", "date-of-service edit based on policy: units above the limit are not payable"),
       "3": ("error", "date-of-service edit based on clinical data: denied as submitted; more units need records "
                      "on appeal")}


def _releases(claim: Claim, kind: str) -> dict | None:
    return claim.release(f"ncci_{kind}_practitioner")


def ptp_pairs(claim: Claim) -> list[Finding]:
    """Findings for procedure pairs with a PTP edit in effect on the date of service."""
    release = _releases(claim, "ptp")
    lines = [p.line for p in claim.procedures if p.shape]
    if release is None or len(lines) < 2:
        return []
    edits = ptp_store.active_edits(claim.db.conn, release["id"], [line.code for line in lines], claim.date_of_service)
    findings = []
    for edit in edits:
        for second in (line for line in lines if line.code == edit["column2"]):
            first = next(line for line in lines if line.code == edit["column1"])
            finding = _ptp_finding(release, first, second, edit)
            if finding:
                findings.append(finding)
                break
    return findings


# Anatomic modifiers bypass an edit only when they name a different site than the column-1 line's (NCCI Policy
# Manual ch. I, E.1: "different anatomic site"): RT on both lines is the same site.
ANATOMIC = {"E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "LC", "LD", "LM",
            "LT", "RC", "RI", "RT", "TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9"}


def _ptp_finding(release: dict, first, second, edit: dict) -> Finding | None:
    column1 = first.code
    indicator = edit["modifier_indicator"]
    basis = f"NCCI PTP practitioner {release['label']}, modifier indicator {indicator}" + \
            (f" ({edit['rationale']})" if edit["rationale"] else "")
    codes = [column1, second.code]
    if indicator == "0":
        return Finding(severity="error", rule="ncci_ptp_not_allowed", codes=codes,
                       message=f"{second.code} is bundled into {column1} and is not payable with it on the same "
                               "date; no modifier allows it.", basis=basis)
    if indicator != "1":
        return None
    allowed = BYPASS_MODIFIERS | ({"25"} if second.code.startswith("99") else set())
    used = [m for m in second.modifiers if m in allowed and not (m in ANATOMIC and m in first.modifiers)]
    if used:
        return Finding(severity="info", rule="ncci_ptp_modifier_used", codes=codes,
                       message=f"{second.code} with modifier {used[0]} bypasses the edit with {column1}; the "
                               "record must show a distinct service.", basis=basis)
    hint = "25 (separate E/M)" if second.code.startswith("99") else "59, XE, XS, XP or XU"
    return Finding(severity="error", rule="ncci_ptp_needs_modifier", codes=codes,
                   message=f"{second.code} is bundled into {column1} and is denied as submitted; if it was a distinct "
                           f"service, add {hint} to {second.code} (only if the record supports it).", basis=basis)


def mue_units(claim: Claim) -> list[Finding]:
    """Findings for units above the medically unlikely edit.

    MAI 1 is a line edit (each line on its own); MAI 2 and 3 are date-of-service edits, so the units of every line
    of the same code are added up first (NCCI MUE FAQ; Medicare Claims Processing Manual ch. 23 s. 20.9.3). An MUE
    of 0 means Medicare does not pay the service in this setting: it applies where the payer may be Medicare.
    """
    release = _releases(claim, "mue")
    if release is None:
        return []
    findings = []
    lines: dict[str, list[int]] = {}
    for px in (p for p in claim.procedures if p.shape):
        lines.setdefault(px.line.code, []).append(px.line.units)
    for code, units in lines.items():
        row = claim.db.execute("SELECT units, mai, rationale FROM ncci_mue WHERE release_id = ? AND code = ?",
                               [release["id"], code]).fetchone()
        if not row or row[0] is None:
            continue
        limit, mai, rationale = row
        basis = f"NCCI MUE practitioner {release['label']}, MAI {mai}" + (f" ({rationale})" if rationale else "")
        if limit == 0:
            if claim.payer_may_be("medicare"):
                findings.append(Finding(
                    severity=claim.payer_severity("medicare", "error"), rule="ncci_mue_not_payable", codes=[code],
                    message=f"{claim.whose('medicare')}{code} has an MUE of 0 for practitioners: Medicare does not "
                            "pay it in this setting.", basis=basis))
            continue
        total = max(units) if mai == "1" else sum(units)
        if total > limit:
            counted = "on one line" if mai == "1" else ("over its lines" if len(units) > 1 else "on the date")
            meaning = MAI.get(mai, ("error", "unit limit"))[1]
            findings.append(Finding(
                severity="error", rule="ncci_mue", codes=[code],
                message=f"{total} units of {code} {counted} exceed the MUE of {limit} ({meaning}); the units over "
                        "the limit are denied.", basis=basis))
    return findings


def add_on_without_primary(claim: Claim) -> list[Finding]:
    """Error for an add-on code with none of its eligible primary codes on the claim."""
    release = claim.release("ncci_aoc")
    codes = [p.line.code for p in claim.procedures if p.shape]
    findings = []
    for px in (p for p in claim.procedures if p.shape):
        code = px.line.code
        others = set(codes) - {code}
        if release is not None:
            primaries = {r[0] for r in claim.db.execute(
                "SELECT primary_code FROM ncci_aoc WHERE release_id = ? AND add_on_code = ?", [release["id"], code])}
            if not primaries or others & primaries or ("CCCCC" in primaries and others):
                continue
            findings.append(Finding(
                severity="error", rule="ncci_add_on_without_primary", codes=[code],
                message=f"{code} is an add-on code: report it with an eligible primary procedure.",
                basis=f"NCCI add-on code edits {release['label']}",
                suggestions=_primaries(claim, sorted(primaries - {"CCCCC"}))))
        elif px.answer and px.answer.extra.get("add_on") and not others:
            findings.append(Finding(
                severity="error", rule="add_on_without_primary", codes=[code],
                message=f"{code} is an add-on code and is the only procedure: it is reported with a primary code.",
                basis="medcode CPT starter set: add-on (+) code; import the NCCI add-on file for eligible primaries"))
    return findings


def _primaries(claim: Claim, codes: list[str], limit: int = 8) -> list[CodeRef]:
    refs = []
    for system in ("cpt", "hcpcs"):
        release = claim.release(system)
        for code in codes:
            row = get_code(claim.db, release["id"], code) if release else None
            if row and len(refs) < limit:
                refs.append(CodeRef(code=code, description=row["description"], billable=True))
    return refs or [CodeRef(code=c, description="", billable=True) for c in codes[:limit]]


def ncci_not_loaded(claim: Claim) -> list[Finding]:
    """Say plainly when bundling and unit limits could not be checked."""
    if not claim.procedure_codes() or _releases(claim, "ptp") is not None:
        return []
    return [Finding(severity="info", rule="ncci_not_loaded", codes=claim.procedure_codes(),
                    message="NCCI edits are not imported, so bundling, unit limits and add-on pairs were not "
                            "checked (medcode import ncci FILE).", basis="medcode data status")]


RULES = [ptp_pairs, mue_units, add_on_without_primary, ncci_not_loaded]
