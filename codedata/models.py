"""Pydantic models handed across the codedata boundary (CLI --json and Slack both render these)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ImportResult(BaseModel):
    status: Literal["imported", "already_imported"]
    system: str
    release_id: int
    label: str
    title: str | None = None
    effective_date: str | None = None
    source_name: str | None = None
    sha256: str
    code_count: int
    billable_count: int
    current: bool
    seconds: float


class ReleaseInfo(BaseModel):
    system: str
    label: str
    title: str
    effective_date: str | None = None


class CodeRef(BaseModel):
    code: str
    description: str
    billable: bool = False


class Note(BaseModel):
    kind: str
    text: str
    at: str  # the code (or block/chapter) whose tabular entry carries the note


class SeventhCharacter(BaseModel):
    character: str
    meaning: str


class CodeAnswer(BaseModel):
    """What a lookup of one code returns."""

    query: str
    system: str
    code: str
    status: Literal["valid", "no_longer_valid", "not_yet_valid", "unknown", "no_descriptor"]
    description: str | None = None
    billable: bool = False
    kind: str | None = None
    breadcrumb: list[CodeRef] = []
    children: list[CodeRef] = []
    children_count: int = 0
    notes: list[Note] = []
    needs_seventh_character: bool = False
    seventh_characters: list[SeventhCharacter] = []
    seventh_character: SeventhCharacter | None = None
    history: list[str] = []
    last_release: str | None = None
    removed_in: str | None = None
    first_release: str | None = None  # not_yet_valid: the first imported release that has the code
    took_effect: str | None = None  # not_yet_valid: the date (or span of dates) it came into the code set
    successors: list[CodeRef] = []
    nearest: list[CodeRef] = []
    release: ReleaseInfo | None = None
    date_of_service: str | None = None
    notice: str | None = None  # no loaded release covers the date of service: which one is missing
    source: str | None = None
    category: str | None = None
    section: str | None = None
    extra: dict = {}


class SearchHit(BaseModel):
    code: str
    system: str
    description: str
    billable: bool
    score: float
    section: str | None = None


class SearchResult(BaseModel):
    """One page of search results; `hints` are header codes to narrow down from."""

    query: str
    systems: list[str]
    total: int
    offset: int = 0
    results: list[SearchHit] = []
    hints: list[SearchHit] = []
    interpreted: list[str] = []
    date_of_service: str | None = None  # given: only codes in force that day are listed
    notice: str | None = None  # how the date of service was answered, when not from the current release


class ProcedureLine(BaseModel):
    code: str
    units: int = 1
    modifiers: list[str] = []
    # CMS-1500 box 24E: which diagnoses (1-based, in claim order) this line is for; empty = every diagnosis.
    pointers: list[int] = []


class ClaimRequest(BaseModel):
    """A claim-like pairing question: diagnoses in order (first = primary) and procedures."""

    diagnoses: list[str]
    procedures: list[ProcedureLine] = []
    age: int | None = None
    sex: Literal["F", "M"] | None = None
    date_of_service: str | None = None  # YYYY-MM-DD; today when not given
    place_of_service: str | None = None
    payer: Literal["medicare", "medicaid", "commercial"] | None = None  # None: unknown, rules say whose they are
    # Words typed beside a diagnosis code ("I63.31 thrombosis of right carotid artery"), by undotted code: used
    # to check the code against them, never stored or echoed.
    described: dict[str, str] = {}


class Finding(BaseModel):
    severity: Literal["error", "warning", "info"]
    rule: str
    codes: list[str]
    message: str
    basis: str
    suggestions: list[CodeRef] = []


class CheckReport(BaseModel):
    verdict: Literal["ok", "review", "likely_denial"]
    findings: list[Finding]
    diagnoses: list[str]
    procedures: list[ProcedureLine]
    date_of_service: str
    releases: list[ReleaseInfo] = []
