"""Rule family 2, specificity: unspecified laterality where the tabular offers right/left (and bilateral) codes.

Only laterality is flagged (guideline I.B.13: when laterality is documented, code it; the unspecified-side code is
for when it is not). Other "unspecified" axes (J06.9, E78.5) are ordinary default codes and pass.
"""
from __future__ import annotations

import re

from ..codes import get_code
from ..models import CodeRef, Finding
from .claim import Claim

SIDES = re.compile(r"\b(right|left|bilateral)\b", re.I)


def unspecified_laterality(claim: Claim) -> list[Finding]:
    """Warn on a billable code for an unspecified side whose siblings name the right and left side."""
    findings = []
    for dx in claim.diagnoses:
        if not dx.row or not dx.row["billable"] or "unspecified" not in (dx.row["description"] or "").lower():
            continue
        choices = _sided_siblings(claim, dx.row)
        if len(choices) >= 2:
            findings.append(Finding(
                severity="warning", rule="dx_unspecified_laterality", codes=[dx.shown],
                message=f"{dx.shown} is for an unspecified side; codes for the right and left side exist: use the "
                        "side the record documents.",
                basis=claim.icd_basis(f"right/left codes beside {dx.shown}; guideline I.B.13 (laterality)"),
                suggestions=choices))
    return findings


def _same_but_side(sided: str, unspecified: str) -> bool:
    """True when a description differs from the unspecified one only by naming a side."""
    if not SIDES.search(sided):
        return False
    plain = SIDES.sub("unspecified", sided).lower()
    target = unspecified.lower()
    # "Pain in right knee" ~ "Pain in unspecified knee"; "..., bilateral" ~ "..., unspecified ..."
    return plain == target or plain.replace("unspecified ", "") == target.replace("unspecified ", "")


def _sided_siblings(claim: Claim, row: dict) -> list[CodeRef]:
    db, release_id = claim.db, claim.icd["id"]
    seventh, unit = "", row
    # For a 7th-character code (S83.209A) compare its base code's siblings, keeping the same 7th character.
    if len(row["code"]) == 7 and row["parent"] and len(row["parent"]) < 7:
        parent = get_code(db, release_id, row["parent"])
        if parent is not None:
            seventh, unit = row["code"][6], parent
    siblings = db.query("SELECT code, display, description, billable FROM codes WHERE release_id = ? AND parent = ?"
                        " AND code != ? ORDER BY seq", [release_id, unit["parent"], unit["code"]])
    choices = []
    for sibling in siblings:
        if not _same_but_side(sibling["description"] or "", unit["description"] or ""):
            continue
        if seventh:
            target = get_code(db, release_id, sibling["code"].ljust(6, "X") + seventh)
            if target:
                choices.append(CodeRef(code=target["display"], description=target["description"], billable=True))
        elif sibling["billable"]:
            choices.append(CodeRef(code=sibling["display"], description=sibling["description"], billable=True))
    return choices


RULES = [unspecified_laterality]
