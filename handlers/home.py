"""App Home: what medcode does, the vintage of every loaded code system, recent releases."""
from __future__ import annotations

from datetime import date

from slack_sdk.errors import SlackApiError

from codedata.db import releases
from codedata.watches import list_watches
from codedata.windows import resolve, windows

from . import Services, blocks
from .parsing import SLACK_ID


def register(app, services: Services) -> None:
    def publish_home(event, client):
        if event.get("tab") != "home":  # app_home_opened also fires for the Messages tab: nothing to publish
            return
        user = event.get("user")
        if not isinstance(user, str) or not SLACK_ID.fullmatch(user):
            return  # a forged event: a user object or a non-Slack id is not passed on to the Web API
        db = services.db()
        rows = releases(db)
        current = [dict(r, **_window(db, r)) for r in rows if r["current"]]
        recent = sorted(rows, key=lambda r: r["imported_at"] or "", reverse=True)[:5]
        watched = [w for channel in _channels_of(client, user) for w in list_watches(services.db(), channel)]
        client.views_publish(user_id=user, view=blocks.home(current, recent, watched))

    app.event("app_home_opened")(publish_home)


def _window(db, release: dict) -> dict:
    """The dates of service a release covers, and when today falls outside every loaded release, which is
    missing (codedata.windows)."""
    spans = {w.release["id"]: w for w in windows(db, release["system"])}
    found = resolve(db, release["system"], date.today())
    return {"window": spans[release["id"]].text(), "notice": found.notice if not found.covered else None}


MAX_PAGES = 10  # 2,000 channels: more than the Home tab can list watches for


def _channels_of(client, user: str) -> list[str]:
    """Ids of the channels the user is in (users.conversations, every page by its cursor; needs channels:read
    and groups:read)."""
    channels: list[str] = []
    cursor = None
    for _ in range(MAX_PAGES):
        try:
            response = client.users_conversations(user=user, types="public_channel,private_channel", limit=200,
                                                  exclude_archived=True, **({"cursor": cursor} if cursor else {}))
        except SlackApiError:
            break
        channels += [c["id"] for c in response.get("channels") or []]
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return channels
