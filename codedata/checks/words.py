"""Rule family 8, codes typed with words beside them: when the words describe another code far better than the
typed one ("I63.31 thrombosis of right carotid artery": I63.31 is the middle cerebral artery, the words are
I63.031), say so and suggest the code the words describe. The words themselves are never repeated back."""
from __future__ import annotations

from ..models import CodeRef, Finding
from ..search import search
from .claim import Claim

CONFIDENT = 0.8  # search score of the words' best match before medcode says the typed code disagrees
CONSIDERED = 5


def words_describe_another_code(claim: Claim) -> list[Finding]:
    findings = []
    for dx in (d for d in claim.diagnoses if d.row and d.code in claim.request.described):
        words = claim.request.described[dx.code]
        result = search(claim.db, words, ("icd10cm",), limit=CONSIDERED)
        hits = [h for h in result.results if h.billable]
        if not hits or hits[0].score < CONFIDENT:
            continue
        typed = dx.code
        if any(h.code.replace(".", "").startswith(typed) or typed.startswith(h.code.replace(".", "")) for h in hits):
            continue  # the words agree with the code (or name a code under it)
        best = hits[0]
        findings.append(Finding(
            severity="warning", rule="words_describe_another_code", codes=[dx.shown, best.code],
            message=f"The words typed with {dx.shown} describe {best.code} ({best.description}), not {dx.shown} "
                    f"({dx.row['description']}): check which one the record supports.",
            basis=claim.icd_basis(f"tabular descriptions of {dx.shown} and {best.code}"),
            suggestions=[CodeRef(code=h.code, description=h.description, billable=True) for h in hits[:3]]))
    return findings


RULES = [words_describe_another_code]
