"""Block Kit for every medcode answer: the one home of Slack markup, escaping and block limits."""
from __future__ import annotations

import json

from codedata.models import CheckReport, CodeAnswer, CodeRef, SearchResult

MAX_BLOCKS = 50  # Slack allows 50 blocks per message
MAX_VIEW_BLOCKS = 100  # and 100 in a modal or the App Home tab
MAX_TEXT = 2900  # a section's text may hold 3000 characters
SEVERITY_ICONS = {"error": ":red_circle:", "warning": ":large_orange_circle:", "info": ":information_source:"}
VERDICTS = {"ok": ":white_check_mark: *OK*", "review": ":large_orange_circle: *Review*",
            "likely_denial": ":red_circle: *Likely denial*"}


def escape(text: str | None) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    """`text` within `limit` characters, cut at a line break or a space (never mid-word), with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    at = max(cut.rfind("\n"), cut.rfind(" "))
    return (cut[:at] if at > limit // 2 else cut).rstrip() + "…"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """`text` in pieces of at most `limit` characters, split between lines (or, for one long line, between
    words): nothing is cut off and no word is split."""
    pieces, current = [], ""
    for line in text.split("\n"):
        while len(line) > limit:  # one line longer than a section: split it between words
            head = shorten(line, limit + 1)[:-1].rstrip()
            head = head or line[:limit]
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
            line = line[len(head):].lstrip()
        if current and len(current) + 1 + len(line) > limit:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current or not pieces:
        pieces.append(current)
    return pieces


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": shorten(text)}}


def sections(text: str) -> list[dict]:
    """As many sections as `text` needs (a long list of codes is paged over sections, not cut off)."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in split_text(text)]


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": shorten(text)}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict:
    button = {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id,
              "value": value[:2000]}
    if style:
        button["style"] = style
    return button


def _ref(ref: CodeRef) -> str:
    return f"`{escape(ref.code)}` {escape(ref.description)}"


def share_value(kind: str, text: str, offset: int = 0, dos: str | None = None) -> str:
    """The button value that lets an action re-run a command: which command, its text, the page (and the date
    of service a header's codes were listed for)."""
    value = {"k": kind, "t": text[:1500], "o": offset} | ({"d": dos} if dos else {})
    return json.dumps(value)  # a value holds 2,000 characters


def limit(blocks: list[dict], keep_tail: int | None = None, maximum: int = MAX_BLOCKS,
          more: str = "use the CLI with --json for all") -> list[dict]:
    """Keep a message within Slack's block limit, saying what was left out. The tail (`keep_tail` blocks; by
    default the trailing actions block and the context line before it: the data line, the Share button) is
    always kept; blocks are dropped from the middle."""
    if len(blocks) <= maximum:
        return blocks
    if keep_tail is None:
        keep_tail = 0
        if blocks[-1].get("type") == "actions":
            keep_tail = 1
        if len(blocks) > keep_tail and blocks[-1 - keep_tail].get("type") == "context":
            keep_tail += 1
    tail = blocks[len(blocks) - keep_tail:] if keep_tail else []
    head = blocks[:maximum - 1 - len(tail)]
    left = len(blocks) - len(head) - len(tail)
    return head + [_context(f"… {left} more block{'s' if left != 1 else ''} not shown: {more}")] + tail


def code_answer(answer: CodeAnswer, kind: str, text: str, shared: bool = False) -> list[dict]:
    """Blocks for one code: badge, hierarchy, children, 7th characters, notes, vintage."""
    blocks = [_section(_headline(answer))]
    if answer.notice:  # no loaded release covers the date of service: say so before the badge is read
        blocks.append(_context(f":calendar: {escape(answer.notice)}"))
    if answer.breadcrumb:
        blocks.append(_context(" › ".join(f"`{escape(r.code)}` {escape(r.description)}" for r in answer.breadcrumb[-3:])))
    details = _details(answer)
    if details:
        blocks.append(_section("\n".join(details)))
    for title, notes in _grouped_notes(answer):
        blocks.append(_section(f"*{title}*\n" + "\n".join(f"• {escape(n)}" for n in notes[:8])))
    vintage = answer.release.title if answer.release else ""
    source = f" · text: {escape(answer.source)}" if answer.source else ""
    blocks.append(_context(f"{escape(vintage)}{source}"))
    actions = [] if shared else [_button("Share in channel", "share_answer", share_value(kind, text))]
    if answer.status in ("valid", "no_longer_valid") and answer.system in ("icd10cm", "hcpcs", "cpt"):
        actions.append(_button("Watch this code", "watch_code", json.dumps({"s": answer.system, "c": answer.code})))
    if answer.children_count > len(answer.children):
        actions.append(_button(f"Show all {answer.children_count} codes", "show_children",
                               share_value(kind, answer.code, dos=answer.date_of_service)))
    if actions:
        blocks.append({"type": "actions", "elements": actions})
    return limit(blocks)


def _headline(answer: CodeAnswer) -> str:
    code = f"*`{escape(answer.code)}`*"
    if answer.status == "unknown":
        return f"{code} is not a known {escape(answer.system)} code."
    if answer.status == "no_descriptor":
        return f"{code} {escape(answer.history[0])}"
    if answer.status == "no_longer_valid" and not answer.removed_in:  # a HCPCS code listed with its end date
        return (f"{code} {escape(answer.description)}\n:no_entry: *No longer valid* on "
                f"{escape(answer.date_of_service)}: {escape(answer.history[0])}")
    if answer.status == "no_longer_valid":
        return (f"{code} {escape(answer.description)}\n:no_entry: *No longer valid*: last in release "
                f"{escape(answer.last_release)}, removed in {escape(answer.removed_in)}.")
    if answer.status == "not_yet_valid":
        return (f"{code} {escape(answer.description)}\n:no_entry: *Not yet a code on {escape(answer.date_of_service)}*:"
                f" it took effect {escape(answer.took_effect)} (first in release {escape(answer.first_release)}).")
    if answer.system == "icd10cm":
        badge = ":white_check_mark: billable" if answer.billable else ":warning: header, not billable"
    elif answer.system == "modifier":
        badge = escape(answer.kind)
    else:
        badge = " · ".join(escape(x) for x in (answer.category, answer.section) if x)
        if answer.extra.get("add_on"):
            badge += " · add-on code"
    return f"{code} {escape(answer.description)}\n{badge}"


def _details(answer: CodeAnswer) -> list[str]:
    lines = [f":pushpin: {escape(h)}" for h in answer.history]
    if answer.seventh_character:
        lines.append(f"7th character `{answer.seventh_character.character}`: {escape(answer.seventh_character.meaning)}")
    if answer.needs_seventh_character:
        lines.append("*Needs a 7th character:* " + ", ".join(
            f"`{c.character}` {escape(c.meaning)}" for c in answer.seventh_characters))
    elif answer.children:
        more = answer.children_count - len(answer.children)
        lines.append(f"*Billable codes under it ({answer.children_count}):*")
        lines += [_ref(r) for r in answer.children[:15]]
        if more > 0 or len(answer.children) > 15:
            lines.append(f"… and {answer.children_count - min(15, len(answer.children))} more")
    for title, refs in (("Use instead", answer.successors), ("Nearest existing codes", answer.nearest)):
        if refs:
            lines.append(f"*{title}:*")
            lines += [_ref(r) for r in refs[:10]]
    if answer.extra.get("official_text"):
        lines.append(f"Official text: {escape(answer.extra['official_text'])}")
    return lines


NOTE_TITLES = {"excludes1": "Excludes1 (never coded together)", "excludes2": "Excludes2 (may code both)",
               "code_first": "Code first", "use_additional_code": "Use additional code", "code_also": "Code also",
               "includes": "Includes", "inclusion_term": "Inclusion terms"}


def _grouped_notes(answer: CodeAnswer) -> list[tuple[str, list[str]]]:
    groups = []
    for kind, title in NOTE_TITLES.items():
        notes = [n.text + (f" _(at {n.at})_" if n.at != answer.code else "") for n in answer.notes if n.kind == kind]
        if notes:
            groups.append((title, notes))
    return groups


def search_result(result: SearchResult, kind: str, shared: bool = False, shown: str | None = None,
                  rerun: str = "") -> list[dict]:
    """Blocks for one page of search results, with a More results button. `shown` is the part of the query that
    may be echoed (words recognised from the code sets): the rest of what was typed is never shown. `rerun`
    follows the query in the buttons' values (" dos:2025-06-01")."""
    shown = result.query if shown is None else shown
    label = f"*{escape(shown)}*" if shown else "your search"
    if not result.results and result.total:  # a page past the end (a forged or stale More button)
        return [_section(f"No more results: this search found {result.total} code"
                         f"{'s' if result.total != 1 else ''} in all.")]
    if not result.results:  # nothing to show for it: what was typed is not repeated
        return [_section("No codes found for your search. Try fewer or different words, or a code.")]
    lines = [f"`{escape(h.code)}` {escape(h.description)}" for h in result.results]
    blocks = [_section(f"{label[0].upper() + label[1:]} — {result.total} match{'es' if result.total != 1 else ''}"),
              _section("\n".join(lines))]
    if result.notice:  # a date of service answered from a release other than the current one
        blocks.insert(1, _context(f":calendar: {escape(result.notice)}"))
    if result.hints:
        blocks.append(_context("Narrow it down: " + ", ".join(f"`{escape(h.code)}` {escape(h.description)}"
                                                             for h in result.hints)))
    end = result.offset + len(result.results)
    query = (shown or result.query) + rerun
    actions = []
    if end < result.total:
        actions.append(_button("More results", "more_results", share_value(kind, query, end)))
    if not shared:
        actions.append(_button("Share in channel", "share_answer", share_value(kind, query, result.offset)))
    if actions:
        blocks.append({"type": "actions", "elements": actions})
    return limit(blocks)


def insert_before_actions(blocks: list[dict], block: dict) -> list[dict]:
    """Put `block` just before the trailing actions block (or at the end)."""
    at = len(blocks) - 1 if blocks and blocks[-1].get("type") == "actions" else len(blocks)
    return blocks[:at] + [block] + blocks[at:]


def check_report(report: CheckReport, text: str = "", shared: bool = False, maximum: int = MAX_BLOCKS) -> list[dict]:
    """Blocks for a pairing check: verdict, then findings grouped by severity, each with its basis."""
    px = ", ".join(f"`{escape(p.code)}`" + "".join(f"-{escape(m)}" for m in p.modifiers)
                   + (f" ×{p.units}" if p.units != 1 else "") for p in report.procedures)
    dx = ", ".join(f"`{escape(d)}`" for d in report.diagnoses)
    blocks = [_section(f"{VERDICTS[report.verdict]}\nDiagnoses: {dx or '—'}   Procedures: {px or '—'}")]
    for severity in ("error", "warning", "info"):
        for finding in (f for f in report.findings if f.severity == severity):
            text_ = f"{SEVERITY_ICONS[severity]} {escape(finding.message)}"
            if finding.suggestions:
                text_ += "\nConsider: " + ", ".join(_ref(s) for s in finding.suggestions[:5])
            blocks += [_section(text_), _context(f"Basis: {escape(finding.basis)}")]
    if not report.findings:
        blocks.append(_section("No problems found with these codes."))
    blocks.append(_context("Data: " + "; ".join(escape(r.title) for r in report.releases)))
    if not shared and text:
        blocks.append({"type": "actions", "elements": [_button("Share in channel", "share_answer",
                                                               share_value("pair", text))]})
    return limit(blocks, maximum=maximum, more="check fewer codes at a time, or use `medcode check --json`")


def fallback_text(blocks: list[dict]) -> str:
    """Plain text for notifications: the first section's text."""
    first = next((b["text"]["text"] for b in blocks if b.get("type") == "section"), "medcode")
    return first[:300]


def message(text: str) -> list[dict]:
    """A plain one-section message (help, errors, reminders)."""
    return [_section(text)]


HELP = """*medcode* — code answers for billing teams
• `/icd E11.9` look up an ICD-10-CM code · `/icd rt knee pain` search by words
• `/cpt 99213` CPT/HCPCS code or modifier (`/cpt 25`, `/cpt -59`) · `/cpt knee x-ray 3 views` search
• `/pair E11.9 I10 99213 83036` check a claim: codes by shape; `dx:`/`px:` to force, `age:67 sex:F dos:2026-03-01`, units `97110x4`, modifiers `97140-59`
• `/pair` alone opens the *Check a claim* form · mention @medcode with codes in a channel to get an answer in the thread
• `/icd watch E11` (subtree), `/icd watch E11*` (prefix), `/cpt watch J1745`: this channel hears when a new release changes them · `/icd unwatch E11` · `/icd watches` · `/icd changes [CODE]` the latest release's changes
• Administrators: `/icd import https://…` (or `/cpt import hcpcs|cpt|ncci|mcd https://…`) imports an official release file · `/icd announce` posts the current release's summary here
Please do not paste patient names, dates of birth or record numbers: medcode needs codes only."""


def claim_modal() -> dict:
    """The "Check a claim" modal: typeahead code pickers fed by search, age, sex and date of service."""
    def picker(block_id: str, label: str, action_id: str, placeholder: str) -> dict:
        return {"type": "input", "block_id": block_id, "label": {"type": "plain_text", "text": label},
                "optional": block_id == "px",
                "element": {"type": "multi_external_select", "action_id": action_id, "min_query_length": 2,
                            "placeholder": {"type": "plain_text", "text": placeholder}}}

    return {
        "type": "modal", "callback_id": "check_claim",
        "title": {"type": "plain_text", "text": "Check a claim"},
        "submit": {"type": "plain_text", "text": "Check"},
        "blocks": [
            picker("dx", "Diagnoses (first = primary)", "dx_options", "Type a code or words"),
            picker("px", "Procedures", "px_options", "Type a code or words"),
            {"type": "input", "block_id": "age", "optional": True, "label": {"type": "plain_text", "text": "Age"},
             "element": {"type": "number_input", "action_id": "age", "is_decimal_allowed": False,
                         "min_value": "0", "max_value": "130"}},
            {"type": "input", "block_id": "sex", "optional": True, "label": {"type": "plain_text", "text": "Sex"},
             "element": {"type": "static_select", "action_id": "sex", "options": [
                 {"text": {"type": "plain_text", "text": "Female"}, "value": "F"},
                 {"text": {"type": "plain_text", "text": "Male"}, "value": "M"}]}},
            {"type": "input", "block_id": "dos", "optional": True,
             "label": {"type": "plain_text", "text": "Date of service"},
             "element": {"type": "datepicker", "action_id": "dos"}},
        ],
    }


def _option(code: str, description: str) -> dict:
    return {"text": {"type": "plain_text", "text": shorten(f"{code} {description}", 75)}, "value": code[:150]}


def options(result: SearchResult | CodeAnswer) -> list[dict]:
    """external_select options for a typeahead query (max 100; text at most 75 characters)."""
    if isinstance(result, CodeAnswer):
        if result.status != "valid":
            return []
        hits = [(result.code, result.description or "")]
    else:
        hits = [(h.code, h.description) for h in result.results]
    return [_option(code, description) for code, description in hits[:100]]


def header_option_groups(answer: CodeAnswer) -> list[dict]:
    """Typeahead for a header code (E11): one group labelled with the header, holding its billable codes
    (a header cannot be billed, so it is not offered itself)."""
    label = shorten(f"{answer.code} {answer.description or ''} — billable codes", 75)
    return [{"label": {"type": "plain_text", "text": label},
             "options": [_option(c.code, c.description) for c in answer.children[:100]]}]


def claim_result_view(report: CheckReport) -> dict:
    """The claim form after Check: the result in the modal itself (no Share button: a modal has no channel),
    within the modal's 100-block limit, keeping the data line."""
    result = [b for b in check_report(report, "", shared=True, maximum=MAX_VIEW_BLOCKS) if b.get("type") != "actions"]
    return {"type": "modal", "callback_id": "claim_result", "title": {"type": "plain_text", "text": "Claim check"},
            "close": {"type": "plain_text", "text": "Done"},
            "blocks": limit(result + [_context("A copy with a *Share in channel* button is in your messages "
                                               "with medcode.")], keep_tail=2, maximum=MAX_VIEW_BLOCKS)}


def home(releases: list[dict], recent: list[dict], watched: list[dict] = ()) -> dict:
    """The App Home tab: what medcode does, the vintage of each code system with the dates of service it covers
    (`window`) and what is missing for today (`notice`), recent imports."""
    vintages = "\n".join(f"• *{escape(r['system'])}*: {escape(r['title'] or r['label'])}"
                         + (f" — dates of service {escape(r['window'])}" if r.get("window") else "")
                         + (f"\n    :calendar: {escape(r['notice'])}" if r.get("notice") else "") for r in releases)
    imports = "\n".join(f"• {escape(r['system'])} {escape(r['label'])} — imported {escape(r['imported_at'])}"
                        for r in recent)
    return {"type": "home", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "medcode"}},
        _section("Look up and search ICD-10-CM, CPT and HCPCS codes (`/icd`, `/cpt`), and check a claim's "
                 "codes for likely denials (`/pair`, or mention @medcode with codes in a channel)."),
        {"type": "actions", "elements": [_button("Check a claim", "open_claim_modal", "home", "primary")]},
        _section(f"*Data in use*\n{vintages or 'No code data imported yet.'}"),
        _section(f"*Recent releases*\n{imports or '—'}"),
        _section("*Watches in your channels*\n" + ("\n".join(
            f"• <#{escape(w['channel'])}> {escape(w['system'])} {escape(w['kind'])} `{escape(w['display'])}`"
            for w in watched[:40]) or "None yet: `/icd watch E11` in a channel.")),
        _context("Please do not paste patient details: medcode needs codes only."),
    ]}


CHANGE_WORDS = {"added": ":new: added", "deleted": ":no_entry: no longer billable", "revised": ":pencil2: revised",
                "pair_added": ":new: new edit", "pair_ended": ":no_entry: edit ended",
                "indicator_changed": ":arrows_counterclockwise: modifier indicator changed"}


def alert_summary(release: dict, previous: str | None, changes: list[dict], total: int) -> list[dict]:
    """The channel message for a new release: how many watched codes changed, by kind."""
    counts: dict[str, int] = {}
    for change in changes:
        counts[change["change"]] = counts.get(change["change"], 0) + 1
    kinds = ", ".join(f"{n} {CHANGE_WORDS[k].split(' ', 1)[1]}" for k, n in counts.items())
    since = f" (since {escape(previous)})" if previous else ""
    if changes:
        text = f"*{escape(release['title'])}*{since}: {len(changes)} change{'s' if len(changes) != 1 else ''} to codes this channel watches — {kinds}. Details in the thread."
    else:
        text = f"*{escape(release['title'])}* is now current{since}: {total} changes in all."
    return [_section(text)]


def alert_details(changes: list[dict], release: dict, previous: str | None) -> list[dict]:
    """The thread: each change with what to use instead, within Slack's block limit."""
    lines = []
    for change in changes:
        line = f"{CHANGE_WORDS[change['change']]} `{escape(change['display'])}` {escape(change['new_description'] or change['old_description'] or '')}"
        if change["change"] == "revised":
            line += f" _(was: {escape(change['old_description'])})_"
        if change.get("detail"):
            line += f" — {escape(change['detail'])}"
        if change["successors"]:
            line += "\n    use instead: " + ", ".join(f"`{escape(s['code'])}` {escape(s['description'])}"
                                                   for s in change["successors"][:6])
        lines.append(line)
    sections, current = [], ""
    for line in lines:
        if len(current) + len(line) > MAX_TEXT - 100:
            sections.append(_section(current))
            current = ""
        current += line + "\n"
    if current:
        sections.append(_section(current))
    if len(sections) > MAX_BLOCKS - 1:
        shown = sections[:MAX_BLOCKS - 1]
        return shown + [_context(f"More changes than fit here: run `medcode diff {escape(release['system'])}`"
                                 f"{' ' + escape(previous) + ' ' + escape(release['label']) if previous else ''}")]
    return sections
