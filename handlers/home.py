"""App Home: what medcode does, the vintage of every loaded code system, recent releases."""
from __future__ import annotations

from codedata.db import releases

from . import Services, blocks


def register(app, services: Services) -> None:
    def publish_home(event, client):
        rows = releases(services.db())
        current = [r for r in rows if r["current"]]
        recent = sorted(rows, key=lambda r: r["imported_at"] or "", reverse=True)[:5]
        client.views_publish(user_id=event["user"], view=blocks.home(current, recent))

    app.event("app_home_opened")(publish_home)
