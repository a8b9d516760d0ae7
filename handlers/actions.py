"""Buttons (share, more results, show children, open the form), the claim form's submission, and typeahead."""
from __future__ import annotations

import json

from codedata import watches
from codedata.codes import lookup_icd
from codedata.checks import check_claim
from codedata.errors import MedcodeError
from codedata.models import ClaimRequest, ProcedureLine
from codedata.search import resolve

from . import Services, blocks
from .answers import answer


def _value(body) -> dict:
    return json.loads(body["actions"][0]["value"])


def register(app, services: Services) -> None:
    def share_answer(ack, body, client, respond):
        ack()
        value = _value(body)
        reply = answer(services, value["k"], value["t"], offset=value.get("o", 0), shared=True)
        channel = (body.get("channel") or {}).get("id")
        client.chat_postMessage(channel=channel, blocks=reply, text=blocks.fallback_text(reply))
        respond(delete_original=True)

    def more_results(ack, body, respond):
        ack()
        value = _value(body)
        reply = answer(services, value["k"], value["t"], offset=value["o"])
        respond(replace_original=True, blocks=reply, text=blocks.fallback_text(reply))

    def show_children(ack, body, respond):
        ack()
        result = lookup_icd(services.db(), _value(body)["t"], children_limit=100)
        lines = "\n".join(f"`{blocks.escape(c.code)}` {blocks.escape(c.description)}" for c in result.children)
        more = result.children_count - len(result.children)
        reply = blocks.message(f"*Billable codes under `{result.code}`*\n{lines}" + (f"\n… {more} more" if more > 0 else ""))
        respond(response_type="ephemeral", replace_original=False, blocks=reply, text=f"Codes under {result.code}")

    def watch_code(ack, body, respond):
        ack()
        value = _value(body)
        channel = (body.get("channel") or {}).get("id") or body["user"]["id"]
        added = watches.add_watch(services.db(), channel, value["c"], value["s"], body["user"]["id"])
        respond(response_type="ephemeral", replace_original=False, text=f"Watching {added['pattern']}",
                blocks=blocks.message(f":eyes: This channel now watches {added['system']} {added['kind']} "
                                      f"`{blocks.escape(added['pattern'])}`: when a new release changes it, "
                                      "medcode posts here."))

    def open_claim_modal(ack, body, client):
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=blocks.claim_modal())

    def submit_claim(ack, body, view, client):
        values = view["state"]["values"]
        dx = [o["value"] for o in values["dx"]["dx_options"].get("selected_options") or []]
        px = [o["value"] for o in (values.get("px", {}).get("px_options", {}).get("selected_options") or [])]
        age = values.get("age", {}).get("age", {}).get("value")
        sex = (values.get("sex", {}).get("sex", {}).get("selected_option") or {}).get("value")
        dos = values.get("dos", {}).get("dos", {}).get("selected_date")
        if not dx and not px:
            ack(response_action="errors", errors={"dx": "Pick at least one diagnosis or procedure."})
            return
        ack()
        request = ClaimRequest(diagnoses=dx, procedures=[ProcedureLine(code=p) for p in px],
                               age=int(age) if age else None, sex=sex, date_of_service=dos)
        report = check_claim(services.db(), request, policy_dirs=services.policy_dirs)
        reply = blocks.check_report(report)
        client.chat_postMessage(channel=body["user"]["id"], blocks=reply, text=blocks.fallback_text(reply))

    def typeahead(kind):
        def options(ack, body):
            try:
                result = resolve(services.db(), body.get("value") or "", kind, limit=20)
                ack(options=blocks.options(result))
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
