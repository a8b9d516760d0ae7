"""Rule family 5, laterality modifiers: RT/LT on a procedure line against the side of the diagnoses it is for.

A line with RT (right side) or LT (left side) whose pointed diagnoses (all of them when the line has no pointers)
name only the other side is inconsistent (CMS: RT and LT identify the side of the body a procedure was performed
on; ICD-10-CM guideline I.B.13 codes the side the record documents). A bilateral diagnosis, or no sided
diagnosis, says nothing against the modifier.
"""
from __future__ import annotations

import re

from ..models import Finding
from .claim import Claim

SIDE = {"RT": "right", "LT": "left"}
RIGHT = re.compile(r"\bright\b", re.I)
LEFT = re.compile(r"\bleft\b", re.I)
BOTH = re.compile(r"\bbilateral\b", re.I)


def _sides(description: str) -> set[str]:
    if BOTH.search(description):
        return {"right", "left"}
    return {s for s, pattern in (("right", RIGHT), ("left", LEFT)) if pattern.search(description)}


def modifier_against_diagnosis(claim: Claim) -> list[Finding]:
    """Warn when RT/LT names the side opposite to every sided diagnosis the line is for."""
    findings = []
    for px in (p for p in claim.procedures if p.shape):
        sides = {SIDE[m] for m in px.line.modifiers if m in SIDE}
        if len(sides) != 1:
            continue
        side = sides.pop()
        sided = [(d, _sides(d.row["description"] or "")) for d in claim.diagnoses_for(px) if d.row]
        sided = [(d, s) for d, s in sided if s]
        if sided and all(side not in s for _, s in sided):
            other = sided[0][0]
            findings.append(Finding(
                severity="warning", rule="laterality_modifier", codes=[px.line.code, other.shown],
                message=f"{px.line.code} is billed on the {side} side ({'RT' if side == 'right' else 'LT'}) but "
                        f"{other.shown} ({other.row['description']}) is for the other side: correct the modifier or "
                        "the diagnosis.",
                basis=claim.icd_basis(f"laterality in the title of {other.shown}; HCPCS modifiers RT/LT")))
    return findings


RULES = [modifier_against_diagnosis]
