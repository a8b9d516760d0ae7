"""Text from Slack -> requests for codedata: normalisation at the edge, /pair parameters, patient-identifier
detection, /pair arguments, and codes pulled out of free text."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from codedata.codes import looks_like_icd, normalise_icd
from codedata.errors import BadInput
from codedata.windows import parse_dos
from codedata.models import ClaimRequest, ProcedureLine

# Slack markup that is not the user's words: user and channel mentions, special mentions, links (<url|label>).
SLACK_MARKUP = re.compile(r"<([@#!][^>|]*)(?:\|([^>]*))?>|<((?:https?|mailto|tel):[^>|]*)(?:\|([^>]*))?>")


def normalise(text: str | None) -> str:
    """Text as Slack sent it -> plain text medcode can read (once, at the edge: handlers.normalise_input).

    Slack's own markup goes first (mentions dropped, a link becomes its address: `/icd import <https://…>`;
    mailto:/tel: addresses are then blanked as identifiers), then the three entities Slack
    escapes in what people type (&lt; &gt; &amp;: "pain &lt;3 months" is "pain <3 months", not "lt" = left),
    then clean_text.
    """
    text = SLACK_MARKUP.sub(lambda m: f" {m.group(3)} " if m.group(3) else " ", text or "")
    text = QUOTE_MARKER.sub(" ", text)  # a quoted line ("&gt; E11.9 99213") is its text, not a pointer
    return clean_text(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


QUOTE_MARKER = re.compile(r"(?m)^[ \t]*(?:&gt;|>)+[ \t]?")  # Slack's block quote at the start of a line


def clean_text(text: str | None) -> str:
    """Unicode NFKC (full-width `Ｅ１１．９` -> `E11.9`, ligatures, non-breaking spaces), with control and format
    characters removed (zero-width spaces and joiners, bidi overrides, BOM, soft hyphens) and line breaks and
    tabs made spaces. They are removed before NFKC too, so a zero-width character between a letter and its
    accent cannot leave the pair uncomposed: the result is the same when cleaned again."""
    cleaned = _drop_controls(unicodedata.normalize("NFKC", _drop_controls(text or "")))
    # Digits of other scripts are digits (E1١.9 is E11.9), and the letter O where an ICD-10-CM code has a digit
    # (its 2nd and 3rd characters, before a dot: ZOO.00 is Z00.00; "zoo" alone stays a word)
    cleaned = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch for ch in cleaned)
    return LETTER_O_CODE.sub(lambda m: m[1] + m[2].replace("O", "0").replace("o", "0") + m[3], cleaned)


LETTER_O_CODE = re.compile(r"\b([A-Za-z])((?=[0-9Oo]*[Oo])[0-9Oo]{2})(\.(?=[0-9A-Za-z]*\d)[0-9A-Za-z]{1,4})\b")


def _drop_controls(text: str) -> str:
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\n\r\t\v\f" or category in ("Zl", "Zp"):
            out.append(" ")
        elif category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    return "".join(out)


# /pair parameters, read before anything is blanked as a possible identifier: `dos:2026-03-01` is a date of
# service the check needs, not a date of birth. "dos: 2026-03-01" (a space after the colon) is accepted too.
PARAMETER = re.compile(r"(?<![\w:=])(age|sex|dos|pos|payer)\s*[:=]\s*([^\s,;]*)", re.I)  # dos:... or dos=...


def split_parameters(text: str) -> tuple[dict[str, str], str]:
    """Return ({age|sex|dos|pos: value}, the text without them)."""
    found: dict[str, str] = {}

    twice: list[str] = []

    def take(match: re.Match) -> str:
        key = match.group(1).lower()
        if key in found and found[key] != match.group(2):
            twice.append(key)
        found[key] = match.group(2)
        return " "

    rest = PARAMETER.sub(take, text or "")
    if twice:  # "age:67 age:12": which one was meant is not guessed
        raise BadInput(f"{twice[0]}: is given twice with different values; give it once")
    return found, rest


US_STATES = ("AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC "
             "ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR").split()
LOWER_STATES = "il ny tx fl az wi mn ks ky tn nj nm nv wv wy nd sd vt ak".split()
HONORIFIC = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|MR|MRS|MS|DR)\.?"
NAME_WORD = r"[A-Z](?:[a-z]+|['’][A-Z][a-z]+)(?:-[A-Z][a-z]+)?"
# Things in a message that look like codes but are not, and that may identify a patient: record numbers and
# dates after their labels, dates, phone and social-security numbers, emails, money, a name after "patient",
# "name" or an honorific, ages, and long numbers (codes have at most 5 digits). Labels go first so
# "DOB 03/04/1955" takes its date along.
MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|" \
        r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
# A date written in a message (not as dos:): a /pair reply says it was not taken as the date of service.
DATE_IN_TEXT = re.compile(rf"\b\d{{4}}-\d{{1,2}}-\d{{1,2}}\b|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b|\b{MONTH}\.?\s+\d{{1,2}}\b",
                          re.I)
NOT_CODES = [
    re.compile(r"(?:\+?1[-.\s]?)?\(?\b\d{3}\)?[-.\s]*\d{3}[-.\s]\d{4}\b"),    # 555-123-4567, (555) 123 4567
    re.compile(r"\b(?:mrn|mr#|acct|account|member|id|ssn|claim|dob|d\.o\.b\.?|birth(?:date|day)?|born|"
               r"phone|tel|mobile|policy|subscriber|chart)\s*"
               r"(?:#|no\.?|number)?\s*[:#]?\s*(?=[\w/.()-]*\d)[\w/.()-]+", re.I),
    re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b"),                   # 01/02/1960, 1-2-60, 3.4.55
    re.compile(r"\b\d{4}[/-]\d{1,2}[/-]\d{1,2}\b"),                       # 1955-03-04
    re.compile(rf"\b{MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{2,4}}\b", re.I),  # March 4, 1962
    re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{MONTH}\.?,?\s+\d{{2,4}}\b", re.I),  # 4 March 1962
    re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),                                  # SSN shape
    re.compile(r"(?<![\w.+-])[\w.+-]++@[\w-]+\.[\w.]+"),                    # email (linear: starts at a word)
    re.compile(r"[$€£]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d{2})\s?(?:usd|dollars)\b", re.I),
    re.compile(r"\b(?:[Pp]atient|PATIENT|[Pp]t\.?|[Nn]ame|NAME|[Pp]t name)\s*[:#-]?\s*"
               rf"(?:{NAME_WORD},?(?:\s+|$)|[A-Z]\.\s*){{1,3}}"),
    re.compile(rf"\b{HONORIFIC}\s+(?:{NAME_WORD},?\s*|[A-Z]\.\s*){{1,3}}"),
    re.compile(r"\b\d{1,3}\s*(?:-|\s)?(?:yo|y/o|y\.o\.|yrs?\s*old|years?[\s-]old|year-old|yr-old)\b", re.I),
    re.compile(r"\b\d{1,3}\s*(?:yo|y/o)?\s*[MF]\b(?=[\s,;.]|$)"),            # 67M, 45 yo F
    re.compile(r"\b\d{6,}\b"),
    # an address: "42 Elm St", a ZIP code after a state ("Springfield IL 62704") or after "zip"
    re.compile(r"\b\d{1,6}\s+(?:[A-Z][a-z]+\s+){1,3}(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Dr|Drive|Ln|Lane|Way|Ct|"
               r"Court|Pl|Place|Hwy|Pkwy|Ter|Cir)\b\.?"),
    # (a city first: "breast CA 19301" is cancer and a procedure code)
    re.compile(rf"\b(?:[A-Z][a-z]+,?\s+(?:{'|'.join(US_STATES)})|[Zz][Ii][Pp](?:\s*code)?\s*[:#]?)\s+\d{{5}}(?:-\d{{4}})?\b"),
    # typed in lower case: "12 maple ave", "springfield il 62704" (only street words and state abbreviations that
    # are no clinical shorthand: not "dr", "ct", "mi", "ga", "dc", "ia", "pr", "in", "or", "me", ...)
    re.compile(r"\b\d{1,6}\s+(?:[a-z]+\.?\s+){1,3}(?:st|street|ave|avenue|rd|blvd|ln|hwy|pkwy)\b"
               r"\.?"),
    re.compile(rf"\b[a-z]+,?\s+(?:{'|'.join(LOWER_STATES)}),?\s+\d{{5}}(?:-\d{{4}})?\b"),
]
# Two or more capitalised words in a row ("John Smith", "Smith, John"): a name when one of them is not a word
# of the code sets (the caller says which words those are).
CAPITALISED_RUN = re.compile(rf"\b{NAME_WORD}(?:,?\s+{NAME_WORD}){{1,3}}\b")
NAME_ALONE = re.compile(rf"\b{NAME_WORD}\b")


@dataclass
class Cleaned:
    """Text with possible patient identifiers blanked, and whether any were found."""

    text: str
    identifiers: bool


def strip_identifiers(text: str, is_known_word=None) -> str:
    """Blank out dates, phone numbers, amounts, record numbers and names so they are never read as codes."""
    return find_identifiers(text, is_known_word).text


def find_identifiers(text: str, is_known_word=None) -> Cleaned:
    """Blank out what may identify a patient; `is_known_word(word)` (lower case) tells words of the code sets,
    so a run of capitalised words with one unknown word is taken for a name."""
    found = False
    for pattern in NOT_CODES:
        # A blanked span leaves a marker (a private-use character, which clean_text removes from the input), so a
        # label whose value went first ("cell 555.201.9090 J1745") cannot take the next word along.
        text, count = pattern.subn(" \ue000 ", text)
        found = found or bool(count)
    if is_known_word is not None:
        def name(match: re.Match) -> str:
            nonlocal found
            parts = re.findall(r"[A-Za-z]+", match.group(0))
            if all(is_known_word(p.lower()) for p in parts):
                return match.group(0)
            found = True
            return " "
        text = CAPITALISED_RUN.sub(name, text)
        # One capitalised word that is no word of the code sets ("Gonzalez diabetes", "knee pain for Bob") is
        # taken for a name too: it could not have been searched for, and it is not repeated.
        text = NAME_ALONE.sub(name, text)
    return Cleaned(text.replace("\ue000", " "), found)


PROCEDURE = re.compile(r"^(\d{5}|\d{4}[FTUftu]|[A-Va-v]\d{4})$")
UNITS = re.compile(r"^(.+?)[x*](\d{1,4})$", re.I)
BAD_UNITS = re.compile(r"^([A-Za-z0-9.-]+?)[x*](.+)$", re.I)  # a code, then x, then not a unit count


@dataclass
class ExtractedCodes:
    diagnoses: list[str] = field(default_factory=list)
    procedures: list[str] = field(default_factory=list)


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
    """Pull diagnosis and procedure codes out of a chat message (order kept, duplicates dropped); the caller
    blanks identifiers first (find_identifiers)."""
    found = ExtractedCodes()
    for token in re.split(r"[\s,;/]+", text or ""):
        token = token.strip(".,;:()[]{}!?\"'`*_")  # (E11.9), `E11.9`, *E11.9*: chat punctuation around a code
        if PROCEDURE.match(token.split("-")[0]):
            token = token.split("-")[0]  # 97140-59: the modifier is not a code
        kind = classify_token(token, is_hcpcs)
        target = found.diagnoses if kind == "dx" else found.procedures if kind == "px" else None
        if target is not None and token.upper() not in target:
            target.append(token.upper())
    return found


def codes_asked(text: str, is_hcpcs, kind: str) -> list[tuple[str, str]]:
    """(code, "icd"|"cpt") pairs an /icd or /cpt text asks about, in order, when it names codes among other words
    or punctuation ("jane doe E11.9", "E11.9,I10", "(E11.9)"); [] for a search or one bare code."""
    found = extract_codes(text, is_hcpcs)
    codes = (found.procedures + found.diagnoses) if kind == "cpt" else (found.diagnoses + found.procedures)
    if not codes or (len(codes) == 1 and text.strip().upper() == codes[0]):
        return []
    return [(code, "icd" if code in found.diagnoses else "cpt") for code in codes]


# A slash or dash typed between two codes (E11.9/99213, E11.9—99213, 99213/J1745); never inside a date (6/1/2025)
# or shorthand (w/o, s/p): both sides must be code-shaped
CODE_JOINER = re.compile(r"\b([A-Za-z]\d[0-9A-Za-z](?:\.[0-9A-Za-z]{1,4})?|\d{4}[0-9A-Za-z]|[A-Va-v]\d{4})"
                         r"\s*[/\u2014\u2013]\s*(?=(?:[A-Za-z]\d[0-9A-Za-z]|\d{4}[0-9A-Za-z]|[A-Va-v]\d{4})\b)")


def parse_pair(text: str, is_hcpcs=None, left_out: list[str] | None = None,
               parameters: dict[str, str] | None = None) -> ClaimRequest:
    """Parse /pair arguments: codes by shape, dx:/px: prefixes, age:/sex:/dos:/pos:, 97110x4 units, 97140-59
    modifiers. Words that are not shaped like codes are not guessed at: they go to `left_out` (never echoed).
    `parameters` are ones the caller read before blanking identifiers (split_parameters)."""
    diagnoses: list[str] = []
    lines: list[ProcedureLine] = []
    options, text = split_parameters(text)
    options = {**options, **(parameters or {})}
    skipped = left_out if left_out is not None else []
    described: dict[str, list[str]] = {}  # words typed after a diagnosis, checked against it (never echoed)
    after: str | None = None
    text = CODE_JOINER.sub(r"\1 ", text or "")  # "E11.9/99213", "E11.9—99213": two codes, not one word
    for raw in re.split(r"[\s,;]+", text.strip()):
        raw = raw.strip(".()[]{}!?\"'")
        if not raw:
            continue
        key, sep, value = raw.partition(":")
        key = key.lower()
        count = len(diagnoses)
        if sep and key in ("dx", "px"):
            added = _add(value, key, diagnoses, lines)
        else:
            added = _add(raw, None, diagnoses, lines, is_hcpcs)
        if added:
            after = diagnoses[-1] if len(diagnoses) > count else None
            continue
        if ICD_ATTEMPT.fullmatch(raw):  # E11.99999: meant as a diagnosis, not to be dropped without a word
            raise BadInput("an entry with a dot after a letter and two digits is not an ICD-10-CM code: codes have "
                           "3 to 7 characters, e.g. E11.9 or S72.001A")
        skipped.append(raw)
        if after and raw.isalpha():
            described.setdefault(after, []).append(raw)
    return ClaimRequest(diagnoses=diagnoses, procedures=lines, described=_described(described), **_options(options))


def _described(words: dict[str, list[str]]) -> dict[str, str]:
    found = {}
    for code, typed in words.items():
        try:
            found[normalise_icd(code)] = " ".join(typed)
        except BadInput:
            continue
    return found


CODEISH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.]{1,7}$")
# Slack's user, channel, team and enterprise ids: capital letters and digits (U024BE7LH, C1H9RESGL). A forged one
# ("U1> <!channel", "C1/../x") would be written into a message or an API call as given.
SLACK_ID = re.compile(r"[A-Z0-9_]{1,40}")
ICD_ATTEMPT = re.compile(r"[A-Za-z]\d[0-9A-Za-z]\.[0-9A-Za-z]{5,}")  # a dotted code with too many characters


def _add(raw: str, forced: str | None, diagnoses: list[str], lines: list[ProcedureLine], is_hcpcs=None) -> bool:
    """Add one token as a diagnosis or procedure line; False when it is not shaped like a code. A procedure may
    end with its diagnosis pointers, CMS-1500 box 24E: `97140-59x2>2`, `99213>1+2`, `20610>AB`."""
    raw, arrow, pointed = raw.partition(">")
    pointers = _pointers(pointed) if arrow else []
    if arrow and not pointers:
        raise BadInput("diagnosis pointers follow > as numbers or letters, e.g. 97140>2 or 99213>1+2")
    units = 1
    match = UNITS.match(raw)
    if match and match.group(1) and (forced or classify_token(match.group(1).split("-")[0], is_hcpcs)):
        raw, units = match.group(1), int(match.group(2))
    elif (bad := BAD_UNITS.match(raw)) and (forced == "px" or classify_token(bad.group(1).split("-")[0], is_hcpcs) == "px"):
        raise BadInput("units follow x as a whole number from 1 to 9999, e.g. 97110x4")
    code, *modifiers = raw.split("-") if not raw.startswith("-") else (raw, )
    if forced:  # dx:/px: take any code-like token (a wrong one is reported by the check), never a word
        if not CODEISH.match(code) or not any(ch.isdigit() for ch in code):
            return False
        kind = forced
    else:
        kind = classify_token(code, is_hcpcs)
        if kind is None:
            return False
    if kind == "dx":
        diagnoses.append(code)
    else:
        lines.append(ProcedureLine(code=code.upper(), units=units, modifiers=[m.upper() for m in modifiers if m],
                                   pointers=pointers))
    return True


PAYERS = {"medicare": "medicare", "mcr": "medicare", "medicaid": "medicaid", "mcd": "medicaid",
          "commercial": "commercial", "private": "commercial"}


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
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", options["dos"]) or not _is_date(options["dos"]):
            raise BadInput("dos: takes a date as YYYY-MM-DD, e.g. dos:2026-03-01")
        parsed["date_of_service"] = parse_dos(options["dos"]).isoformat()  # 2015-10-01 .. a year from today
    if "payer" in options:
        payer = PAYERS.get(options["payer"].lower())
        if payer is None:
            raise BadInput("payer: takes medicare, medicaid or commercial, e.g. payer:medicare")
        parsed["payer"] = payer
    if "pos" in options:
        if not re.fullmatch(r"\d{2}", options["pos"]) or options["pos"] == "00":
            raise BadInput("pos: takes a two-digit CMS place-of-service code, e.g. pos:11 (office)")
        parsed["place_of_service"] = options["pos"]
    return parsed


def _pointers(text: str) -> list[int]:
    """`2`, `1+2`, `12` (one digit each, as box 24E writes them), `AB` (letters A-L of the 02/12 form)."""
    text = text.strip().upper()
    if re.fullmatch(r"[1-9](?:[+/.][1-9]|[1-9]){0,11}", text):
        return [int(ch) for ch in text if ch.isdigit()]
    if re.fullmatch(r"[A-L]{1,12}", text):
        return [ord(ch) - ord("A") + 1 for ch in text]
    return []


def _is_date(text: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
