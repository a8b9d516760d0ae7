"""Pairing checks: report likely medical-necessity and claim-edit problems of a claim-like request.

Each module holds one rule family; a rule is a function Claim -> list[Finding]. Policy content is data
(codedata/data/*.toml and imported coverage articles), not code.
"""
from __future__ import annotations

import re
from pathlib import Path

import sqlite_utils

from ..errors import BadInput
from ..models import CheckReport, ClaimRequest
from . import conventions, coverage, demographics, laterality, ncci, specificity, validity, words
from .claim import build_claim, releases_used, verdict

FAMILIES = (validity, specificity, conventions, demographics, laterality, ncci, coverage, words)
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
MAX_CODES = 40
MODIFIER = re.compile(r"[A-Za-z0-9]{2}")  # CPT and HCPCS modifiers: two characters


def check_claim(db: sqlite_utils.Database, request: ClaimRequest,
                policy_dirs: tuple[Path, ...] = ()) -> CheckReport:
    """Return the verdict and findings for a claim: errors first, each with its reason and basis."""
    if not request.diagnoses and not request.procedures:
        raise BadInput("give at least one diagnosis or procedure code, e.g. E11.9 and 99213")
    if len(request.diagnoses) + len(request.procedures) > MAX_CODES:
        raise BadInput(f"a claim check takes at most {MAX_CODES} codes")
    for line in request.procedures:
        if any(not MODIFIER.fullmatch(m) for m in line.modifiers):
            raise BadInput("a modifier is two letters or digits after a dash, e.g. 97140-59 or 20610-RT")
        if line.units < 1:
            raise BadInput(f"units must be at least 1 (line {line.code[:8]})")
        for pointer in line.pointers:
            if not 1 <= pointer <= len(request.diagnoses):
                raise BadInput(f"line {line.code[:8]} points to diagnosis {pointer}, but the claim has "
                               f"{len(request.diagnoses)} diagnos{'is' if len(request.diagnoses) == 1 else 'es'}")
    claim = build_claim(db, request, policy_dirs)
    findings = [finding for family in FAMILIES for rule in family.RULES for finding in rule(claim)]
    findings.sort(key=lambda f: SEVERITY_ORDER[f.severity])
    return CheckReport(
        verdict=verdict(findings), findings=findings,
        diagnoses=[d.shown for d in claim.diagnoses], procedures=[p.line for p in claim.procedures],
        date_of_service=claim.date_of_service, releases=releases_used(claim),
    )
