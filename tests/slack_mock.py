"""A loopback mock of the Slack Web API and of response_url endpoints: records every call it receives."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class SlackMock:
    def __init__(self, socket_url: str | None = None):
        self.calls: list[tuple[str, dict]] = []
        self.failures: list[tuple[str, str, dict]] = []  # (path part, Slack error code, body fields to match)
        self.socket_url = socket_url
        self.lock = threading.Lock()
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                    for key in ("blocks", "view"):
                        if isinstance(body.get(key), str):
                            body[key] = json.loads(body[key])
                with mock.lock:
                    mock.calls.append((self.path, body))
                reply = {"ok": True, "ts": "1700000000.000100", "channel": body.get("channel", "C1")}
                if self.path.endswith("apps.connections.open"):
                    reply["url"] = mock.socket_url
                if self.path.endswith("users.conversations"):  # two pages, as Slack pages with a cursor
                    if body.get("cursor") == "page-2":
                        reply["channels"] = [{"id": "C_HOME_2"}]
                        reply["response_metadata"] = {"next_cursor": ""}
                    else:
                        reply["channels"] = [{"id": "C_HOME"}]
                        reply["response_metadata"] = {"next_cursor": "page-2"}
                for part, error, fields in mock.failures:
                    if part in self.path and all(body.get(k) == v for k, v in fields.items()):
                        reply = {"ok": False, "error": error}
                payload = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fail(self, path_part: str, error: str, **fields) -> None:
        """Answer calls whose path contains `path_part` (and whose body has `fields`) with a Slack error."""
        self.failures.append((path_part, error, fields))

    def wait_for(self, path_part: str, count: int = 1, timeout: float = 10.0, **fields) -> list[dict]:
        """Return the bodies of calls whose path contains `path_part` (and whose body has `fields`),
        waiting until `count` of them arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [body for path, body in self.calls if path_part in path
                         and all(body.get(k) == v for k, v in fields.items())]
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"no {path_part} call within {timeout} s; got {[p for p, _ in self.calls]}")

    def close(self):
        self.server.shutdown()


def all_text(blocks) -> str:
    """Every text string inside a list of blocks (for asserting what a user would read)."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    out.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(blocks)
    return "\n".join(out)
