"""One answer path for commands, buttons, mentions and the shortcut: text in, Block Kit out.

Privacy by construction: what the user typed is normalised at the edge (handlers.normalise_input), /pair
parameters are read, then anything that may identify a patient is blanked and codes are read first. An answer shows only codes and the
words medcode recognised from the code sets (the search vocabulary and its synonyms), never the rest of what
was typed; when identifiers were detected the codes are still answered, with a reminder.
"""
from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from codedata.checks import check_claim
from codedata.checks.claim import verdict
from codedata.codes import get_code
from codedata.db import current_release
from codedata.errors import BadInput, MedcodeError
from codedata.models import ClaimRequest, CodeAnswer, Finding, SearchResult
from codedata.search import MAX_QUERY_CHARS, ensure_index, resolve, synonyms, vocabulary
from codedata.windows import parse_dos

from . import Services, blocks
from .parsing import DATE_IN_TEXT, clean_text, codes_asked, extract_codes, find_identifiers, parse_pair, split_parameters

REMINDER = (":lock: Please don't paste patient details (names, dates of birth, phone or record numbers) — "
            "medcode needs codes only. They were left out of this answer.")
MAX_CODES_ANSWERED = 3  # /icd or /cpt with several codes: one answer each, within Slack's block limit
MAX_INPUT = 40_000  # characters read from one message: Slack's own cap on a message's text, so codes at the end
# of a long note shared with the shortcut are read too


def hcpcs_checker(services: Services):
    """Return code -> True when the code is in the current HCPCS release (J1745 vs ICD J17.45)."""
    return hcpcs_in(services.db())


def hcpcs_in(db):
    """hcpcs_checker for a database connection (the CLI has no Services)."""
    release = current_release(db, "hcpcs")
    return lambda code: bool(release and get_code(db, release["id"], code))


@lru_cache(maxsize=1)
def _synonym_words() -> frozenset[str]:
    return frozenset(w for key in synonyms() for w in key)


def known_words(database):
    """Return word -> True for words of the code sets (the search vocabulary) and of the synonym table;
    `database()` gives the connection, and the vocabulary is looked up on first use only (most answers never ask)."""
    found: list = []

    def known(word: str) -> bool:
        if not found:
            db = database()
            try:
                ensure_index(db, ("icd10cm", "cpt", "hcpcs"))
                found.append(vocabulary(db))
            except MedcodeError:
                found.append(None)
        words_ = found[0].df if found[0] is not None else {}
        if word in words_ or word in _synonym_words():
            return True
        # a misspelt code-set word ("Diabetis") is still one: only a word that is nothing medcode knows is a name
        return found[0] is not None and found[0].correct(word) in words_
    return known


def _reminder(found: bool) -> list[dict]:
    return [blocks.message(REMINDER)[0]] if found else []


def with_unread_entries(report, left_out: list[str]):
    """The report, with an error when /pair left out entries with digits not shaped like a code: a claim checked
    without an entry meant as a code is not OK ("/pair E11.9 9921" lost its only procedure). As the CLI's
    px_malformed, an error; the entries are not repeated (one may be an MRN)."""
    unread = [w for w in left_out if any(ch.isdigit() for ch in w)]
    if not unread:
        return report
    findings = [Finding(
        severity="error", rule="entry_not_a_code", codes=[],
        message=f"{len(unread)} entr{'ies' if len(unread) != 1 else 'y'} with digits not shaped like a code "
                "(not repeated here) left out, and the claim was checked without "
                f"{'them' if len(unread) != 1 else 'it'}: a diagnosis is like E11.9, a procedure like 99213 or "
                "J1745.",
        basis="ICD-10-CM and CPT/HCPCS code formats")] + report.findings
    return report.model_copy(update={"findings": findings, "verdict": verdict(findings)})


def hcpcs_asked_as_icd(db, typed: str, result, dos=None):
    """For "/icd J1745" (an unknown "J17.45" that is a HCPCS code): the HCPCS answer, else None."""
    if isinstance(result, CodeAnswer) and result.status == "unknown" and hcpcs_in(db)(typed):
        return resolve(db, typed, "cpt", dos=dos)
    return None


HCPCS_NOT_ICD = "`{}` is a HCPCS Level II code, not ICD-10-CM: answered as `/cpt` would."


def answer(services: Services, kind: str, text: str, offset: int = 0, shared: bool = False,
           dated: bool = False) -> list[dict]:
    """Blocks for /icd, /cpt or /pair text; raises MedcodeError (BadInput) for a one-line reply. `dated`: the
    message this text came from had a date in its words (already blanked)."""
    text = clean_text(text[:MAX_INPUT])
    # Parameters are read before anything is blanked as a possible identifier: dos:2026-03-01 is a date of
    # service, not a date of birth. /icd and /cpt take dos: for a code lookup (the release in force that day).
    parameters, rest = split_parameters(text)
    dos = lookup_dos(parameters) if kind != "pair" else None
    # A Share or More button re-runs the lookup: on the same date of service ("Not yet a code on 2025-06-01"
    # is not answered again for today)
    rerun = f" dos:{parameters['dos']}" if dos else ""
    known = known_words(services.db)
    cleaned = find_identifiers(rest, known)
    reminder = _reminder(cleaned.identifiers)
    is_hcpcs = hcpcs_checker(services)
    if kind == "pair":
        left_out: list[str] = []
        request = parse_pair(cleaned.text, is_hcpcs, left_out, parameters=parameters)
        report = with_unread_entries(check_claim(services.db(), request, policy_dirs=services.policy_dirs),
                                     left_out)
        reply = blocks.check_report(report, pair_text(request), shared=shared)
        if "dos" not in parameters and (dated or DATE_IN_TEXT.search(rest)):
            # "seen 2025-06-01 for G35": a date in the words may be a birth date, so it is not guessed at; say
            # which day was checked (the date is not repeated)
            reply = blocks.insert_before_actions(reply, blocks._context(
                UNREAD_DATE.format("Checked", report.date_of_service, "check")))
        return reminder + reply
    undated = "dos" not in parameters and bool(dated or DATE_IN_TEXT.search(rest))
    return reminder + _with_date_line(_lookup(services, kind, cleaned.text, offset, shared, dos, rerun, known,
                                              is_hcpcs), undated)


def _with_date_line(reply: list[dict], undated: bool) -> list[dict]:
    """A lookup whose message had a date in its words ("/icd G35 on 2025-06-01"): say which day answered (the date
    is not guessed at: it may be a birth date; nor repeated)."""
    if not undated:
        return reply
    return blocks.insert_before_actions(reply, blocks._context(
        UNREAD_DATE.format("Answered", date.today().isoformat(), "look up")))


# A date in a message's words is never guessed to be the date of service: the reply says which day it is for.
UNREAD_DATE = ("{} for {}: a date written in the message is not read as the date of service. Add "
               "`dos:YYYY-MM-DD` to {} another day.")


def _lookup(services: Services, kind: str, text: str, offset: int, shared: bool, dos, rerun: str, known,
            is_hcpcs) -> list[dict]:
    codes = codes_asked(text, is_hcpcs, kind)
    if codes:  # codes first: the words around them are not searched or shown
        replies: list[dict] = []
        for code, code_kind in codes[:MAX_CODES_ANSWERED]:
            result = resolve(services.db(), code, code_kind, dos=dos)
            if isinstance(result, CodeAnswer):
                replies += blocks.code_answer(result, code_kind, result.code + rerun, shared=shared)
        if len(codes) > MAX_CODES_ANSWERED:
            replies.append(blocks._context(f"{len(codes) - MAX_CODES_ANSWERED} more codes: ask for them one at a "
                                           "time, or check them together with `/pair`."))
        if replies:
            return blocks.limit(replies)
    result = resolve(services.db(), text, kind, offset=offset, dos=dos)
    typed = text.strip().upper()
    hcpcs = hcpcs_asked_as_icd(services.db(), typed, result, dos) if kind == "icd" else None
    if hcpcs is not None:  # "/icd J1745" is the HCPCS drug code, not an unknown "J17.45": answered, saying so
        return [blocks._context(HCPCS_NOT_ICD.format(typed))] + blocks.code_answer(
            hcpcs, "cpt", typed + rerun, shared=shared)
    if isinstance(result, SearchResult):
        shown = recognised_query(result, text, known)
        return blocks.search_result(result, kind, shared=shared, shown=shown, rerun=rerun)
    return blocks.code_answer(result, kind, result.code + rerun, shared=shared)


def _claim_lines(services: Services, text: str) -> bool:
    """True when /pair would read a procedure line in `text` (97110x4 is one, though not a bare code)."""
    try:
        return bool(parse_pair(text, hcpcs_checker(services), []).procedures)
    except MedcodeError:
        return True  # a malformed line ("97110x-3"): /pair says what is wrong with it


def lookup_dos(parameters: dict[str, str]):
    """The date of service a lookup asked for (dos:YYYY-MM-DD), or None for today; other parameters belong to
    /pair and are refused here in one line."""
    unknown = sorted(set(parameters) - {"dos"})
    if unknown:
        raise BadInput(f"{unknown[0]}: belongs to /pair; /icd and /cpt take dos:YYYY-MM-DD")
    if "dos" not in parameters:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", parameters["dos"]):
        raise BadInput("dos: takes a date as YYYY-MM-DD, e.g. dos:2026-03-01")
    return parse_dos(parameters["dos"])


def recognised_query(result: SearchResult, typed: str, known) -> str:
    """The part of a search that may be shown: a code prefix as listed, or the concepts read from the code
    sets' words (shown_concepts)."""
    if not result.interpreted:
        return result.query if re.fullmatch(r"[A-Z]?\d{1,4}", result.query or "") else ""
    return " ".join(shown_concepts(result, typed, known))


def shown_concepts(result: SearchResult, typed: str, known) -> list[str]:
    """The concepts of a search that may be shown: read from the code sets' words (typos corrected,
    abbreviations as typed when the synonym table knows them). A capitalised word after the first is taken for
    a possible name and never shown."""
    capitalised = {w.lower() for i, w in enumerate(typed.split()) if i and re.match(r"^[A-Z][a-z]", w)}
    shown = []
    for concept in result.interpreted:
        parts = concept.split()
        if parts and all(known(w) for w in parts) and not (set(parts) & capitalised):
            shown.append(concept)
    return shown


def pair_text(request: ClaimRequest) -> str:
    """The /pair text of a parsed claim, for the Share button: only codes and parameters, never typed words."""
    parts = [f"dx:{d}" for d in request.diagnoses]
    for line in request.procedures:
        parts.append("px:" + line.code + "".join(f"-{m}" for m in line.modifiers)
                     + (f"x{line.units}" if line.units != 1 else "")
                     + (">" + "+".join(str(p) for p in line.pointers) if line.pointers else ""))
    for key, value in (("age", request.age), ("sex", request.sex), ("dos", request.date_of_service),
                       ("pos", request.place_of_service), ("payer", request.payer)):
        if value is not None:
            parts.append(f"{key}:{value}")
    return " ".join(parts)


def safe_error(exc: Exception, typed: str) -> str:
    """The one-line message of a MedcodeError, without any quoted fragment of what the user typed."""
    message = str(exc)
    typed_lower = clean_text(typed).lower()

    def hide(match: re.Match) -> str:
        inner = match.group(2)
        return "that text" if inner and inner.lower() in typed_lower else match.group(0)

    return re.sub(r"(['\"])(.*?)\1", hide, message)


def answer_free_text(services: Services, text: str, shared: bool = True) -> list[dict]:
    """Answer a channel question: a pairing check, a single lookup, or a search of the words (`shared`: posted
    for everyone, so without a Share button)."""
    text = clean_text(text[:MAX_INPUT])
    parameters, rest = split_parameters(text)
    known = known_words(services.db)
    cleaned = find_identifiers(rest, known)
    reminder = _reminder(cleaned.identifiers)
    found = extract_codes(cleaned.text, hcpcs_checker(services))
    extra = " ".join(f"{k}:{v}" for k, v in parameters.items())
    if found.diagnoses and (found.procedures or _claim_lines(services, cleaned.text)):
        # The text itself, as /pair reads it: units (97110x4), modifiers (97140-59), pointers and repeats kept;
        # words not shaped like codes are left out, never echoed
        return reminder + answer(services, "pair", f"{cleaned.text} {extra}", shared=shared,
                                 dated=bool(DATE_IN_TEXT.search(rest)))
    codes = found.diagnoses + found.procedures
    if len(codes) == 1:
        return reminder + answer(services, "icd" if found.diagnoses else "cpt", codes[0], shared=shared)
    if codes:
        kind = "pair" if found.procedures or len(found.diagnoses) > 1 else "icd"
        return reminder + answer(services, kind, " ".join(codes + ([extra] if kind == "pair" else [])),
                                 shared=shared)
    words = cleaned.text
    if len(words.strip()) > MAX_QUERY_CHARS:  # a whole note with no code in it: not a search question
        return reminder + blocks.message("No codes found in this message. To search by words, ask with a few of "
                                         "them, e.g. `/icd knee pain`.")
    kind = "cpt" if any(w in words.lower().split() for w in ("cpt", "hcpcs", "procedure")) else "icd"
    return reminder + answer(services, kind, words, shared=shared)
