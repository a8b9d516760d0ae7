"""Alert delivery: post each outbox row as one summary message per channel, details in its thread.

A row moves pending -> summary_posted (the summary's ts is stored the moment Slack accepts it) -> delivered
(after the thread is posted). A restart resumes from the stored state, so nothing is posted twice, and a row
is marked delivered only after Slack accepted it. 429 (Retry-After), 5xx and dropped connections are retried
by slack_sdk's retry handlers with backoff; a row that still fails stays pending for the next pass.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from urllib.error import URLError

import sqlite_utils
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

from codedata.watches import alert_content, mark, pending
from handlers import blocks

log = logging.getLogger("medcode.alerts")


def alert_client(token: str, base_url: str | None, retries: int = 4, backoff: float = 0.5) -> WebClient:
    """A Web API client that retries rate limits (honouring Retry-After), server errors and dropped connections."""
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff)
    return WebClient(token=token, base_url=base_url or WebClient.BASE_URL, timeout=15, retry_handlers=[
        RateLimitErrorRetryHandler(max_retry_count=retries),
        ServerErrorRetryHandler(max_retry_count=retries, interval_calculator=interval),
        ConnectionErrorRetryHandler(max_retry_count=retries, interval_calculator=interval),
    ])


def deliver_pending(db: sqlite_utils.Database, client: WebClient) -> dict:
    """Deliver every pending outbox row once; return counts of delivered and failed rows."""
    delivered = failed = 0
    for row in pending(db):
        try:
            _deliver(db, client, row)
            delivered += 1
        except (SlackApiError, URLError, OSError) as exc:
            failed += 1
            mark(db, row["id"], attempts=row["attempts"] + 1, last_error=type(exc).__name__)
            log.warning("alert %s to %s not delivered yet: %s", row["id"], row["channel"], type(exc).__name__)
    return {"delivered": delivered, "failed": failed}


def _deliver(db: sqlite_utils.Database, client: WebClient, row: dict) -> None:
    content = alert_content(db, row)
    release, previous, changes = content["release"], content["previous"], content["changes"]
    summary_ts = row["summary_ts"]
    if row["status"] == "pending":
        summary = blocks.alert_summary(release, previous, changes, content["total"])
        response = client.chat_postMessage(channel=row["channel"], blocks=summary, text=blocks.fallback_text(summary))
        summary_ts = response["ts"]
        mark(db, row["id"], status="summary_posted", summary_ts=summary_ts, attempts=row["attempts"] + 1)
    if changes:
        details = blocks.alert_details(changes, release, previous)
        client.chat_postMessage(channel=row["channel"], thread_ts=summary_ts, blocks=details,
                                text=blocks.fallback_text(details))
    mark(db, row["id"], status="delivered", delivered_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    log.info("alert %s delivered to %s (%d changes)", row["id"], row["channel"], len(changes))


def start_worker(db_factory, client: WebClient, interval: float = 30.0, lock_path=None) -> threading.Event:
    """Deliver pending alerts every `interval` seconds in a daemon thread (inside `medcode serve`).

    With `lock_path` (several HTTP worker processes each start one), a pass runs only in the process holding
    an exclusive lock on that file, so one process delivers; if it exits, the lock is released and another
    process's worker takes over at its next pass.
    """
    stop = threading.Event()
    held = []

    def may_deliver() -> bool:
        if lock_path is None or held:
            return True
        import fcntl

        handle = open(lock_path, "a")  # noqa: SIM115 - kept open (and locked) for the life of the process
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        held.append(handle)
        return True

    def loop():
        db = None
        while not stop.is_set():
            try:
                if may_deliver():
                    db = db or db_factory()
                    deliver_pending(db, client)
            except Exception as exc:  # keep the worker alive; the row stays pending
                log.error("alert worker pass failed: %s", type(exc).__name__)
            stop.wait(interval)

    threading.Thread(target=loop, name="medcode-alerts", daemon=True).start()
    return stop
