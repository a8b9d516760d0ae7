"""Rule family 2, specificity: an unspecified code where the tabular offers specific siblings."""
from __future__ import annotations

from ..codes import get_code
from ..models import CodeRef, Finding
from .claim import Claim

SHOWN = 8


def unspecified_with_specific_siblings(claim: Claim) -> list[Finding]:
    """Warn on billable 'unspecified' codes (laterality, site, type) that have specific siblings."""
    findings = []
    for dx in claim.diagnoses:
        if not dx.row or not dx.row["billable"] or "unspecified" not in (dx.row["description"] or "").lower():
            continue
        choices = _specific_siblings(claim, dx.row)
        if choices:
            findings.append(Finding(
                severity="warning", rule="dx_unspecified", codes=[dx.shown],
                message=f"{dx.shown} is an unspecified code; the record may support a specific one.",
                basis=claim.icd_basis(f"specific codes beside {dx.shown}"), suggestions=choices[:SHOWN]))
    return findings


def _specific_siblings(claim: Claim, row: dict) -> list[CodeRef]:
    db, release_id = claim.db, claim.icd["id"]
    seventh = ""
    unit = row
    # For a 7th-character code (S72.009A) compare its base code's siblings, keeping the same 7th character.
    if len(row["code"]) == 7 and row["parent"] and len(row["parent"]) < 7:
        parent = get_code(db, release_id, row["parent"])
        if parent is not None:
            seventh, unit = row["code"][6], parent
    siblings = db.query(
        "SELECT code, display, description, billable FROM codes WHERE release_id = ? AND parent = ?"
        " AND code != ? ORDER BY seq", [release_id, unit["parent"], unit["code"]])
    choices = []
    for sibling in siblings:
        if "unspecified" in (sibling["description"] or "").lower():
            continue
        if seventh:
            target = db.execute("SELECT code, display, description FROM codes WHERE release_id = ? AND code = ?",
                                [release_id, sibling["code"].ljust(6, "X") + seventh]).fetchone()
            if target:
                choices.append(CodeRef(code=target[1], description=target[2], billable=True))
        elif sibling["billable"]:
            choices.append(CodeRef(code=sibling["display"], description=sibling["description"], billable=True))
    return choices


RULES = [unspecified_with_specific_siblings]
