"""Code lists written as data (category ranges, prefixes, procedure ranges) and the TOML that holds them."""
from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from ..errors import BadReleaseFile


def in_codeset(code: str, entries: list[str]) -> bool:
    """True when a code (dotted or not) falls under any entry: "O00-O9A", "Z00.12", "99381-99387"."""
    plain = code.replace(".", "").upper()
    for entry in entries:
        entry = entry.replace(".", "").upper()
        if "-" in entry:
            first, last = entry.split("-", 1)
            width = len(first)
            if first <= plain[:width] <= last and len(plain) >= width:
                return True
        elif plain.startswith(entry):
            return True
    return False


@lru_cache(maxsize=8)
@lru_cache(maxsize=None)
def bundled_toml(name: str) -> dict:
    """Return a bundled TOML data file of codedata/data, read once (callers only read it)."""
    return tomllib.loads((files("codedata") / "data" / name).read_text(encoding="utf-8"))


def read_toml(path: Path) -> dict:
    """Return a local TOML pack, or raise BadReleaseFile with a one-line reason."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadReleaseFile(f"{path.name} is not a readable TOML policy pack ({exc})") from exc
