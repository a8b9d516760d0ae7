"""Text from Slack -> requests for codedata: /pair arguments, and codes pulled out of free text."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from codedata.codes import looks_like_icd
from codedata.errors import BadInput
from codedata.models import ClaimRequest, ProcedureLine

# Things in a message that look like codes but are not, and that may identify a patient: record numbers and
# dates after their labels, dates, phone and social-security numbers, emails, money, a name after "patient",
# and long numbers (codes have at most 5 digits). Labels go first so "DOB 03/04/1955" takes its date along.
NOT_CODES = [
    re.compile(r"\b(?:mrn|mr#|acct|account|member|id|ssn|claim|dob|d\.o\.b\.?|birth(?:date|day)?)\s*"
               r"(?:#|no\.?|number)?\s*[:#]?\s*(?=[\w/.-]*\d)[\w/.-]+", re.I),
    re.compile(r"\b\d{1,2}[/-]\d{1,2}[/-]\d{2,4}\b"),                      # 01/02/1960, 1-2-60
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),                                  # 2026-03-01
    re.compile(r"\(?\b\d{3}\)?[-.\s]\d{3}[-.\s]\d{4}\b"),                  # 555-123-4567, (555) 123 4567
    re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),                                  # SSN shape
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),                                  # email
    re.compile(r"[$€£]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d{2})\s?(?:usd|dollars)\b", re.I),
    re.compile(r"\b(?:[Pp]atient|[Pp]t\.?|[Nn]ame)\s*[:#]?\s*(?:[A-Z][a-z'-]+(?:\s+|$)){1,3}"),
    re.compile(r"\b\d{6,}\b"),
]
PROCEDURE = re.compile(r"^(\d{5}|\d{4}[FTUftu]|[A-Va-v]\d{4})$")
UNITS = re.compile(r"^(.+?)[x*](\d{1,4})$", re.I)


@dataclass
class ExtractedCodes:
    diagnoses: list[str] = field(default_factory=list)
    procedures: list[str] = field(default_factory=list)


def strip_identifiers(text: str) -> str:
    """Blank out dates, phone numbers, amounts and record numbers so their digits are never read as codes."""
    for pattern in NOT_CODES:
        text = pattern.sub(" ", text)
    return text


def classify_token(token: str, is_hcpcs=None) -> str | None:
    """Return 'dx', 'px' or None for one token; letter+4 digits is HCPCS when `is_hcpcs` says it exists."""
    token = token.strip(".,;:()[]{}!?\"'")
    if not token:
        return None
    if PROCEDURE.match(token) and not ("." in token):
        if token[0].isalpha() and is_hcpcs is not None and not is_hcpcs(token.upper()):
            return "dx" if looks_like_icd(token) else None
        return "px"
    if looks_like_icd(token) and any(ch.isdigit() for ch in token) and token[0].isalpha():
        return "dx"
    return None


def extract_codes(text: str, is_hcpcs=None) -> ExtractedCodes:
    """Pull diagnosis and procedure codes out of a chat message (order kept, duplicates dropped)."""
    found = ExtractedCodes()
    for token in re.split(r"[\s,;/]+", strip_identifiers(text or "")):
        token = token.strip(".,;:()[]{}!?\"'")
        if PROCEDURE.match(token.split("-")[0]):
            token = token.split("-")[0]  # 97140-59: the modifier is not a code
        kind = classify_token(token, is_hcpcs)
        target = found.diagnoses if kind == "dx" else found.procedures if kind == "px" else None
        if target is not None and token.upper() not in target:
            target.append(token.upper())
    return found


def parse_pair(text: str, is_hcpcs=None) -> ClaimRequest:
    """Parse /pair arguments: codes by shape, dx:/px: prefixes, age:/sex:/dos:, 97110x4 units, 97140-59 modifiers."""
    diagnoses: list[str] = []
    lines: list[ProcedureLine] = []
    options: dict[str, str] = {}
    for raw in re.split(r"[\s,;]+", (text or "").strip()):
        if not raw:
            continue
        key, sep, value = raw.partition(":")
        key = key.lower()
        if sep and key in ("age", "sex", "dos", "pos"):
            options[key] = value
        elif sep and key in ("dx", "px"):
            _add(value, key, diagnoses, lines)
        else:
            _add(raw, None, diagnoses, lines, is_hcpcs)
    return ClaimRequest(diagnoses=diagnoses, procedures=lines, **_options(options))


def _add(raw: str, forced: str | None, diagnoses: list[str], lines: list[ProcedureLine], is_hcpcs=None) -> None:
    units = 1
    match = UNITS.match(raw)
    if match and match.group(1):
        raw, units = match.group(1), int(match.group(2))
    code, *modifiers = raw.split("-") if not raw.startswith("-") else (raw, )
    kind = forced or classify_token(code, is_hcpcs)
    if kind == "dx" or (kind is None and not modifiers and forced is None):
        diagnoses.append(code if kind == "dx" else raw)  # unknown shapes go to validity as diagnoses
    else:
        lines.append(ProcedureLine(code=code.upper(), units=units, modifiers=[m.upper() for m in modifiers if m]))


def _options(options: dict[str, str]) -> dict:
    parsed: dict = {}
    if "age" in options:
        if not options["age"].isdigit() or int(options["age"]) > 130:
            raise BadInput("age: takes whole years, e.g. age:67")
        parsed["age"] = int(options["age"])
    if "sex" in options:
        sex = options["sex"][:1].upper()
        if sex not in ("F", "M"):
            raise BadInput("sex: takes F or M, e.g. sex:F")
        parsed["sex"] = sex
    if "dos" in options:
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", options["dos"]):
            raise BadInput("dos: takes a date as YYYY-MM-DD, e.g. dos:2026-03-01")
        parsed["date_of_service"] = options["dos"]
    if "pos" in options:
        parsed["place_of_service"] = options["pos"][:2]
    return parsed
