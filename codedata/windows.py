"""Release validity windows: which imported release answers for a date of service (DOS).

A claim is coded with the code set in effect on its date of service. Each system has a schedule of updates:
ICD-10-CM changes every October 1 (new fiscal year) and April 1; HCPCS Level II and NCCI edits every calendar
quarter; CPT every January 1. A release covers the dates of service from its effective date until the day
before the next scheduled update, or until the day before a later imported release takes effect, whichever is
first. The CPT starter set has no official date: it is undated and answers for every DOS.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlite_utils

from .errors import BadInput

# The earliest DOS medcode answers for: ICD-10-CM replaced ICD-9-CM on 2015-10-01.
EARLIEST_DOS = date(2015, 10, 1)
NAMES = {"icd10cm": "ICD-10-CM", "hcpcs": "HCPCS Level II", "cpt": "CPT", "ncci_aoc": "NCCI add-on code edits",
         "ncci_ptp_practitioner": "NCCI PTP practitioner edits", "ncci_mue_practitioner": "NCCI MUE practitioner edits",
         "ncci_ptp_outpatient": "NCCI PTP outpatient edits", "ncci_mue_outpatient": "NCCI MUE outpatient edits",
         "ncci_mue_dme": "NCCI MUE DME edits", "mcd": "Medicare coverage articles"}


def schedule(system: str) -> tuple[int, ...]:
    """The months in which a system's scheduled updates take effect (on the 1st)."""
    if system == "icd10cm":
        return (4, 10)
    if system == "cpt":
        return (1,)
    if system == "mcd":
        return ()  # coverage articles are revised whenever their contractor revises them
    return (1, 4, 7, 10)


def next_update(system: str, day: date) -> date | None:
    """The first scheduled update strictly after `day`, or None for systems without a schedule."""
    months = schedule(system)
    if not months:
        return None
    for year in (day.year, day.year + 1):
        for month in months:
            candidate = date(year, month, 1)
            if candidate > day:
                return candidate
    return None


def update_on_or_before(system: str, day: date) -> date | None:
    """The last scheduled update on or before `day` (the start of the scheduled window holding it)."""
    months = schedule(system)
    if not months:
        return None
    for year in (day.year, day.year - 1):
        for month in reversed(months):
            candidate = date(year, month, 1)
            if candidate <= day:
                return candidate
    return None


def release_name(system: str, start: date) -> str:
    """How billers name the release that takes effect on `start` (FY2027 ICD-10-CM, HCPCS 2026 Q4)."""
    name = NAMES.get(system, system)
    if system == "icd10cm":
        fiscal = start.year + 1 if start.month >= 10 else start.year
        return f"{name} FY{fiscal}" + ("" if start.month == 10 else f" {start:%B} {start.year} update")
    if system == "cpt":
        return f"{name} {start.year}"
    return f"{name} {start.year} Q{(start.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class Window:
    """The dates of service a release covers; `end` None means open-ended (undated, or no schedule)."""

    release: dict
    start: date | None
    end: date | None
    ended_by: dict | None = None  # the later release that cut the scheduled window short

    def covers(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def text(self) -> str:
        if self.start is None:
            return "undated (no official effective date): used for every date of service"
        if self.end is not None and self.end < self.start and self.ended_by:  # two files with the same date
            return f"none: release {self.ended_by['label']} took its place (same effective date {self.start})"
        end = f"{self.end.isoformat()}" if self.end else "open"
        return f"{self.start.isoformat()} to {end}"


def windows(db: sqlite_utils.Database, system: str) -> list[Window]:
    """Every imported release of `system` with its window, oldest first (undated releases first)."""
    rows = list(db.query("SELECT * FROM releases WHERE system = ? ORDER BY effective_date, id", [system]))
    dated = [r for r in rows if r["effective_date"]]
    result = [Window(release=r, start=None, end=None) for r in rows if not r["effective_date"]]
    for index, row in enumerate(dated):
        start = date.fromisoformat(row["effective_date"])
        scheduled = next_update(system, start)
        end = scheduled - timedelta(days=1) if scheduled else None
        ended_by = None
        # A later release ends this one early; two files with the same date: the later import wins.
        later = next((r for r in dated[index + 1:] if r["effective_date"] >= row["effective_date"]), None)
        if later is not None:
            cut = date.fromisoformat(later["effective_date"]) - timedelta(days=1)
            if end is None or cut < end:
                end, ended_by = cut, later
        result.append(Window(release=row, start=start, end=end, ended_by=ended_by))
    return result


@dataclass(frozen=True)
class Resolution:
    """The release that answers for a DOS, and when no loaded release covers it, a plain sentence saying so."""

    release: dict | None
    window: Window | None
    covered: bool
    notice: str | None = None


def resolve(db: sqlite_utils.Database, system: str, dos: date) -> Resolution:
    """Pick the release whose window holds `dos`; else the nearest one, with a notice naming what is missing."""
    found = windows(db, system)
    if not found:
        return Resolution(release=None, window=None, covered=False)
    # Prefer a dated release whose window holds the DOS; an undated one (starter set) covers anything.
    dated = [w for w in found if w.start is not None]
    holding = [w for w in dated if w.covers(dos)]
    if holding:
        window = holding[-1]
        return Resolution(release=window.release, window=window, covered=True)
    undated = [w for w in found if w.start is None]
    if undated and not dated:
        window = undated[-1]
        return Resolution(release=window.release, window=window, covered=True,
                          notice=f"{NAMES.get(system, system)} answers come from {window.release['title']}, "
                                 "which is undated: medcode cannot tell which codes were in effect on the date "
                                 "of service.")
    # ICD-10-CM's big update is October 1: a DOS is closest in content to a release of its own fiscal year.
    same_year = [w for w in dated if system == "icd10cm" and _fiscal_year(w.start) == _fiscal_year(dos)]
    nearest = min(same_year or dated, key=lambda w: _distance(w, dos))
    return Resolution(release=nearest.release, window=nearest, covered=False,
                      notice=_missing_notice(system, dos, nearest))


def _fiscal_year(day: date) -> int:
    return day.year + 1 if day.month >= 10 else day.year


def _distance(window: Window, dos: date) -> tuple[int, int]:
    if window.start > dos:
        return (window.start - dos).days, 0
    return (dos - window.end).days, 1


def _missing_notice(system: str, dos: date, nearest: Window) -> str:
    start = update_on_or_before(system, dos)
    name = NAMES.get(system, system)
    used = f"{nearest.release['label']} (covers {nearest.text()})"
    if start is None:
        return f"No loaded {name} release covers {dos.isoformat()}; answered from {used}."
    following = next_update(system, start)
    missing = f"{release_name(system, start)} (in effect {start.isoformat()} to " \
              f"{(following - timedelta(days=1)).isoformat()})"
    age = ""
    if nearest.end is not None and nearest.end < dos and system != "icd10cm":
        periods = _periods_between(system, nearest.start, start)
        unit = "year" if system == "cpt" else "quarter"
        age = f"; {nearest.release['label']} is {periods} {unit}{'s' if periods != 1 else ''} old"
    return (f"{missing} is not loaded, so no {name} release covers the date of service {dos.isoformat()}: "
            f"answered from release {used}{age}.")


def _periods_between(system: str, first: date, last: date) -> int:
    count, day = 0, first
    while day < last:
        day = next_update(system, day)
        count += 1
    return count


def parse_dos(text: str | None, today: date | None = None) -> date:
    """A date of service from what was typed: YYYY-MM-DD between 2015-10-01 and a year from today."""
    today = today or date.today()
    if text is None:
        return today
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"the date of service must be a date as YYYY-MM-DD, e.g. {today.isoformat()}") from None
    # a year from today, to the calendar day (29 February a year on is 28 February)
    latest = today.replace(year=today.year + 1, day=min(today.day, 28 if today.month == 2 else 31))
    if not EARLIEST_DOS <= day <= latest:
        raise BadInput(f"the date of service must fall between {EARLIEST_DOS.isoformat()} (ICD-10-CM began) "
                       f"and {latest.isoformat()}")
    return day
