"""Rule family 1, code validity: unknown, no longer valid, headers, 7th characters, placeholder X."""
from __future__ import annotations

from datetime import date

from ..codes import display_icd, get_code, needs_seventh_character, other_releases, successors
from ..importers.cpt import category_of
from ..models import CodeRef, Finding
from ..procedures import modifier_explanations
from .claim import Claim, Diagnosis


def no_diagnosis(claim: Claim) -> list[Finding]:
    """Procedures with no diagnosis: a claim without one is returned unprocessed, so the verdict is a denial; a
    procedure-only question (is this NCCI pair allowed?) still gets every procedure finding below it."""
    if claim.diagnoses or not claim.procedures:
        return []
    return [Finding(severity="error", rule="no_diagnosis", codes=[p.line.code for p in claim.procedures],
                    message="No diagnosis code given: a claim without one is returned unprocessed. Medical "
                            "necessity, sequencing and pointers were not checked; procedure edits below still apply.",
                    basis="CMS-1500 item 21 (Medicare Claims Processing Manual ch. 26, s. 10.2): at least one "
                          "diagnosis is required")]


def line_without_pointer(claim: Claim) -> list[Finding]:
    """A line with no diagnosis pointer on a claim whose other lines have one: box 24E is required on every line,
    and a claim that points some lines shows this one was left out (a claim with no pointers at all is read as
    every line for every diagnosis)."""
    if not claim.diagnoses or not any(p.line.pointers for p in claim.procedures):
        return []
    bare = [p.line.code for p in claim.procedures if not p.line.pointers]
    return [Finding(severity="error", rule="line_without_pointer", codes=bare,
                    message=f"{', '.join(bare)} point{'s' if len(bare) == 1 else ''} to no diagnosis while the other "
                            f"lines do: give each line the diagnosis it treats (e.g. {bare[0]}>1).",
                    basis="CMS-1500 item 24E (Medicare Claims Processing Manual ch. 26, s. 10.4): a diagnosis "
                          "pointer is required on every service line")] if bare else []


def unknown_modifiers(claim: Claim) -> list[Finding]:
    """A modifier medcode has no explanation for (nor the HCPCS release): said, not judged. The table holds the
    common modifiers only, so a rare valid one must not turn a clean claim into a review."""
    known = modifier_explanations()
    hcpcs = claim.release("hcpcs")
    odd = sorted({m for p in claim.procedures for m in p.line.modifiers if m.upper() not in known
                  and not (hcpcs and get_code(claim.db, hcpcs["id"], m.upper()))})
    if not odd:
        return []
    several = len(odd) > 1
    return [Finding(severity="info", rule="modifier_unknown", codes=odd,
                    message=f"Modifier{'s' if several else ''} {', '.join(odd)}: not among the modifiers medcode "
                            f"explains; check {'them' if several else 'it'} against the payer's modifier list.",
                    basis="medcode modifier explanations (codedata/data/modifiers.tsv) and the HCPCS release")]


def repeated_diagnoses(claim: Claim) -> list[Finding]:
    """A diagnosis listed twice: item 21 takes each diagnosis once (a clearinghouse edit rejects repeats)."""
    seen: set[str] = set()
    repeated = []
    for dx in claim.diagnoses:
        key = dx.shown.replace(".", "").upper()
        if key in seen and dx.shown not in repeated:
            repeated.append(dx.shown)
        seen.add(key)
    return [Finding(severity="warning", rule="repeated_diagnosis", codes=[code],
                    message=f"{code} is listed more than once: list each diagnosis once and point lines to it.",
                    basis="CMS-1500 item 21: up to 12 diagnosis codes, each entered once")
            for code in repeated]


def repeated_modifiers(claim: Claim) -> list[Finding]:
    """A modifier given twice on one line (99213-25-25): each modifier position takes a different modifier."""
    findings = []
    for px in claim.procedures:
        upper = [m.upper() for m in px.line.modifiers]
        twice = sorted({m for m in upper if upper.count(m) > 1})
        if twice:
            findings.append(Finding(
                severity="warning", rule="repeated_modifier", codes=[px.line.code],
                message=f"{px.line.code} carries modifier {', '.join(twice)} more than once: give each modifier once.",
                basis="CMS-1500 item 24D: up to four modifiers per line, each a different one"))
    return findings


def invalid_diagnoses(claim: Claim) -> list[Finding]:
    """Diagnoses that cannot be billed as typed."""
    findings = []
    for dx in claim.diagnoses:
        finding = _diagnosis_finding(claim, dx)
        if finding:
            findings.append(finding)
    return findings


def _diagnosis_finding(claim: Claim, dx: Diagnosis) -> Finding | None:
    answer = dx.answer
    if answer is None:
        return Finding(severity="error", rule="dx_malformed", codes=[dx.typed[:20]],
                       message=f"{dx.typed[:20]!r} is not shaped like an ICD-10-CM code.",
                       basis="ICD-10-CM code format (letter, digit, character, up to 4 more)")
    if answer.status == "no_longer_valid":
        return Finding(severity="error", rule="dx_no_longer_valid", codes=[answer.code],
                       message=f"{answer.code} was last valid in release {answer.last_release} and left in "
                               f"release {answer.removed_in}.",
                       basis=claim.icd_basis(f"code absent since release {answer.removed_in}"),
                       suggestions=answer.successors[:10])
    if answer.status == "not_yet_valid":
        return Finding(severity="error", rule="dx_not_yet_valid", codes=[answer.code],
                       message=f"{answer.code} was not yet a code on the date of service {claim.date_of_service}: it "
                               f"took effect {_on(answer.took_effect)} (first in release {answer.first_release}).",
                       basis=claim.icd_basis(f"{answer.code} is not in the release in force on "
                                             f"{claim.date_of_service}"),
                       suggestions=answer.nearest[:10])
    if answer.status == "unknown":
        return _unknown(claim, dx)
    if answer.needs_seventh_character:
        choices = ", ".join(f"{c.character} ({c.meaning})" for c in answer.seventh_characters[:6])
        return Finding(severity="error", rule="dx_missing_7th_character", codes=[answer.code],
                       message=f"{answer.code} needs a 7th character: {choices}"
                               f"{', …' if len(answer.seventh_characters) > 6 else ''}.",
                       basis=claim.icd_basis(f"7th-character rule (sevenChrDef) at {_seventh_rule_owner(claim, dx)}"),
                       suggestions=answer.children[:10])
    if not answer.billable:
        return Finding(severity="error", rule="dx_header", codes=[answer.code],
                       message=f"{answer.code} is a header, not a billable code on {claim.date_of_service}: pick one "
                               f"of its {answer.children_count} billable codes.",
                       basis=claim.icd_basis(f"{answer.code} has codes beneath it"),
                       suggestions=answer.children[:10])
    return _changed_later(claim, dx)


def _on(when: str | None) -> str:
    return f"{when}" if when and " and " in when else f"on {when}"


def _changed_later(claim: Claim, dx: Diagnosis) -> Finding | None:
    """Info when a code valid on the DOS is deleted or becomes a header in a later imported release."""
    newest = other_releases(claim.db, "icd10cm")[0]
    if newest["id"] == claim.icd["id"]:
        return None
    later = get_code(claim.db, newest["id"], dx.code)
    if later is not None and later["billable"]:
        return None
    what = "is deleted" if later is None else "becomes a header"
    return Finding(severity="info", rule="dx_replaced_later", codes=[dx.shown],
                   message=f"{dx.shown} is valid on {claim.date_of_service}; it {what} in the later release "
                           f"{newest['label']}, so claims for later dates use the codes suggested.",
                   basis=claim.icd_basis(f"{dx.shown} in release {newest['label']}"),
                   suggestions=successors(claim.db, newest["id"], claim.icd["id"], dx.row)[:10])


def _seventh_rule_owner(claim: Claim, dx: Diagnosis) -> str:
    """The code whose sevenChrDef applies: the nearest one carrying a rule."""
    for row in [dx.row] + list(reversed(dx.chain)):
        if row and claim.db.execute("SELECT 1 FROM seventh_characters WHERE release_id = ? AND code = ? LIMIT 1",
                                    [claim.icd["id"], row["code"]]).fetchone():
            return row["display"]
    return dx.shown


def _unknown(claim: Claim, dx: Diagnosis) -> Finding:
    code = dx.code
    fixed = _placeholder_fix(claim, code)
    if fixed:
        return Finding(severity="error", rule="dx_missing_placeholder", codes=[display_icd(code)],
                       message=f"{display_icd(code)} is missing its placeholder X: the 7th character must "
                               f"sit in position 7, as in {fixed.code}.",
                       basis=claim.icd_basis("convention I.A.5, placeholder character"), suggestions=[fixed])
    base = _seventh_base(claim, code)
    if base:
        return Finding(severity="error", rule="dx_invalid_7th_character", codes=[display_icd(code)],
                       message=f"{code[6]} is not a valid 7th character for {base['display']}.",
                       basis=claim.icd_basis(f"7th-character rule for {base['display']}"),
                       suggestions=dx.answer.nearest[1:11])
    return Finding(severity="error", rule="dx_unknown", codes=[display_icd(code)],
                   message=f"{display_icd(code)} is not a code in ICD-10-CM release {claim.icd['label']}.",
                   basis=claim.icd_basis("code not in the tabular"), suggestions=dx.answer.nearest[:10])


def _placeholder_fix(claim: Claim, code: str) -> CodeRef | None:
    """S134A -> S13.4XXA: a 7th character typed without the X placeholders."""
    if len(code) >= 7 or len(code) < 4 or not code[-1].isalpha():
        return None
    candidate = code[:-1].ljust(6, "X") + code[-1]
    row = get_code(claim.db, claim.icd["id"], candidate)
    return CodeRef(code=row["display"], description=row["description"], billable=True) if row else None


def _seventh_base(claim: Claim, code: str) -> dict | None:
    if len(code) != 7:
        return None
    for stem in (code[:6], code[:6].rstrip("X")):
        row = get_code(claim.db, claim.icd["id"], stem)
        if row and needs_seventh_character(claim.db, claim.icd["id"], row):
            return row
    return None


def _in_cms_edits(claim: Claim, code: str) -> bool:
    """True when a CMS edit file names the code (PTP pairs, MUE, add-on edits), or when that cannot tell: no NCCI
    release loaded, a Category II code (not in NCCI), or a date of service after the loaded quarter (a newer code)."""
    claim.release("ncci_mue_practitioner")  # resolved on the date of service, as every other system is
    window = claim.resolutions["ncci_mue_practitioner"].window
    if window is None or category_of(code) == "II" or (window.end is not None and
                                                     date.fromisoformat(claim.date_of_service) > window.end):
        return True
    return any(claim.db.execute(sql, [code] * sql.count("?")).fetchone() for sql in (
        "SELECT 1 FROM ncci_code_ids WHERE code = ?",
        "SELECT 1 FROM ncci_mue WHERE code = ? LIMIT 1",
        "SELECT 1 FROM ncci_aoc WHERE primary_code = ? OR add_on_code = ? LIMIT 1"))


def invalid_procedures(claim: Claim) -> list[Finding]:
    """Procedures that are malformed, unknown, discontinued, or that medcode cannot confirm."""
    findings = []
    for px in claim.procedures:
        code, answer = px.line.code, px.answer
        if answer is None:
            findings.append(Finding(severity="error", rule="px_malformed", codes=[code[:20]],
                                    message=f"{code[:20]!r} is not shaped like a CPT or HCPCS code.",
                                    basis="CPT/HCPCS code format"))
        elif answer.status == "unknown":
            findings.append(Finding(severity="error", rule="px_unknown", codes=[code],
                                    message=f"{code} is not a HCPCS Level II code in {answer.release.title}.",
                                    basis=answer.release.title, suggestions=answer.nearest[:8]))
        elif answer.status == "no_descriptor" and not _in_cms_edits(claim, code):
            findings.append(Finding(severity="warning", rule="px_not_found", codes=[code],
                                    message=f"{code} is not in the CPT files medcode holds, nor in any CMS edit file "
                                            "loaded (NCCI PTP, MUE, add-on): check the number.",
                                    basis="medcode CPT starter set, imported CPT files, NCCI PTP/MUE/AOC"))
        elif answer.status == "no_descriptor":
            findings.append(Finding(severity="info", rule="px_unconfirmed", codes=[code],
                                    message=f"{code} is a well-formed CPT number medcode has no descriptor for; "
                                            "it cannot confirm the code is in use.",
                                    basis="medcode CPT starter set and imported CPT files"))
        elif answer.status == "not_yet_valid":
            findings.append(Finding(severity="error", rule="px_not_yet_valid", codes=[code],
                                    message=f"{code} was not yet a code on the date of service "
                                            f"{claim.date_of_service}: CMS added it effective {answer.took_effect}.",
                                    basis=f"CMS {answer.release.title}, added date"))
        elif answer.system == "hcpcs" and not answer.billable:
            findings.append(Finding(severity="error", rule="px_discontinued", codes=[code],
                                    message=f"{code} was discontinued: its last billable date of service is "
                                            f"{answer.extra.get('terminated')}"
                                            + (f"; CMS cross-references it to {answer.successors[0].code}."
                                               if answer.successors else "."),
                                    basis=f"CMS {answer.release.title}, termination date and cross-reference",
                                    suggestions=answer.successors))
    return findings


def releases_not_loaded(claim: Claim) -> list[Finding]:
    """Info, per code system the claim needs, when no loaded release covers the date of service."""
    needed = {"icd10cm": [d.shown for d in claim.diagnoses if d.code],
              "hcpcs": [p.line.code for p in claim.procedures if p.shape == "hcpcs"],
              "ncci_ptp_practitioner": claim.procedure_codes()}
    findings = []
    for system, codes in needed.items():
        notice = claim.resolutions[system].notice if codes and claim.release(system) else None
        if notice:
            findings.append(Finding(severity="info", rule="release_not_loaded", codes=codes, message=notice,
                                    basis=f"medcode release windows ({system})"))
    return findings


RULES = [no_diagnosis, line_without_pointer, repeated_diagnoses, repeated_modifiers, invalid_diagnoses,
         invalid_procedures, unknown_modifiers, releases_not_loaded]
