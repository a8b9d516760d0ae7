"""One answer path for commands, buttons, mentions and the shortcut: text in, Block Kit out."""
from __future__ import annotations

from codedata.checks import check_claim
from codedata.codes import get_code
from codedata.db import current_release
from codedata.models import SearchResult
from codedata.search import resolve

from . import Services, blocks
from .parsing import extract_codes, parse_pair, strip_identifiers

REMINDER = (":lock: Please don't paste patient details (names, dates of birth, phone or record numbers) — "
            "medcode needs codes only. They were left out of this answer.")


def hcpcs_checker(services: Services):
    """Return code -> True when the code is in the current HCPCS release (J1745 vs ICD J17.45)."""
    db = services.db()
    release = current_release(db, "hcpcs")
    return lambda code: bool(release and get_code(db, release["id"], code))


def answer(services: Services, kind: str, text: str, offset: int = 0, shared: bool = False) -> list[dict]:
    """Blocks for /icd, /cpt or /pair text; raises MedcodeError (BadInput) for a one-line reply."""
    cleaned = strip_identifiers(text)
    reminder = [blocks.message(REMINDER)[0]] if cleaned.split() != text.split() else []
    if kind == "pair":
        request = parse_pair(cleaned, hcpcs_checker(services))
        report = check_claim(services.db(), request, policy_dirs=services.policy_dirs)
        return reminder + blocks.check_report(report, cleaned, shared=shared)
    result = resolve(services.db(), cleaned, kind, offset=offset)
    if isinstance(result, SearchResult):
        return reminder + blocks.search_result(result, kind, shared=shared)
    return reminder + blocks.code_answer(result, kind, cleaned, shared=shared)


def answer_free_text(services: Services, text: str) -> list[dict]:
    """Answer a channel question: a pairing check, a single lookup, or a search of the words."""
    cleaned = strip_identifiers(text)
    reminder = [blocks.message(REMINDER)[0]] if cleaned.split() != text.split() else []
    found = extract_codes(cleaned, hcpcs_checker(services))
    if found.diagnoses and found.procedures:
        return reminder + answer(services, "pair", " ".join([f"dx:{d}" for d in found.diagnoses]
                                                             + [f"px:{p}" for p in found.procedures]), shared=True)
    codes = found.diagnoses + found.procedures
    if len(codes) == 1:
        return reminder + answer(services, "icd" if found.diagnoses else "cpt", codes[0], shared=True)
    if codes:
        kind = "pair" if found.procedures or len(found.diagnoses) > 1 else "icd"
        return reminder + answer(services, kind, " ".join(codes), shared=True)
    words = " ".join(w for w in cleaned.split() if not w.startswith("<@"))
    kind = "cpt" if any(w in words.lower().split() for w in ("cpt", "hcpcs", "procedure")) else "icd"
    return reminder + answer(services, kind, words, shared=True)
