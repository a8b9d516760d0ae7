"""Buttons (share, more results, show children, open the form), the claim form's submission, and typeahead."""
from __future__ import annotations

import json

from codedata.codes import looks_like_icd, lookup_icd
from codedata.checks import check_claim
from codedata.errors import BadInput, MedcodeError
from codedata.models import ClaimRequest, CodeAnswer, ProcedureLine
from codedata.procedures import classify_procedure
from codedata.search import code_prefix, resolve
from codedata.windows import parse_dos

from . import Services, blocks
from .answers import answer
from .commands import watch
from .parsing import SLACK_ID, clean_text

CHILDREN_PAGE = 100  # codes per page of "Show all codes"


MAX_OFFSET = 10_000  # as the CLI's --offset: no page of a search or a header lies further


def _value(body) -> dict:
    """The value of the button pressed, as medcode made it (blocks.share_value); a forged one is refused in one
    line (an offset below 0 would page from the end)."""
    try:
        value = json.loads(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError):
        raise BadInput("That button's value is not one medcode made. Run the command again.") from None
    offset = value.get("o", 0) if isinstance(value, dict) else None
    if (not isinstance(value, dict) or not isinstance(value.get("t", ""), str) or type(offset) is not int
            or not 0 <= offset <= MAX_OFFSET or value.get("k", "icd") not in ("icd", "cpt", "pair")):
        raise BadInput("That button's value is not one medcode made. Run the command again.")
    return value


def shared_by(user_id) -> dict:
    """Who shared, as a mention only when the id is Slack's (a forged "U1> <!channel" would ping a channel)."""
    if isinstance(user_id, str) and SLACK_ID.fullmatch(user_id):
        return blocks._context(f"Shared by <@{user_id}> with medcode")
    return blocks._context("Shared with medcode")


def _offered_icd(value: str) -> bool:
    return len(value) <= 9 and looks_like_icd(value)


def _offered_procedure(value: str) -> bool:
    try:
        return classify_procedure(value)[0] != "modifier" and len(value) == 5
    except MedcodeError:
        return False


def register(app, services: Services) -> None:
    def share_answer(ack, body, respond):
        """Post the answer for everyone through the response_url (works in DMs and private channels the bot is
        not in, as the user), saying who shared it, then remove the private copy."""
        ack()
        value = _value(body)
        reply = answer(services, value["k"], value["t"], offset=value.get("o", 0), shared=True)
        reply = blocks.limit(reply + [shared_by((body.get("user") or {}).get("id"))], keep_tail=1)
        respond(response_type="in_channel", replace_original=False, blocks=reply, text=blocks.fallback_text(reply))
        respond(delete_original=True)

    def more_results(ack, body, respond):
        ack()
        value = _value(body)
        reply = answer(services, value["k"], value["t"], offset=value.get("o", 0))
        respond(replace_original=True, blocks=reply, text=blocks.fallback_text(reply))

    def show_children(ack, body, respond):
        """Every billable code under a header, a page of CHILDREN_PAGE at a time, over as many sections as they
        need (never cut off mid-line), with a button for the next page."""
        ack()
        value = _value(body)
        offset, dos = value.get("o", 0), value.get("d")
        if dos is not None and not isinstance(dos, str):
            raise BadInput("That button's value is not one medcode made. Run the command again.")
        # the codes under a header on the date of service it was answered for (C50 on 2025-06-01 has no C50.A-)
        result = lookup_icd(services.db(), value["t"], children_limit=offset + CHILDREN_PAGE,
                            dos=parse_dos(dos) if dos else None)
        if offset and offset >= result.children_count:  # a forged page past the end
            respond(response_type="ephemeral", replace_original=False,
                    text=f"There are {result.children_count} billable codes under {result.code}: no page starts "
                         f"after {result.children_count}.")
            return
        page = result.children[offset:offset + CHILDREN_PAGE]
        lines = "\n".join(f"`{blocks.escape(c.code)}` {blocks.escape(c.description)}" for c in page)
        end = offset + len(page)
        title = (f"*Billable codes under `{blocks.escape(result.code)}`* "
                 f"({offset + 1}–{end} of {result.children_count})")
        reply = blocks.sections(f"{title}\n{lines}")
        if end < result.children_count:
            reply.append({"type": "actions", "elements": [blocks._button(
                "Next page", "show_children", blocks.share_value("icd", result.code, end, dos=dos))]})
        respond(response_type="ephemeral", replace_original=offset > 0, blocks=blocks.limit(reply),
                text=f"Codes under {result.code}")

    def watch_code(ack, body, respond):
        ack()
        value = _value(body)
        user = (body.get("user") or {}).get("id")
        channel = (body.get("channel") or {}).get("id") or user
        # The button carries a code; the rules of `/icd watch` apply to whatever a payload says.
        reply = watch(services, channel, str(value.get("c") or ""), str(value.get("s") or ""), user)
        respond(response_type="ephemeral", replace_original=False, blocks=reply, text=blocks.fallback_text(reply))

    def open_claim_modal(ack, body, client):
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=blocks.claim_modal())

    def submit_claim(ack, body, view, client):
        """Check the claim and show the result in the form itself (it no longer closes without a word); a copy
        with a Share button goes to the user's messages with medcode."""
        values = ((view or {}).get("state") or {}).get("values") or {}
        dx = [o["value"] for o in (values.get("dx", {}).get("dx_options", {}).get("selected_options") or [])]
        px = [o["value"] for o in (values.get("px", {}).get("px_options", {}).get("selected_options") or [])]
        age = values.get("age", {}).get("age", {}).get("value")
        sex = (values.get("sex", {}).get("sex", {}).get("selected_option") or {}).get("value")
        dos = values.get("dos", {}).get("dos", {}).get("selected_date")
        if not dx and not px:
            ack(response_action="errors", errors={"dx": "Pick at least one diagnosis or procedure."})
            return
        # The options are codes medcode offered; anything else (a forged value, a name) is refused, never shown.
        odd = [field for field, values, shaped in (("dx", dx, _offered_icd), ("px", px, _offered_procedure))
               if not all(isinstance(v, str) and shaped(v) for v in values)]
        if odd:
            ack(response_action="errors", errors={odd[0]: "Pick codes from the list medcode offers."})
            return
        if age and (not age.strip().isdigit() or int(age) > 130):
            ack(response_action="errors", errors={"age": "Age is a whole number of years, e.g. 67."})
            return
        if sex not in (None, "F", "M"):
            ack(response_action="errors", errors={"sex": "Sex is F or M."})
            return
        if dos is not None:
            try:
                parse_dos(dos)
            except MedcodeError as exc:  # under the date, not under the diagnoses
                ack(response_action="errors", errors={"dos": blocks.shorten(str(exc), 150)})
                return
        try:
            request = ClaimRequest(diagnoses=dx, procedures=[ProcedureLine(code=p) for p in px],
                                   age=int(age) if age else None, sex=sex, date_of_service=dos)
            report = check_claim(services.db(), request, policy_dirs=services.policy_dirs)
        except (MedcodeError, ValueError) as exc:
            ack(response_action="errors", errors={"dx": blocks.shorten(str(exc).splitlines()[0], 150)})
            return
        ack(response_action="update", view=blocks.claim_result_view(report))
        from .answers import pair_text

        reply = blocks.check_report(report, pair_text(request))
        client.chat_postMessage(channel=body["user"]["id"], blocks=reply, text=blocks.fallback_text(reply))

    def typeahead(kind):
        def options(ack, body):
            typed = clean_text(str(body.get("value") or "")).strip()  # full-width Ｅ１１．９ reads as E11.9
            try:
                ack(**suggestions(services, kind, typed))
            except MedcodeError:
                ack(options=[])
        options.__name__ = f"{kind}_options"
        return options

    app.action("share_answer")(share_answer)
    app.action("more_results")(more_results)
    app.action("show_children")(show_children)
    app.action("open_claim_modal")(open_claim_modal)
    app.action("watch_code")(watch_code)
    app.view("check_claim")(submit_claim)
    app.options("dx_options")(typeahead("icd"))
    app.options("px_options")(typeahead("cpt"))


def suggestions(services: Services, kind: str, typed: str) -> dict:
    """What the claim form's pickers offer for typed text: billable codes only (a claim takes those).

    A typed ICD-10-CM header (E11) lists the billable codes under it, grouped under the header; a typed partial
    procedure number lists the procedure codes that start with it (97 -> 97xxx, never modifier 97: the picker
    is for procedures); otherwise the search's ranked billable codes.
    """
    db = services.db()
    if kind == "icd":
        result = resolve(db, typed, "icd", limit=20)
        if isinstance(result, CodeAnswer) and result.status == "valid" and not result.billable:
            full = lookup_icd(db, result.code, children_limit=100)
            if full.children:
                return {"option_groups": blocks.header_option_groups(full)}
        return {"options": blocks.options(result)}
    systems = ("cpt", "hcpcs")
    compact = typed.replace(" ", "").upper()
    if compact.isdigit() and 2 <= len(compact) <= 4 or (compact[:1].isalpha() and compact[1:].isdigit()
                                                          and 1 <= len(compact) <= 4):
        listing = code_prefix(db, compact, systems, limit=100)
        if listing is None and compact.isdigit() and len(compact) == 2:
            # codedata lists from 3 digits; two typed digits are the ten 3-digit prefixes they start.
            hits = []
            for digit in "0123456789":
                more = code_prefix(db, compact + digit, systems, limit=100 - len(hits))
                hits += more.results if more else []
                if len(hits) >= 100:
                    break
            return {"options": [blocks._option(h.code, h.description) for h in hits[:100]]}
        if listing is not None:
            return {"options": blocks.options(listing)}
    result = resolve(db, typed, "cpt", limit=20)
    if isinstance(result, CodeAnswer) and result.system == "modifier":
        return {"options": []}
    return {"options": blocks.options(result)}
