"""Slack Web API errors as one line the user can act on (instead of silence)."""
from __future__ import annotations

# https://docs.slack.dev/reference/methods (each method's "Errors" table): the errors a medcode user can cause
# or fix.
WHAT_TO_DO = {
    "not_in_channel": "medcode isn't in this conversation: invite it with `/invite @medcode`, then try again.",
    "channel_not_found": "medcode can't see this conversation: invite it with `/invite @medcode` (or ask in a "
                         "channel it is in), then try again.",
    "is_archived": "This channel is archived, so medcode can't post in it.",
    "expired_trigger_id": "Slack gave up waiting for the form to open: run the command again.",
    "invalid_trigger_id": "Slack gave up waiting for the form to open: run the command again.",
    "exchanged_trigger_id": "That form was already opened once: run the command again.",
    "restricted_action": "A workspace setting stops medcode posting here: ask a Slack admin, or use medcode in a "
                         "direct message.",
    "cant_dm_bot": "medcode can't send you direct messages here: open medcode's Messages tab once, then retry.",
    "messages_tab_disabled": "medcode's Messages tab is turned off, so the copy of your result could not be sent.",
    "ratelimited": "Slack is rate-limiting medcode just now: try again in a minute.",
    "missing_scope": "medcode's Slack app is missing a permission: ask whoever installed it to reinstall it from "
                     "`medcode manifest`.",
    "not_authed": "medcode's Slack token is not set up: ask whoever runs medcode to check SLACK_BOT_TOKEN.",
    "invalid_auth": "medcode's Slack token is not valid any more: ask whoever runs medcode to replace it.",
    "account_inactive": "medcode's Slack token is not valid any more: ask whoever runs medcode to replace it.",
    "token_revoked": "medcode's Slack token is not valid any more: ask whoever runs medcode to replace it.",
}


def what_to_do(error_code: str | None) -> str:
    """One line for a Slack Web API error code."""
    return WHAT_TO_DO.get(error_code or "", f"Slack refused that (`{error_code or 'unknown error'}`): try again; "
                                            "if it keeps happening, tell whoever runs medcode.")
