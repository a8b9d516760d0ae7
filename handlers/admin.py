"""Administrators' commands in Slack: `import` a release from its official address, `announce` a release here.

Only user ids in MEDCODE_ADMINS may run them. An import runs `medcode import` in a child process at lower CPU
priority (the bot keeps answering at full speed; a crash of the import cannot take the bot down), one at a time
(a lock file next to the database, so across every bot process), and its one-line outcome is sent to whoever
asked; change alerts follow through the outbox as for any import.
"""
from __future__ import annotations

import fcntl
import logging
import subprocess
import sys
import threading
from typing import IO, Callable
from urllib.parse import urlsplit

from codedata import watches
from codedata.importers import SYSTEMS
from codedata.importers.fetch import is_address

from . import Services, blocks

log = logging.getLogger("medcode.admin")

IMPORT_SECONDS = 3600
DEFAULT_SYSTEM = {"icd": "icd10cm", "cpt": "cpt"}
LOCKED = ":lock: {what} is for administrators (MEDCODE_ADMINS)."


def is_admin(services: Services, command: dict) -> bool:
    return command.get("user_id") in services.admins


def start_import(services: Services, kind: str, rest: str, command: dict,
                 respond: Callable[..., object]) -> list[dict]:
    """`import [system] ADDRESS`: start the import in the background and say so; the outcome is sent later."""
    if not is_admin(services, command):
        return blocks.message(LOCKED.format(what="Importing a code release"))
    words = rest.split()
    system = words[0].lower() if words and words[0].lower() in SYSTEMS else DEFAULT_SYSTEM.get(kind)
    addresses = [_unwrap(w) for w in words if is_address(_unwrap(w))]
    # a word that is neither a system nor the address ("import bogus https://…") is not guessed past
    stray = [w for w in words if not is_address(_unwrap(w)) and w.lower() not in SYSTEMS]
    credentials = any("@" in urlsplit(a).netloc for a in addresses)
    if credentials:
        return blocks.message("An address with a user name or password is refused (it would be repeated here): "
                              "official release files are public.")
    if len(addresses) != 1 or system is None or stray:
        return blocks.message(
            f"Say which release to import: `/{kind} import [{'|'.join(SYSTEMS)}] https://…` with the address of "
            "the official file (for example the CMS ICD-10-CM or HCPCS zip).")
    running = _claim_import(services)
    if running is None:
        return blocks.message(":hourglass: An import is already running; try again when it has finished.")
    address = addresses[0]
    log.info("import of %s started by user=%s", system, command.get("user_id"))
    threading.Thread(target=_run_import, args=(services, system, address, respond, running), daemon=True,
                     name="medcode-import").start()
    return blocks.message(f":inbox_tray: Importing {system} from `{blocks.escape(address)}`. I'll reply here when "
                          "it is done; channels watching changed codes get their alerts as usual.")


def _claim_import(services: Services) -> IO | None:
    """Hold the import lock file next to the database (every bot process sees it), or None when taken."""
    handle = open(f"{services.db_path}.import-lock", "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _run_import(services: Services, system: str, address: str, respond: Callable[..., object], lock: IO) -> None:
    try:
        done = subprocess.run([sys.executable, "-m", "bot", "--db", str(services.db_path), "import", system, address],
                              capture_output=True, text=True, timeout=IMPORT_SECONDS)
        lines = (done.stdout if done.returncode == 0 else done.stderr).strip().splitlines()
        outcome = lines[-1].removeprefix("medcode: ") if lines else f"the import exited with {done.returncode}"
        ok = done.returncode == 0
    except subprocess.TimeoutExpired:
        ok, outcome = False, f"the import took longer than {IMPORT_SECONDS // 60} minutes and was stopped"
    finally:
        lock.close()  # closing the file releases the lock
    log.info("import of %s %s", system, "finished" if ok else "failed")
    text = (f":white_check_mark: {blocks.escape(outcome)}" if ok else
            f":warning: Import failed: {blocks.escape(outcome)}\nThe previous release is still current.")
    reply = blocks.message(text)
    respond(response_type="ephemeral", blocks=reply, text=blocks.fallback_text(reply))


def announce(services: Services, kind: str, rest: str, command: dict) -> list[dict]:
    """`announce [system]`: post the current release's summary in this channel (once per channel and release)."""
    if not is_admin(services, command):
        return blocks.message(LOCKED.format(what="Announcing a release"))
    system = rest.split()[0].lower() if rest.split() else DEFAULT_SYSTEM.get(kind, "")
    if system not in SYSTEMS:
        return blocks.message(f"Say which code system to announce: `/{kind} announce [{'|'.join(SYSTEMS)}]`.")
    queued = watches.queue_announcement(services.db(), command.get("channel_id", ""), system)
    if queued is None:
        return blocks.message(f"No {system} release is imported yet.")
    release, new = queued
    label = blocks.escape(release["label"])
    if not new:
        return blocks.message(f"{system} release {label} was already announced in this channel.")
    return blocks.message(f":mega: medcode will post the summary of {system} release {label} in this channel "
                          "within a minute.")


def _unwrap(word: str) -> str:
    """Slack may send a link as <https://…> or <https://…|label>."""
    return word.strip("<>").split("|", 1)[0]
