"""Rule family 5, laterality modifiers: RT/LT on a procedure line against the side of the diagnoses it is for.

A line with RT (right side) or LT (left side) whose pointed diagnoses (all of them when the line has no pointers)
name only the other side is inconsistent (CMS: RT and LT identify the side of the body a procedure was performed
on; ICD-10-CM guideline I.B.13 codes the side the record documents). A bilateral diagnosis, or no sided
diagnosis, says nothing against the modifier.
"""
from __future__ import annotations

import re

from ..models import Finding
from ..text import words
from .claim import Claim

# RT/LT, and the HCPCS site modifiers that carry a side: fingers (FA, F1-F4 left hand; F5-F9 right), toes (TA,
# T1-T4 left foot; T5-T9 right) and eyelids (E1, E2 left; E3, E4 right)
SIDE = {"RT": "right", "LT": "left",
        **{m: "left" for m in ("FA", "F1", "F2", "F3", "F4", "TA", "T1", "T2", "T3", "T4", "E1", "E2")},
        **{m: "right" for m in ("F5", "F6", "F7", "F8", "F9", "T5", "T6", "T7", "T8", "T9", "E3", "E4")}}
RIGHT = re.compile(r"\bright\b", re.I)
LEFT = re.compile(r"\bleft\b", re.I)
BOTH = re.compile(r"\bbilateral\b", re.I)


def _sides(description: str) -> set[str]:
    if BOTH.search(description):
        return {"right", "left"}
    return {s for s, pattern in (("right", RIGHT), ("left", LEFT)) if pattern.search(description)}


def modifier_against_diagnosis(claim: Claim) -> list[Finding]:
    """Warn when RT/LT names the side opposite to every sided diagnosis the line is for, when 50 (bilateral) is
    billed for diagnoses of one side only, and when RT/LT names a side that none of the line's diagnoses codes
    although their categories have codes for each side (M17.9 on a right knee replacement)."""
    findings = []
    for px in (p for p in claim.procedures if p.shape):
        pointed = [d for d in claim.diagnoses_for(px) if d.row]
        sided = [(d, _sides(d.row["description"] or "")) for d in pointed]
        sided = [(d, s) for d, s in sided if s]
        if "50" in px.line.modifiers and sided and len(set().union(*(s for _, s in sided))) == 1:
            one = sided[0][0]
            findings.append(Finding(
                severity="warning", rule="laterality_modifier", codes=[px.line.code, one.shown],
                message=f"{px.line.code} is billed on both sides (50) but {one.shown} ({one.row['description']}) "
                        "names one side only: code both sides or bill the one side (RT/LT).",
                basis=claim.icd_basis(f"laterality in the title of {one.shown}; CPT modifier 50")))
            continue
        sides = {SIDE[m] for m in px.line.modifiers if m in SIDE}
        if len(sides) != 1:
            continue
        side = sides.pop()
        named = next(m for m in px.line.modifiers if SIDE.get(m) == side)
        if not sided:
            unsided = next((d for d in pointed if _category_has_sides(claim, d.row)), None)
            if unsided is not None:
                findings.append(Finding(
                    severity="warning", rule="laterality_unstated", codes=[px.line.code, unsided.shown],
                    message=f"{px.line.code} is billed on the {side} side but {unsided.shown} "
                            f"({unsided.row['description']}) names no side, though its category has codes for each: "
                            "code the side the record documents.",
                    basis=claim.icd_basis(f"right/left codes in category {unsided.row['code'][:3]}; guideline "
                                          "I.B.13 (laterality)")))
            continue
        if all(side not in s for _, s in sided):
            other = sided[0][0]
            findings.append(Finding(
                severity="warning", rule="laterality_modifier", codes=[px.line.code, other.shown],
                message=f"{px.line.code} is billed on the {side} side ({named}) but "
                        f"{other.shown} ({other.row['description']}) is for the other side: correct the modifier or "
                        "the diagnosis.",
                basis=claim.icd_basis(f"laterality in the title of {other.shown}; HCPCS modifier {named}")))
    return findings


PLAIN = {"unspecified", "of", "and", "the", "in", "with", "site", "other"}


def _category_has_sides(claim: Claim, row) -> bool:
    """True when the diagnosis's category has billable right and left codes that say all it says (M17.9
    'Osteoarthritis of knee, unspecified' beside M17.11 '... osteoarthritis, right knee'), so the side is a
    choice its code left out."""
    said = set(words(row["description"] or "")) - PLAIN
    rows = claim.db.execute(
        "SELECT description FROM codes WHERE release_id = ? AND code >= ? AND code < ? AND billable = 1",
        [claim.icd["id"], row["code"][:3], row["code"][:3] + "~"]).fetchall()
    fuller = [r[0] or "" for r in rows if said <= set(words(r[0] or ""))]
    return any(RIGHT.search(d) for d in fuller) and any(LEFT.search(d) for d in fuller)


RULES = [modifier_against_diagnosis]
