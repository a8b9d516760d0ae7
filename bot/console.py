"""Console run mode: the slash-command lines of Slack, answered as text in a terminal."""
from __future__ import annotations

from datetime import date
from typing import Callable, TextIO

import sqlite_utils

from codedata import search
from codedata.checks import check_claim
from handlers.answers import (HCPCS_NOT_ICD, MAX_CODES_ANSWERED, REMINDER, UNREAD_DATE, hcpcs_asked_as_icd, hcpcs_in,
                              known_words, lookup_dos, with_unread_entries)
from handlers.parsing import DATE_IN_TEXT, clean_text, codes_asked, find_identifiers, parse_pair, split_parameters
from codedata.errors import MedcodeError

from . import render

HELP = """medcode console — type a slash command as you would in Slack:
  /icd E11.9        look up an ICD-10-CM code (e119, S72.001A, M54.5 work too); dos:2025-06-01 for another date
  /icd rt knee pain search ICD-10-CM by words (abbreviations and typos welcome)
  /cpt 99213        look up a CPT or HCPCS code (J1745) or a modifier (25, -59, RT)
  /cpt flu shot     search CPT and HCPCS by words
  /pair E11.9 I10 99213 83036 age:67 sex:F   check codes for likely denials
                    (dx:/px: force a kind, 97110x4 units, 97140-59 modifiers, 97140>2 diagnosis
                    pointers, dos:2026-03-01, payer:medicare|medicaid|commercial)
  help              this text
  quit              leave (or Ctrl-D)"""


def _lookup(db: sqlite_utils.Database, text: str, kind: str) -> str:
    parameters, rest = split_parameters(text)  # dos:YYYY-MM-DD, as in Slack
    # Patient details are blanked as in Slack ("Gonzalez diabetes" searches "diabetes"), with the reminder.
    cleaned = find_identifiers(rest, known_words(lambda: db))
    dos, typed = lookup_dos(parameters), cleaned.text.strip()
    codes = codes_asked(typed, hcpcs_in(db), kind)
    if codes:  # codes among words or punctuation ("jane doe E11.9", "E11.9,I10"): one answer each, as in Slack
        answer = "\n\n".join(render.answer(search.resolve(db, code, code_kind, dos=dos), code_kind)
                               for code, code_kind in codes[:MAX_CODES_ANSWERED])
    else:
        result = search.resolve(db, typed, kind, dos=dos)
        hcpcs = hcpcs_asked_as_icd(db, typed.upper(), result, dos) if kind == "icd" else None
        answer = (HCPCS_NOT_ICD.format(typed.upper()) + "\n" + render.answer(hcpcs, "cpt") if hcpcs is not None
                  else render.answer(result, kind))
    if "dos" not in parameters and DATE_IN_TEXT.search(rest):  # as in Slack: the day answered is said
        answer += "\n" + UNREAD_DATE.format("Answered", date.today().isoformat(), "look up").replace("`", "")
    return f"{REMINDER.removeprefix(':lock: ')}\n{answer}" if cleaned.identifiers else answer


def _pair(db: sqlite_utils.Database, text: str) -> str:
    parameters, rest = split_parameters(text)  # read before blanking: dos:2026-03-01 is no birth date
    cleaned = find_identifiers(rest, known_words(lambda: db))
    left_out: list[str] = []
    request = parse_pair(cleaned.text, hcpcs_in(db), left_out, parameters=parameters)
    answer = render.check_report(with_unread_entries(check_claim(db, request), left_out))
    return f"{REMINDER.removeprefix(':lock: ')}\n{answer}" if cleaned.identifiers else answer


def _commands(db: sqlite_utils.Database) -> dict[str, Callable[[str], str]]:
    return {
        "icd": lambda text: _lookup(db, text, "icd"),
        "cpt": lambda text: _lookup(db, text, "cpt"),
        "pair": lambda text: _pair(db, text),
    }


CHANNEL_WORDS = {"watch", "unwatch", "watches", "changes", "import", "announce"}
CHANNEL_ONLY = ("watch, unwatch, watches, changes, import and announce work in a Slack channel. Here use the "
                "command line: medcode watch add|remove|list, medcode diff, medcode import.")


def answer_line(db: sqlite_utils.Database, line: str) -> str:
    """Return the text answer to one console line such as `/icd E11.9`."""
    words = clean_text(line).strip().split(maxsplit=1)  # full-width, zero-width, bidi: as in Slack
    if not words or words[0].lower().lstrip("/") in ("help", "?"):
        return HELP
    name, text = words[0].lower().lstrip("/"), (words[1] if len(words) > 1 else "")
    command = _commands(db).get(name)
    if command is None:
        return f"Unknown command {name[:20]!r}. " + HELP
    if not text.strip() or text.strip().lower() == "help":
        return HELP
    if name in ("icd", "cpt") and text.split()[0].lower() in CHANNEL_WORDS:
        # "/icd watch E11" looked E11 up and "/cpt changes" searched the word: these belong to a Slack channel
        return CHANNEL_ONLY
    try:
        return command(text)
    except MedcodeError as exc:
        return f"{exc}"


def run_console(db: sqlite_utils.Database, stdin: TextIO, stdout: TextIO, interactive: bool) -> None:
    """Read lines until EOF or `quit`, printing each answer."""
    if interactive:
        stdout.write(HELP + "\n")
    while True:
        if interactive:
            stdout.write("medcode> ")
            stdout.flush()
        line = stdin.readline()
        if not line or line.strip().lower() in ("quit", "exit"):
            break
        if line.strip():
            stdout.write(answer_line(db, line) + "\n\n")
            stdout.flush()
