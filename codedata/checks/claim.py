"""The claim every rule reads: each diagnosis and procedure resolved once against the current releases."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlite_utils

from ..codes import ancestors, get_code, lookup_icd, normalise_icd, release_info
from ..windows import Resolution, parse_dos, resolve
from ..errors import BadInput
from ..models import ClaimRequest, CodeAnswer, Finding, ProcedureLine, ReleaseInfo
from ..procedures import classify_procedure, lookup_procedure

# A code reference inside a tabular note: "(E10.-)", "(O24.4-)", "(P70.2)", "(E08-E13)", "(S72.-)".
NOTE_RANGE = re.compile(r"\b([A-Z][0-9][0-9A-Z])-([A-Z][0-9][0-9A-Z])\b")
NOTE_CODE = re.compile(r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(?:\.?-)?")


@dataclass
class Diagnosis:
    typed: str
    code: str | None  # undotted, None when not shaped like a code
    answer: CodeAnswer | None
    row: dict | None = None  # the current-release row, when the code exists
    chain: list[dict] = field(default_factory=list)  # ancestors, chapter first

    @property
    def shown(self) -> str:
        return self.answer.code if self.answer else self.typed


@dataclass
class Procedure:
    line: ProcedureLine
    shape: str | None  # cpt, hcpcs, or None when malformed
    answer: CodeAnswer | None


@dataclass
class Claim:
    db: sqlite_utils.Database
    request: ClaimRequest
    date_of_service: str
    resolutions: dict[str, Resolution]  # per code system: the release in force on the date of service
    diagnoses: list[Diagnosis]
    procedures: list[Procedure]
    policy_dirs: tuple[Path, ...] = ()  # an organisation's own TOML policy packs

    @property
    def icd(self) -> dict | None:
        return self.release("icd10cm")

    def release(self, system: str) -> dict | None:
        """The release of `system` that answers for the date of service (the nearest when none covers it)."""
        resolution = self.resolutions.get(system)
        if resolution is None:
            resolution = self.resolutions[system] = resolve(self.db, system, date.fromisoformat(self.date_of_service))
        return resolution.release

    def icd_basis(self, detail: str) -> str:
        title = self.icd["title"].split(",")[0] if self.icd else "ICD-10-CM"
        return f"{title} (release {self.icd['label']}), {detail}" if self.icd else detail

    def procedure_codes(self) -> list[str]:
        return [p.line.code for p in self.procedures if p.shape]

    def payer_may_be(self, payer: str) -> bool:
        """True when a payer-specific rule can apply: the claim names that payer, or names none and the patient
        could be covered by it (Medicare: not a child; a child's claim with no payer is not Medicare's)."""
        if self.request.payer is not None:
            return self.request.payer == payer
        return not (payer == "medicare" and self.request.age is not None and self.request.age < 18)

    def payer_severity(self, payer: str, severity: str) -> str:
        """A payer's rule is as severe as it is when the claim names that payer; with no payer named it is a
        warning for a patient of Medicare age (65 or older) and otherwise information, never a denial."""
        if self.request.payer == payer:
            return severity
        if payer == "medicare" and self.request.age is not None and self.request.age >= 65:
            return "warning" if severity == "error" else severity
        return "info"

    def whose(self, payer: str) -> str:
        """A prefix saying whose rule a finding states, when the claim does not name its payer."""
        return "" if self.request.payer == payer else f"{payer.capitalize()}'s rule (payer not given): "

    def diagnoses_for(self, procedure: "Procedure") -> list[Diagnosis]:
        """The diagnoses a line points to (CMS-1500 box 24E), or every diagnosis when it has no pointers."""
        if not procedure.line.pointers:
            return self.diagnoses
        return [self.diagnoses[i - 1] for i in procedure.line.pointers if 0 < i <= len(self.diagnoses)]


def build_claim(db: sqlite_utils.Database, request: ClaimRequest, policy_dirs: tuple[Path, ...] = ()) -> Claim:
    """Resolve every code of the request once, each against the release in force on the date of service."""
    day = parse_dos(request.date_of_service)
    resolutions = {system: resolve(db, system, day) for system in ("icd10cm", "hcpcs")}
    icd = resolutions["icd10cm"].release
    return Claim(db=db, request=request, date_of_service=day.isoformat(), resolutions=resolutions,
                 diagnoses=[_diagnosis(db, icd, text, day) for text in request.diagnoses],
                 procedures=[_procedure(db, line, day) for line in request.procedures], policy_dirs=policy_dirs)


def _diagnosis(db, icd: dict | None, text: str, day: date) -> Diagnosis:
    try:
        code = normalise_icd(text)
    except BadInput:
        return Diagnosis(typed=text, code=None, answer=None)
    if icd is None:
        return Diagnosis(typed=text, code=code, answer=None)
    answer = lookup_icd(db, text, dos=day)
    row = get_code(db, icd["id"], code)
    return Diagnosis(typed=text, code=code, answer=answer, row=row,
                     chain=ancestors(db, icd["id"], row) if row else [])


def _procedure(db, line: ProcedureLine, day: date) -> Procedure:
    try:
        shape, code = classify_procedure(line.code)
    except BadInput:
        return Procedure(line=line, shape=None, answer=None)
    if shape == "modifier":
        return Procedure(line=line, shape=None, answer=None)
    line = line.model_copy(update={"code": code, "modifiers": [m.upper().lstrip("-") for m in line.modifiers]})
    return Procedure(line=line, shape=shape, answer=lookup_procedure(db, code, dos=day, facts=False))


def note_references(text: str) -> list[tuple[str, str]]:
    """Return the code ranges a tabular note names, as (first, last) undotted prefixes."""
    found = [(a, b) for a, b in NOTE_RANGE.findall(text)]
    stripped = NOTE_RANGE.sub(" ", text)
    found += [(c.replace(".", ""), c.replace(".", "")) for c in NOTE_CODE.findall(stripped)]
    return found


def matches_reference(code: str, reference: tuple[str, str]) -> bool:
    """True when an undotted code falls under a note reference (a prefix, or a category range)."""
    first, last = reference
    if first == last:
        return code.startswith(first)
    return first[:3] <= code[:3] <= last[:3]


def verdict(findings: list[Finding]) -> str:
    """Return likely_denial on any error, review on any warning, else ok."""
    severities = {f.severity for f in findings}
    return "likely_denial" if "error" in severities else "review" if "warning" in severities else "ok"


def releases_used(claim: Claim) -> list[ReleaseInfo]:
    """Every release the check read: per system, the one in force on the date of service."""
    systems = ["icd10cm", "hcpcs", "cpt"]
    systems += [r["system"] for r in claim.db.query(
        "SELECT DISTINCT system FROM releases WHERE system LIKE 'ncci%' OR system = 'mcd' ORDER BY system")]
    return [release_info(r) for s in systems if (r := claim.release(s))]
