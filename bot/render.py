"""Plain-text rendering of codedata answers for the terminal (CLI and console)."""
from __future__ import annotations

from codedata.models import CheckReport, CodeAnswer, ImportResult, SearchResult

NOTE_TITLES = {
    "inclusion_term": "Inclusion terms",
    "includes": "Includes",
    "excludes1": "Excludes1 (never code together)",
    "excludes2": "Excludes2 (not included here; may code both)",
    "code_first": "Code first",
    "use_additional_code": "Use additional code",
    "code_also": "Code also",
    "note": "Notes",
    "seventh_character_note": "7th character",
}


def answer(result: CodeAnswer | SearchResult, kind: str) -> str:
    """Return the text for whatever /icd or /cpt answered: a code or a page of search results."""
    return search_result(result) if isinstance(result, SearchResult) else code_answer(result)


def search_result(result: SearchResult) -> str:
    """Return a page of search results, best first, with header hints and how to see more."""
    if not result.results and result.total:
        return f"No more results: this search found {result.total} code{'s' if result.total != 1 else ''} in all."
    if not result.results:
        # What was typed is not repeated: people paste patient details (the console reads Slack lines too).
        return "No codes found for your search. Try fewer or different words, or a code."
    lines = [f"{h.code:<9} {h.description}" for h in result.results]
    if result.notice:
        lines.insert(0, f"Note: {result.notice}")
    end = result.offset + len(result.results)
    if result.hints:
        lines.append("Narrow it down (headers): " + ", ".join(f"{h.code} {h.description}" for h in result.hints))
    if end < result.total:
        # The query is not repeated (it may hold patient details): the same search with the offset
        lines.append(f"… {result.total - end} more: the same search with --offset {end}")
    return "\n".join(lines)


def code_answer(answer: CodeAnswer) -> str:
    """Return the lines a person reads for one code lookup."""
    if answer.status == "no_descriptor":
        return "\n".join([f"{answer.code}: {answer.history[0]}"] + ([f"({_vintage(answer)})"] if answer.release else []))
    if answer.status == "unknown":
        lines = [f"{answer.code}: not a known {_system_name(answer)} code" +
                 (f" in {_vintage(answer)}." if answer.release else ".")]
        lines += [f"  {h}" for h in answer.history]
        if answer.nearest:
            lines.append("Nearest existing codes:")
            lines += [_ref_line(r) for r in answer.nearest]
        return "\n".join(lines)
    if answer.status == "not_yet_valid":
        lines = [f"{answer.code}: not yet a code on {answer.date_of_service} — {answer.description}",
                 f"  It took effect {answer.took_effect} (first in release {answer.first_release})."]
        lines += [f"  ! {h}" for h in answer.history]
        lines += _notice_lines(answer) + [f"({_vintage(answer)})"]
        return "\n".join(lines)
    if answer.status == "no_longer_valid":
        lines = [f"{answer.code}: no longer valid — {answer.description}"]
        if answer.removed_in:
            lines.append(f"  Last in release {answer.last_release}; removed in release {answer.removed_in}.")
        else:  # a HCPCS code still listed with its termination date
            lines += [f"  {h}" for h in answer.history]
        if answer.successors:
            lines.append("Use instead:")
            lines += [_ref_line(r) for r in answer.successors]
        lines += _notice_lines(answer)
        lines.append(f"({_vintage(answer)})")
        return "\n".join(lines)
    return "\n".join(_valid_lines(answer))


def _valid_lines(answer: CodeAnswer) -> list[str]:
    lines = [f"{answer.code}  {answer.description}", f"  {_badge(answer)}"]
    lines += _notice_lines(answer)  # no loaded release covers the date of service: said before anything else
    if answer.category or answer.section:
        lines.append("  " + " · ".join(x for x in (answer.category, answer.section) if x))
    if answer.extra.get("official_text"):
        lines.append(f"  Official text: {answer.extra['official_text']} ({answer.extra['official_source']})")
    if answer.extra.get("short_description"):
        lines.append(f"  Short: {answer.extra['short_description']}")
    if answer.breadcrumb:
        lines.append("  in: " + " › ".join(f"{r.code} {r.description}" for r in answer.breadcrumb[-3:]))
    lines += [f"  ! {h}" for h in answer.history]
    if answer.seventh_character:
        c = answer.seventh_character
        lines.append(f"  7th character {c.character}: {c.meaning}")
    if answer.needs_seventh_character:
        lines.append("  Needs a 7th character. Choices:")
        lines += [f"    {c.character}  {c.meaning}" for c in answer.seventh_characters]
    elif answer.children:
        more = answer.children_count - len(answer.children)
        lines.append(f"  Billable codes under it ({answer.children_count}):")
        lines += [_ref_line(r) for r in answer.children]
        if more > 0:
            lines.append(f"    … and {more} more")
    lines += _notes_lines(answer)
    if answer.source:
        lines.append(f"  Text: {answer.source}")
    if answer.release:
        lines.append(f"({_vintage(answer)})")
    return lines


def _notice_lines(answer: CodeAnswer) -> list[str]:
    return [f"  Note: {answer.notice}"] if answer.notice else []


def _badge(answer: CodeAnswer) -> str:
    if answer.system == "modifier":
        return answer.kind or "modifier"
    if answer.system == "icd10cm":
        where = f" in release {answer.release.label}" if answer.notice and answer.release else ""
        return ("billable" if answer.billable else "NOT billable (header)") + f"{where} · {answer.kind}"
    if answer.system == "cpt":
        return "add-on code (report with its primary procedure)" if answer.extra.get("add_on") else "CPT code"
    return "active" if answer.billable else "NOT active for current dates of service"


def _system_name(answer: CodeAnswer) -> str:
    return {"icd10cm": "ICD-10-CM", "hcpcs": "HCPCS Level II", "cpt": "CPT", "modifier": "modifier"}[answer.system]


def _notes_lines(answer: CodeAnswer) -> list[str]:
    lines = []
    for kind, title in NOTE_TITLES.items():
        notes = [n for n in answer.notes if n.kind == kind]
        if notes:
            lines.append(f"  {title}:")
            lines += [f"    - {n.text}" + (f"  [at {n.at}]" if n.at != answer.code else "") for n in notes]
    return lines


def _ref_line(ref) -> str:
    mark = "" if ref.billable else "  (header)"
    return f"    {ref.code:<9} {ref.description}{mark}"


def _vintage(answer: CodeAnswer) -> str:
    return answer.release.title if answer.release else answer.system


def diff(payload: dict) -> str:
    """Return a release diff as text: counts, then one line per change."""
    rows = payload["changes"]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["change"]] = counts.get(row["change"], 0) + 1
    lines = [f"{payload['system']} {payload['from']} -> {payload['to']}: "
             + (", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no changes")]
    for row in rows[:200]:
        text = row["new_description"] or row["old_description"] or row["detail"] or ""
        line = f"  {row['change']:<17} {row['display']:<14} {text}"
        if row["successors"]:
            line += "  -> " + ", ".join(s["code"] for s in row["successors"][:6])
        lines.append(line)
    if len(rows) > 200:
        lines.append(f"  … {len(rows) - 200} more (use --json for all)")
    return "\n".join(lines)


VERDICTS = {"ok": "OK", "review": "REVIEW", "likely_denial": "LIKELY DENIAL"}


def check_report(report: CheckReport) -> str:
    """Return the verdict, then each finding with its reason, basis and suggestions."""
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in ("error", "warning", "info")}
    summary = ", ".join(f"{n} {s}{'s' if n != 1 and s != 'info' else ''}" for s, n in counts.items() if n) or "no findings"
    px = ", ".join(p.code + "".join(f"-{m}" for m in p.modifiers) + (f" x{p.units}" if p.units != 1 else "")
                   for p in report.procedures)
    lines = [f"Verdict: {VERDICTS[report.verdict]} ({summary})",
             f"  dx: {', '.join(report.diagnoses) or '-'}   px: {px or '-'}   date of service: {report.date_of_service}"]
    for finding in report.findings:
        lines.append(f"{finding.severity.upper():<8}{finding.message}")
        lines.append(f"        basis: {finding.basis}")
        if finding.suggestions:
            lines.append("        consider: " + "; ".join(f"{s.code} {s.description}".strip()
                                                       for s in finding.suggestions[:6]))
    lines.append("(" + "; ".join(r.title for r in report.releases) + ")")
    return "\n".join(lines)


def import_result(result: ImportResult) -> str:
    """Return the one-paragraph summary of an import."""
    if result.status == "already_imported":
        return (f"{result.source_name} is already imported as {result.system} release {result.label}; "
                "nothing changed.")
    state = "now current" if result.current else "kept for history (a newer release is current)"
    what = (f"{result.billable_count:,} rows" if result.system.startswith(("ncci", "mcd")) else
            f"{result.billable_count:,} billable of {result.code_count:,} codes")
    return (f"Imported {result.system} release {result.label} from {result.source_name}: "
            f"{what} in {result.seconds:.1f} s; {state}.")


def releases_table(rows: list[dict]) -> str:
    """Return the releases as an aligned text table."""
    if not rows:
        return "No releases imported yet."
    lines = [f"{'system':<21} {'label':<9} {'dates of service covered':<26} {'billable':>8}  current  source"]
    for r in rows:
        span = f"{r['valid_from']} to {r['valid_through'] or 'open'}" if r.get("valid_from") else "undated"
        lines.append(
            f"{r['system']:<21} {r['label']:<9} {span:<26} {r['billable_count']:>8}  "
            f"{'yes' if r['current'] else '':<7}  {r['source_name']}"
        )
    return "\n".join(lines)
