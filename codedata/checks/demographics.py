"""Rule family 4, demographics: age and sex conflicts, from the lists in codedata/data/demographics.toml."""
from __future__ import annotations

from ..models import Finding
from .claim import Claim
from .codesets import bundled_toml, in_codeset


def age_and_sex_conflicts(claim: Claim) -> list[Finding]:
    """Findings for codes that belong to another sex or age than the claim states."""
    age, sex = claim.request.age, claim.request.sex
    if age is None and sex is None:
        return []
    codes = [d.shown for d in claim.diagnoses if d.row] + [p.line.code for p in claim.procedures if p.shape]
    findings = []
    for rule in bundled_toml("demographics.toml")["rule"]:
        entries = rule.get("diagnoses", []) + rule.get("procedures", [])
        for code in (c for c in codes if in_codeset(c, entries)):
            findings += _conflicts(rule, code, age, sex)
    return findings


def _conflicts(rule: dict, code: str, age: int | None, sex: str | None) -> list[Finding]:
    found = []
    if sex and rule.get("sex") and sex != rule["sex"]:
        who = "female" if rule["sex"] == "F" else "male"
        found.append(Finding(severity=rule["sex_severity"], rule=f"sex_{rule['id']}", codes=[code],
                             message=f"{code} is a {rule['what']}: it belongs to {who} patients, and the claim "
                                     f"says sex {sex}.", basis=rule["basis"]))
    low, high = rule.get("min_age"), rule.get("max_age")
    if age is not None and low is not None and not (low <= age <= high):
        band = f"age {low}" if low == high else f"ages {low} to {high}"
        found.append(Finding(severity=rule["age_severity"], rule=f"age_{rule['id']}", codes=[code],
                             message=f"{code} is a {rule['what']} ({band}); the patient is {age}.",
                             basis=rule["basis"]))
    return found


RULES = [age_and_sex_conflicts]
