"""Rule family 3, ICD-10-CM conventions: Excludes1 pairs, manifestation or external-cause codes listed first,
"use additional code" notes."""
from __future__ import annotations

from ..codes import get_code
from ..models import CodeRef, Finding
from ..text import MANIFESTATION
from .claim import Claim, Diagnosis, matches_reference, note_references
from .codesets import bundled_toml, in_codeset


def _notes(claim: Claim, dx: Diagnosis, kind: str, levels: tuple[str, ...]) -> list[tuple[str, str]]:
    """(text, owner) of the notes of `kind` on the code and on its ancestors of the given kinds."""
    owners = [dx.row] + [a for a in reversed(dx.chain) if a["kind"] in levels]
    found = []
    for owner in owners:
        for note in claim.db.query("SELECT text FROM notes WHERE release_id = ? AND code = ? AND kind = ?"
                                   " ORDER BY seq", [claim.icd["id"], owner["code"], kind]):
            found.append((note["text"], owner["display"]))
    return found


def excludes1_pairs(claim: Claim) -> list[Finding]:
    """Warn when two diagnoses on the claim are in an Excludes1 relationship (guideline I.A.12.a)."""
    findings, seen = [], set()
    valid = [d for d in claim.diagnoses if d.row]
    for dx in valid:
        notes = _notes(claim, dx, "excludes1", ("category", "subcategory", "block", "chapter"))
        for other in valid:
            pair = frozenset((dx.code, other.code))
            if other is dx or pair in seen or _separate_services(claim, dx, other):
                continue
            hit = next(((text, owner) for text, owner in notes
                        if any(matches_reference(other.code, ref) for ref in note_references(text))), None)
            if hit:
                seen.add(pair)
                findings.append(Finding(
                    severity="warning", rule="excludes1", codes=[dx.shown, other.shown],
                    message=f"{dx.shown} and {other.shown} are Excludes1 at {hit[1]} (\"{hit[0]}\"): they are "
                            "not coded together, except when the two conditions are unrelated (guideline "
                            "I.A.12.a).",
                    basis=claim.icd_basis(f"Excludes1 note at {hit[1]}")))
    return findings


def _separate_services(claim: Claim, one, other) -> bool:
    """True when every line names its diagnoses (box 24E) and none names both: each condition supports its own
    service, the "unrelated" exception of guideline I.A.12.a (Z01.419 for G0101, Z12.4 for Q0091)."""
    lines = claim.procedures
    return bool(lines) and all(p.line.pointers for p in lines) and not any(
        one in claim.diagnoses_for(p) and other in claim.diagnoses_for(p) for p in lines)


def manifestation_first(claim: Claim) -> list[Finding]:
    """Error when the first-listed diagnosis is a manifestation code (guideline I.A.13).

    A manifestation code says "in diseases classified elsewhere" in its title, or, without that phrase, pairs a
    "code first" note with a "use additional code" note at the etiology that names it back. Other "code first"
    notes are sequencing advice (see code_first_order): N18.31 or J18.9 alone are fine.
    """
    first = claim.diagnoses[0] if claim.diagnoses else None
    if not first or not first.row:
        return []
    code_first = _notes(claim, first, "code_first", ("category", "subcategory"))
    titles = [first.row] + [a for a in first.chain if a["kind"] in ("category", "subcategory")]
    elsewhere = any(MANIFESTATION.search(t["description"] or "") for t in titles)
    # Chapter 21 status codes are never manifestations: Z87 says "code first any follow-up examination (Z09)",
    # and Z09 names Z87 back, but a history code may be listed first (Z87.891 for cessation counselling).
    reciprocal = not elsewhere and not first.code.startswith("Z") and _etiology_names_it(claim, first, code_first)
    if not (elsewhere or reciprocal):
        return []
    why = "its title says \"in diseases classified elsewhere\"" if elsewhere else \
        f"the tabular says \"code first {code_first[0][0]}\" at {code_first[0][1]}, and the etiology's " \
        "\"use additional code\" note names it"
    etiology = _referenced_codes(claim, [t for t, _ in code_first])
    return [Finding(severity="error", rule="manifestation_first", codes=[first.shown],
                    message=f"{first.shown} is a manifestation code ({why}): it is never listed first; list the "
                            "underlying condition first.",
                    basis=claim.icd_basis(f"etiology/manifestation convention at {first.shown} (guideline I.A.13)"),
                    suggestions=etiology)]


def _etiology_names_it(claim: Claim, dx: Diagnosis, code_first: list[tuple[str, str]]) -> bool:
    """True when a category the code-first note names has a use-additional-code note naming `dx` back."""
    refs = [r for text, _ in code_first for r in note_references(text)]
    categories = {first for first, last in refs if first == last and len(first) == 3}
    for category in list(categories)[:12]:
        for note in claim.db.query("SELECT text FROM notes WHERE release_id = ? AND code = ? AND kind = ?",
                                   [claim.icd["id"], category, "use_additional_code"]):
            if any(matches_reference(dx.code, ref) for ref in note_references(note["text"])):
                return True
    return False


def code_first_order(claim: Claim) -> list[Finding]:
    """Warn when a code's "code first" condition is on the claim but listed after it (sequencing advice)."""
    findings = []
    coded = [d for d in claim.diagnoses if d.row]
    for position, dx in enumerate(coded):
        notes = _notes(claim, dx, "code_first", ("category", "subcategory"))
        refs = [r for text, _ in notes for r in note_references(text)]
        later = [d for d in coded[position + 1:] if d.code != dx.code and
                 any(matches_reference(d.code, r) for r in refs)]
        if later:
            findings.append(Finding(
                severity="warning", rule="code_first_order", codes=[dx.shown, later[0].shown],
                message=f"The tabular says to code {later[0].shown} first when it is present (\"code first\" at "
                        f"{notes[0][1]}): list it before {dx.shown}.",
                basis=claim.icd_basis(f"code-first note at {notes[0][1]} (guideline I.A.13)")))
    return findings


def additional_code_first(claim: Claim) -> list[Finding]:
    """Warn when the first diagnosis is one that a later diagnosis's "use additional code" note asks for: the note
    makes it the second code of the pair (E11 'use additional code to identify control using insulin (Z79.4)')."""
    coded = [d for d in claim.diagnoses if d.row]
    if len(coded) < 2 or coded[0] is not claim.diagnoses[0]:
        return []
    first = coded[0]
    if any(p.line.pointers == [1] for p in claim.procedures):
        return []  # it is the reason for a service of its own (F17.210 for cessation counselling 99406)
    for dx in coded[1:]:
        for text, owner in _notes(claim, dx, "use_additional_code", ("category", "subcategory")):
            if dx.code != first.code and any(matches_reference(first.code, r) for r in note_references(text)):
                return [Finding(
                    severity="warning", rule="additional_code_first", codes=[first.shown, dx.shown],
                    message=f"{first.shown} is listed first, but the tabular names it as an additional code to "
                            f"{dx.shown} ('use additional code' at {owner}): list {dx.shown} first.",
                    basis=claim.icd_basis(f"use-additional-code note at {owner} (guideline I.A.13)"))]
    return []


TREATMENT_ENCOUNTERS = ("Z510", "Z5111", "Z5112")  # radiation, chemotherapy, immunotherapy sessions


def treatment_encounter_first(claim: Claim) -> list[Finding]:
    """Warn when an encounter for radiation therapy, chemotherapy or immunotherapy (Z51.0, Z51.11, Z51.12) is on
    the claim but not first: guideline I.C.2.e.2 lists it first when the encounter is solely for that treatment,
    with the malignancy after it."""
    coded = [d for d in claim.diagnoses if d.row]
    later = [d for d in coded[1:] if d.code in TREATMENT_ENCOUNTERS]
    if not coded or coded[0].code in TREATMENT_ENCOUNTERS or not later:
        return []
    return [Finding(
        severity="warning", rule="treatment_encounter_first", codes=[later[0].shown, coded[0].shown],
        message=f"{later[0].shown} ({later[0].row['description']}) is listed after {coded[0].shown}: when the "
                f"encounter is solely for that treatment, {later[0].shown} is listed first and the condition "
                "treated after it.",
        basis=claim.icd_basis("guideline I.C.2.e.2 (encounter for chemotherapy, immunotherapy or radiation "
                              "therapy)"))]


def hypertension_combination(claim: Claim) -> list[Finding]:
    """Warn when essential hypertension (I10) is coded beside chronic kidney disease (N18) or heart failure (I50):
    the classification presumes the link and has combination codes (I12 hypertensive CKD, I11 hypertensive heart
    disease, I13 both), unless the record says the conditions are unrelated (guideline I.C.9.a)."""
    codes = [d.code for d in claim.diagnoses if d.row]
    if "I10" not in codes:
        return []
    ckd = [c for c in codes if c.startswith("N18")]
    failure = [c for c in codes if c.startswith("I50")]
    if not ckd and not failure:
        return []
    if ckd and failure:
        combination, section = "I13.-", "I.C.9.a.3"
    elif ckd:
        combination = "I12.0" if any(c in ("N185", "N186") for c in ckd) else "I12.9"
        section = "I.C.9.a.2"
    else:
        combination, section = "I11.0", "I.C.9.a.1"
    other = next(d.shown for d in claim.diagnoses if d.code in ckd + failure)
    suggestion = get_code(claim.db, claim.icd["id"], combination.replace(".", "").rstrip("-"))
    return [Finding(
        severity="warning", rule="hypertension_combination", codes=["I10", other],
        message=f"I10 with {other}: the classification presumes the hypertension caused it; code {combination} "
                f"with {other} instead of I10, unless the record says they are unrelated.",
        basis=claim.icd_basis(f"guideline {section} (hypertension with heart or kidney disease)"),
        suggestions=[CodeRef(code=suggestion["display"], description=suggestion["description"],
                             billable=bool(suggestion["billable"]))] if suggestion else [])]


def adverse_effect_first(claim: Claim) -> list[Finding]:
    """Warn when an adverse-effect code (T36-T50, 'Adverse effect of ...') is listed first and another diagnosis
    follows: the nature of the adverse effect (dizziness, rash) is sequenced first, then the drug's adverse-effect
    code (guideline I.C.19.e.5.a)."""
    coded = [d for d in claim.diagnoses if d.row]
    if len(coded) < 2 or coded[0] is not claim.diagnoses[0]:
        return []
    first = coded[0]
    if not ("T36" <= first.code[:3] <= "T50") or \
            not (first.row["description"] or "").lower().startswith("adverse effect of"):
        return []
    return [Finding(
        severity="warning", rule="adverse_effect_first", codes=[first.shown, coded[1].shown],
        message=f"{first.shown} is an adverse-effect code listed first: code the nature of the effect first "
                f"(e.g. {coded[1].shown}) and the drug's adverse-effect code after it.",
        basis=claim.icd_basis("guideline I.C.19.e.5.a (adverse effect)"))]


GESTATIONAL = "O244"  # O24.4- gestational diabetes: its 6th character says how it is controlled
DRUG_USE = ("Z794", "Z7984", "Z7985")  # long-term use of insulin, oral hypoglycemics, injectable non-insulin drugs


def gestational_diabetes_drug_use(claim: Claim) -> list[Finding]:
    """Warn when a long-term drug-use code (Z79.4, Z79.84, Z79.85) is coded with gestational diabetes (O24.4-):
    the O24.4 code already says insulin- or drug-controlled (guideline I.C.15.g)."""
    codes = [d for d in claim.diagnoses if d.row]
    gdm = next((d for d in codes if d.code.startswith(GESTATIONAL)), None)
    drug = next((d for d in codes if d.code in DRUG_USE), None)
    if not gdm or not drug:
        return []
    return [Finding(
        severity="warning", rule="gestational_diabetes_drug_use", codes=[drug.shown, gdm.shown],
        message=f"{drug.shown} is not coded with gestational diabetes ({gdm.shown}): the O24.4 code's last "
                "character already says how it is controlled; leave out the Z79 code.",
        basis=claim.icd_basis("guideline I.C.15.g (gestational diabetes)"))]


def uncomplicated_beside_complication(claim: Claim) -> list[Finding]:
    """Warn when a code that says the condition has no complications (E11.9 'Type 2 diabetes mellitus without
    complications', F10.20 'Alcohol dependence, uncomplicated') is coded beside a code of the same condition that
    names one (E11.65, F10.239): the two contradict each other; the complication codes say it all."""
    coded = [d for d in claim.diagnoses if d.row]
    for plain in coded:
        title = (plain.row["description"] or "").lower()
        width = 3 if "without complications" in title else 4 if title.endswith("uncomplicated") else 0
        other = next((d for d in coded if width and d.code != plain.code and d.code[:width] == plain.code[:width]),
                     None)  # the same code twice is the duplicate rule's, not a contradiction
        if other is not None:
            return [Finding(
                severity="warning", rule="uncomplicated_with_complication", codes=[plain.shown, other.shown],
                message=f"{plain.shown} ({plain.row['description']}) contradicts {other.shown} "
                        f"({other.row['description']}): leave out {plain.shown}.",
                basis=claim.icd_basis(f"titles of {plain.shown} and {other.shown}: one says there is no "
                                      "complication, the other names one"))]
    return []


def aftercare_for_injury(claim: Claim) -> list[Finding]:
    """Warn when orthopedic aftercare (Z47) is coded with an injury's subsequent-encounter code: the injury code
    with its 7th character D (G, K, P ...) alone describes aftercare of an injury (Z47 Excludes1 'aftercare for
    healing fracture-code to fracture with 7th character D'; guideline I.C.21.c.7)."""
    coded = [d for d in claim.diagnoses if d.row]
    aftercare = next((d for d in coded if d.code.startswith("Z47")), None)
    injury = next((d for d in coded if d.code[:1] in ("S", "T") and len(d.code) == 7
                   and "subsequent encounter" in d.row["description"].lower()), None)
    if not aftercare or not injury:
        return []
    return [Finding(
        severity="warning", rule="aftercare_for_injury", codes=[aftercare.shown, injury.shown],
        message=f"{aftercare.shown} is an aftercare code, but aftercare of an injury is coded with the injury's "
                f"subsequent-encounter code alone ({injury.shown}): leave out {aftercare.shown}.",
        basis=claim.icd_basis("Z47 Excludes1 (aftercare for healing fracture: code to fracture with 7th character "
                              "D); guideline I.C.21.c.7"))]


def supplementary_first(claim: Claim) -> list[Finding]:
    """Error when the first diagnosis is from a block the tabular reserves for supplementary codes (B95-B97)."""
    first = claim.diagnoses[0] if claim.diagnoses else None
    if not first or not first.row:
        return []
    notes = _notes(claim, first, "note", ("category", "subcategory", "block"))
    hit = next(((text, owner) for text, owner in notes if "supplementary or additional code" in text.lower()), None)
    if not hit:
        return []
    conditions = [CodeRef(code=d.shown, description=d.row["description"], billable=bool(d.row["billable"]))
                  for d in claim.diagnoses[1:] if d.row]
    return [Finding(severity="error", rule="supplementary_first", codes=[first.shown],
                    message=f"{first.shown} is a supplementary code (\"{hit[0]}\" at {hit[1]}): it identifies "
                            "the agent of a condition coded first; list the condition first.",
                    basis=claim.icd_basis(f"note at {hit[1]}"), suggestions=conditions)]


def external_cause_first(claim: Claim) -> list[Finding]:
    """Error when an external-cause code (V00-Y99) is listed first (guideline I.C.20)."""
    first = claim.diagnoses[0] if claim.diagnoses else None
    if not first or not first.code or not ("V00" <= first.code[:3] <= "Y99"):
        return []
    injuries = [CodeRef(code=d.shown, description=d.row["description"], billable=bool(d.row["billable"]))
                for d in claim.diagnoses[1:] if d.row and not ("V00" <= d.code[:3] <= "Y99")]
    return [Finding(severity="error", rule="external_cause_first", codes=[first.shown],
                    message=f"{first.shown} is an external-cause code: it is never the first-listed diagnosis; "
                            "list the injury or condition first.",
                    basis=claim.icd_basis("chapter 20 external causes, guideline I.C.20"), suggestions=injuries)]


def use_additional_code(claim: Claim) -> list[Finding]:
    """Info when a "use additional code" note names codes none of which is on the claim."""
    findings = []
    codes = [d.code for d in claim.diagnoses if d.code]
    for dx in (d for d in claim.diagnoses if d.row):
        by_owner: dict[str, list[str]] = {}
        for text, owner in _notes(claim, dx, "use_additional_code", ("category", "subcategory")):
            by_owner.setdefault(owner, []).append(text)
        for owner, texts in by_owner.items():
            refs = [r for t in texts for r in note_references(t)]
            if refs and not any(matches_reference(c, r) for c in codes if c != dx.code for r in refs):
                findings.append(Finding(
                    severity="info", rule="use_additional_code", codes=[dx.shown],
                    message=f"At {owner} the tabular says \"use additional code\": {'; '.join(texts)}.",
                    basis=claim.icd_basis(f"use-additional-code note at {owner}"),
                    suggestions=_referenced_codes(claim, texts)))
    return findings


def _referenced_codes(claim: Claim, texts: list[str], limit: int = 6) -> list[CodeRef]:
    refs = []
    for text in texts:
        for first, last in note_references(text):
            if first == last:
                row = get_code(claim.db, claim.icd["id"], first)
                if row and len(refs) < limit and row["display"] not in {r.code for r in refs}:
                    refs.append(CodeRef(code=row["display"], description=row["description"],
                                        billable=bool(row["billable"])))
    return refs


def symptom_first_with_its_diagnosis(claim: Claim) -> list[Finding]:
    """Warn when the first-listed diagnosis is a sign or symptom and a definitive diagnosis it is routinely part of
    is also on the claim (codedata/data/integral_symptoms.toml; guidelines I.B.5, IV.D)."""
    coded = [d for d in claim.diagnoses if d.row]
    if len(coded) < 2:
        return []
    first = coded[0]
    for group in bundled_toml("integral_symptoms.toml")["group"]:
        if not in_codeset(first.shown, group["symptoms"]):
            continue
        explained = next((d for d in coded[1:] if in_codeset(d.shown, group["diagnoses"])), None)
        if explained:
            return [Finding(
                severity="warning", rule="symptom_first_with_its_diagnosis", codes=[first.shown, explained.shown],
                message=f"{first.shown} ({first.row['description']}) is listed first, but {explained.shown} "
                        f"({explained.row['description']}) explains it ({group['why']}): list the confirmed "
                        f"diagnosis first, and leave out a symptom that is part of it.",
                basis=claim.icd_basis("guidelines I.B.5 and IV.D (signs and symptoms of a definitive diagnosis)"))]
    return []


RULES = [excludes1_pairs, manifestation_first, code_first_order, additional_code_first, supplementary_first,
         external_cause_first, treatment_encounter_first, aftercare_for_injury, hypertension_combination,
         adverse_effect_first, gestational_diabetes_drug_use, uncomplicated_beside_complication,
         symptom_first_with_its_diagnosis, use_additional_code]
