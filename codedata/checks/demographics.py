"""Rule family 4, demographics: age and sex conflicts, from the lists in codedata/data/demographics.toml, from the
words of the tabular itself (a "female breast" code for a male patient) and from age ranges its notes state (Z68:
"BMI adult codes are for use for persons 20 years of age or older")."""
from __future__ import annotations

import re

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


FEMALE = re.compile(r"\b(female|women|woman)\b", re.I)
MALE = re.compile(r"\b(male|men|man)\b", re.I)


def sex_in_description(claim: Claim) -> list[Finding]:
    """Error when a diagnosis's own tabular title names one sex and the claim states the other."""
    sex = claim.request.sex
    if sex is None:
        return []
    findings = []
    for dx in (d for d in claim.diagnoses if d.row):
        title = dx.row["description"] or ""
        female, male = bool(FEMALE.search(title)), bool(MALE.search(title))
        if female == male or (sex == "F") == female:
            continue
        if any(f.codes[0] == dx.shown for f in age_and_sex_conflicts(claim) if f.rule.startswith("sex_")):
            continue  # already said by the list
        who = "female" if female else "male"
        findings.append(Finding(severity="error", rule="sex_in_title", codes=[dx.shown],
                                message=f"{dx.shown} is for {who} patients (its title: \"{title}\"), and the claim "
                                        f"says sex {sex}.",
                                basis=claim.icd_basis(f"title of {dx.shown}; CMS Medicare Code Editor sex edits")))
    return findings


# "BMI adult codes are for use for persons 20 years of age or older"; "... for persons 2-19 years of age."
AGE_NOTE = re.compile(r"^(?:\w+ )?(?P<word>\w+) codes are for use for persons (?:(?P<low>\d+)-(?P<high>\d+) years of age"
                      r"|(?P<min>\d+) years of age or older)", re.I)


def age_in_tabular_notes(claim: Claim) -> list[Finding]:
    """Error when a note at a code's category limits codes whose title has a word ("adult", "pediatric") to an
    age range and the patient's age is outside it."""
    age = claim.request.age
    if age is None:
        return []
    findings = []
    for dx in (d for d in claim.diagnoses if d.row):
        for owner, text in _notes_up(claim, dx, "note"):
            match = AGE_NOTE.match(text)
            if not match or match["word"].lower() not in (dx.row["description"] or "").lower():
                continue
            low = int(match["low"] or match["min"])
            high = int(match["high"]) if match["high"] else 150
            if not low <= age <= high:
                findings.append(Finding(
                    severity="error", rule="age_tabular_note", codes=[dx.shown],
                    message=f"{dx.shown} is for ages {low}{f' to {high}' if match['high'] else ' and older'} "
                            f"(\"{text}\" at {owner['display']}); the patient is {age}.",
                    basis=claim.icd_basis(f"note at {owner['display']}")))
    return findings


def _notes_up(claim: Claim, dx, kind: str):
    """(owner row, note text) for the notes of one kind at a diagnosis and at its subcategories and category."""
    owners = [dx.row] + [a for a in reversed(dx.chain) if a["kind"] in ("category", "subcategory")]
    for owner in owners:
        for note in claim.db.query("SELECT DISTINCT text FROM notes WHERE release_id = ? AND code = ? AND kind = ?",
                                   [claim.icd["id"], owner["code"], kind]):
            yield owner, note["text"]


# O09.5 "Pregnancy for a female 35 years and older at expected date of delivery"; O09.6 "... for a female less than
# 16 years old at expected date of delivery". The age is at delivery, up to a year after the visit: only an age
# that cannot reach (or cannot stay under) the bound by then is a conflict.
DELIVERY_AGE = re.compile(r"for a female (?:(?P<min>\d+) years and older|less than (?P<under>\d+) years old) "
                          r"at expected date of delivery", re.I)


def age_at_delivery(claim: Claim) -> list[Finding]:
    """Error when a pregnancy code defined by the mother's age at delivery (O09.5-, O09.6-) cannot fit hers."""
    age = claim.request.age
    if age is None:
        return []
    findings = []
    for dx in (d for d in claim.diagnoses if d.row):
        for owner, text in _notes_up(claim, dx, "inclusion_term"):
            match = DELIVERY_AGE.search(text)
            if not match:
                continue
            if match["min"] and age >= int(match["min"]) - 1 or match["under"] and age < int(match["under"]):
                continue
            findings.append(Finding(
                severity="error", rule="age_at_delivery", codes=[dx.shown],
                message=f"{dx.shown} is for \"{text}\" ({owner['display']}); the patient is {age}.",
                basis=claim.icd_basis(f"inclusion term at {owner['display']}")))
    return findings


RULES = [age_and_sex_conflicts, sex_in_description, age_in_tabular_notes, age_at_delivery]
