"""Load benchmark: the HTTP-mode bot (a `medcode serve --http` process on loopback) under several concurrent
clients sending signed slash commands and block actions, while an ICD-10-CM import runs in another process.

Reports throughput, p50/p99 answer latency (request sent -> answer received on the response_url), ack latency,
errors, and whether any answer came from a half-imported release (each answer must name one complete release).
The bot starts on the bundled data (ICD-10-CM 2026 current); during the run the 2025 tabular file is imported
labelled as a newer release (--effective 2027-01-01), so the current release switches under load.

Run: python bench/load.py [--seconds 60] [--clients 8] [--shared ../shared]
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codedata.db import open_db  # noqa: E402
from codedata.defaults import ensure_defaults  # noqa: E402

SECRET = "bench-signing-secret"
REQUESTS = [("command", "/icd", "E11.9"), ("command", "/icd", "S72.001A"), ("command", "/cpt", "99213"),
            ("command", "/icd", "rt knee pain"), ("command", "/cpt", "J1745"), ("action", "more_results", "knee pain"),
            ("command", "/pair", "E11.9 99213 83036")]
VINTAGES = ("ICD-10-CM 2025 tabular", "ICD-10-CM 2026 tabular")


class Sink:
    """Receives response_url posts and Web API calls; records when each answer arrived."""

    def __init__(self):
        self.arrived: dict[str, tuple[float, str]] = {}
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if self.path.startswith("/respond/"):
                    sink.arrived[self.path.rsplit("/", 1)[1]] = (time.perf_counter(), raw)
                payload = b'{"ok": true, "ts": "1.0"}'
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


def signed(url: str, body: str) -> urllib.request.Request:
    timestamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature})


def request_body(kind: str, name: str, text: str, response_url: str) -> str:
    if kind == "command":
        return urlencode({"command": name, "text": text, "team_id": "T1", "user_id": "U1", "channel_id": "C1",
                          "trigger_id": "t", "response_url": response_url})
    payload = {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"}, "channel": {"id": "C1"},
               "trigger_id": "t", "response_url": response_url,
               "actions": [{"action_id": name, "type": "button", "value": json.dumps({"k": "icd", "t": text, "o": 10})}]}
    return urlencode({"payload": json.dumps(payload)})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    db_path = Path(tmp) / "load.db"
    db = open_db(db_path)
    ensure_defaults(db)
    db.conn.close()
    sink, port = Sink(), free_port()
    env = {**os.environ, "MEDCODE_DB": str(db_path), "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
           "MEDCODE_SLACK_API_URL": sink.url + "/api/", "PORT": str(port)}
    env.pop("SLACK_APP_TOKEN", None)
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--http"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/slack/events"
    _wait_for_port(port)
    sent: dict[str, tuple[float, str]] = {}
    acks, errors, lock, stop = [], [], threading.Lock(), threading.Event()

    def client(number: int) -> None:
        count = 0
        while not stop.is_set():
            kind, name, text = random.choice(REQUESTS)
            key = f"{number}-{count}"
            count += 1
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(signed(url, request_body(kind, name, text, f"{sink.url}/respond/{key}")),
                                            timeout=10) as response:
                    ok = response.status == 200
            except (urllib.error.URLError, OSError):
                ok = False
            with lock:
                acks.append((time.perf_counter() - started) * 1000)
                sent[key] = (started, text)
                if not ok:
                    errors.append(key)
            while len(sent) - len(sink.arrived) > args.clients * 4 and not stop.is_set():
                time.sleep(0.001)  # keep a bounded number of answers in flight

    importer = None
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(min(5.0, args.seconds / 4))
    newer = args.shared / "data" / "icd10cm" / "icd10cm-tabular-2025-04.xml.xz"
    importer = subprocess.Popen([sys.executable, "-m", "bot", "import", "icd10cm", str(newer), "--label", "load-test",
                                 "--effective", "2027-01-01"],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(max(0.0, args.seconds - (time.perf_counter() - started)))
    stop.set()
    for thread in threads:
        thread.join()
    time.sleep(2.0)
    elapsed = time.perf_counter() - started
    import_code = importer.wait(timeout=120)
    server.terminate()
    server.wait()
    _report(sent, sink, acks, errors, elapsed, import_code, args)


def _report(sent, sink, acks, errors, elapsed, import_code, args) -> None:
    latencies, half, lookups, vintages = [], 0, [], set()
    for key, (started, text) in sent.items():
        if key not in sink.arrived:
            errors.append(key)
            continue
        arrived, body = sink.arrived[key]
        latencies.append((arrived - started) * 1000)
        if text in ("E11.9", "S72.001A"):
            lookups.append((arrived - started) * 1000)
            seen = [v for v in VINTAGES if v in body]
            vintages.update(seen)
            half += len(seen) != 1
    p = lambda values, q: sorted(values)[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] if values else 0
    print(f"# {args.clients} clients for {elapsed:.0f} s, ICD-10-CM import during the run (exit {import_code})")
    print(f"{'measure':<52} value")
    print(f"{'answered requests / s':<52} {len(latencies) / elapsed:.0f}")
    print(f"{'answer latency p50 / p99 (ms), all requests':<52} {statistics.median(latencies):.1f} / {p(latencies, 99):.1f}")
    print(f"{'answer latency p50 / p99 (ms), code lookups':<52} {statistics.median(lookups):.1f} / {p(lookups, 99):.1f}")
    print(f"{'ack latency p50 / p99 (ms)':<52} {statistics.median(acks):.1f} / {p(acks, 99):.1f}")
    print(f"{'errors (non-200 or no answer)':<52} {len(errors)}")
    seen = ", ".join(sorted(vintages))
    print(f"{'answers from a half release (not exactly one vintage)':<52} {half} (vintages seen: {seen})")


def _wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the bot did not start")


if __name__ == "__main__":
    main()
