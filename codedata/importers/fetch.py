"""Download an official release file named by an http(s) address (CMS and CDC publish them that way), keeping
the publisher's file name: the importers read release dates from it."""
from __future__ import annotations

import http.client
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..errors import BadInput, BadReleaseFile

MAX_BYTES = 2 * 1024 ** 3  # the largest official files (NCCI PTP zips) are a few hundred MB
CHUNK = 1 << 20


def is_address(text: str) -> bool:
    return text.strip().lower().startswith(("http://", "https://"))


def fetch(address: str, folder: Path, max_bytes: int = MAX_BYTES, timeout: float = 60.0) -> Path:
    """Save the file at `address` in `folder` and return its path; one-line errors, nothing kept on failure."""
    parsed = urlparse(address.strip())
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
        raise BadInput("give the http(s) address of an official release file, e.g. "
                       "https://www.cms.gov/files/zip/2026-code-descriptions-tabular-order.zip")
    if parsed.username is not None or parsed.password is not None:
        # "https://user:pw@host/..." would be repeated in replies and logs: official files need no credentials
        raise BadInput("an address with a user name or password is refused: official release files are public")
    request = urllib.request.Request(address.strip(), headers={"User-Agent": "medcode"})
    target = None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            name = _safe_name(response.headers.get_filename() or Path(unquote(parsed.path)).name)
            target = Path(folder) / name
            size = 0
            with target.open("wb") as out:
                while chunk := response.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise BadReleaseFile(f"{name} is larger than {max_bytes // 1024 ** 2:,} MB; "
                                             "that is not an official release file")
                    out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise BadInput(f"could not download {parsed.netloc}{parsed.path}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        if target is not None:
            target.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise BadInput(f"could not download {parsed.netloc}{parsed.path}: {reason}") from exc
    except BadReleaseFile:
        target.unlink(missing_ok=True)
        raise
    return target


def _safe_name(name: str) -> str:
    """A plain file name (no folders, no odd characters), or a neutral one."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return cleaned[:200] or "release-file"
