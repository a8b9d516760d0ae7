"""Load benchmark: the HTTP-mode bot (a `medcode serve --http` process on loopback) under several concurrent
clients sending signed slash commands and block actions, while an ICD-10-CM import runs in another process.

By default the clients offer a fixed rate (open loop: latency counts from when each request was due, so a queue
in the server shows); --rate 0 makes every client send flat out to find the most the bot answers.
Reports throughput, p50/p99 answer latency (request due -> answer received on the response_url), ack latency,
errors, and whether any answer came from a half-imported release (each answer must name one complete release).
The bot starts on the bundled data (ICD-10-CM 2026 current); during the run the 2025 tabular file is imported
labelled as a newer release (--effective 2027-01-01), so the current release switches under load.

Run: python bench/load.py [--seconds 60] [--rate 350] [--clients 16] [--shared ../shared]
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import multiprocessing
import os
import random
import shutil
import signal
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
    """Receives response_url posts and Web API calls in a process of its own (so the clients' work never delays
    an arrival time); records when each answer arrived and which release vintages it named."""

    def __init__(self):
        self.count = multiprocessing.Value("i", 0)
        self.results, child = multiprocessing.Pipe(duplex=False)
        ready, self._ready = multiprocessing.Pipe(duplex=False)
        self.process = multiprocessing.Process(target=self._serve, args=(child,), daemon=True)
        self.process.start()
        self.url = f"http://127.0.0.1:{ready.recv()}"

    def arrived(self) -> dict[str, tuple[float, list[str]]]:
        """Stop the sink and return key -> (arrival time, vintages named in the answer)."""
        self.process.terminate()
        return self.results.recv()

    def _serve(self, results) -> None:
        arrived: dict[str, tuple[float, list[str]]] = {}
        count = self.count

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if self.path.startswith("/respond/"):
                    arrived[self.path.rsplit("/", 1)[1]] = (time.perf_counter(), [v for v in VINTAGES if v in raw])
                    with count.get_lock():
                        count.value += 1
                payload = b'{"ok": true, "ts": "1.0"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        def finish(*_):
            results.send(arrived)
            os._exit(0)

        signal.signal(signal.SIGTERM, finish)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._ready.send(server.server_port)
        server.serve_forever()


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
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=350.0,
                        help="requests offered per second (open loop); 0 = every client sends flat out")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--dump", type=Path, help="also write every request (due s, latency ms, text) as TSV")
    parser.add_argument("--server-log", type=Path, help="keep the bot's own log (request kinds and times) here")
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
    server_log = args.server_log.open("w") if args.server_log else subprocess.DEVNULL
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--http"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=server_log)
    url = f"http://127.0.0.1:{port}/slack/events"
    _wait_for_port(port)
    sent: dict[str, tuple[float, str]] = {}
    acks, errors, lock, stop = [], [], threading.Lock(), threading.Event()

    tickets = itertools.count()
    begin = time.perf_counter()

    def client(number: int) -> None:
        count = 0
        while not stop.is_set():
            kind, name, text = random.choice(REQUESTS)
            key = f"{number}-{count}"
            count += 1
            if args.rate:
                # Open loop: request i is due at begin + i/rate whoever sends it; a late send still counts from its
                # due time, so a slow server cannot hide its queue by slowing the clients down.
                due = begin + next(tickets) / args.rate
                if due - begin > args.seconds:
                    return
                time.sleep(max(0.0, due - time.perf_counter()))
            sent_at = time.perf_counter()
            due = due if args.rate else sent_at
            try:
                with urllib.request.urlopen(signed(url, request_body(kind, name, text, f"{sink.url}/respond/{key}")),
                                            timeout=10) as response:
                    ok = response.status == 200
            except (urllib.error.URLError, OSError):
                ok = False
            with lock:
                acks.append((time.perf_counter() - sent_at) * 1000)
                sent[key] = (due, text)
                if not ok:
                    errors.append(key)
            while not args.rate and len(sent) - sink.count.value > args.clients * 4 and not stop.is_set():
                time.sleep(0.001)  # flat out: keep a bounded number of answers in flight

    importer = None
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    started = begin
    for thread in threads:
        thread.start()
    time.sleep(min(5.0, args.seconds / 4))
    newer = args.shared / "data" / "icd10cm" / "icd10cm-tabular-2025-04.xml.xz"
    import_window = [time.perf_counter(), None]
    importer = subprocess.Popen([sys.executable, "-m", "bot", "import", "icd10cm", str(newer), "--label", "load-test",
                                 "--effective", "2027-01-01"],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def watch_import() -> None:
        importer.wait()
        import_window[1] = time.perf_counter()

    threading.Thread(target=watch_import, daemon=True).start()
    time.sleep(max(0.0, args.seconds - (time.perf_counter() - started)))
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    time.sleep(2.0)  # the last answers
    import_code = importer.wait(timeout=120)
    cpu_seconds = _cpu_seconds(server.pid)
    server.terminate()
    server.wait()
    shutil.rmtree(tmp, ignore_errors=True)
    _report(sent, sink.arrived(), acks, errors, begin, elapsed, import_code, import_window, cpu_seconds, args)


def _cpu_seconds(pid: int) -> float | None:
    """CPU time the bot process has used (user + system), from /proc; None where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _calibration() -> str:
    """How fast this machine is right now: shared machines vary, and every figure above scales with it."""
    started = time.perf_counter()
    sum(range(10_000_000))
    return f"{time.perf_counter() - started:.2f} s"


def _report(sent, arrived, acks, errors, begin, elapsed, import_code, import_window, cpu_seconds, args) -> None:
    latencies, half, lookups, during, vintages = [], 0, [], [], set()
    import_start, import_end = import_window[0], import_window[1] or float("inf")
    for key, (started, text) in sent.items():
        if key not in arrived:
            errors.append(key)
            continue
        answered, seen = arrived[key]
        latencies.append((answered - started) * 1000)
        if text in ("E11.9", "S72.001A"):
            lookups.append((answered - started) * 1000)
            if import_start <= started <= import_end:
                during.append((answered - started) * 1000)
            vintages.update(seen)
            half += len(seen) != 1
    if args.dump:
        with args.dump.open("w") as out:
            out.write(f"# import from {import_start - begin:.3f} s to {import_end - begin:.3f} s\n")
            for key, (due, text) in sorted(sent.items(), key=lambda item: item[1][0]):
                latency = (arrived[key][0] - due) * 1000 if key in arrived else float("nan")
                out.write(f"{due - begin:.4f}\t{latency:.2f}\t{text}\n")
    p = lambda values, q: sorted(values)[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] if values else 0
    load = f"{args.rate:.0f} requests/s offered by {args.clients} clients" if args.rate else \
        f"{args.clients} clients sending flat out"
    print(f"# {load} for {elapsed:.0f} s; an ICD-10-CM import ran {import_end - import_start:.1f} s of it "
          f"(exit {import_code})")
    print(f"{'measure':<52} value")
    print(f"{'answered requests / s':<52} {len(latencies) / elapsed:.0f}")
    print(f"{'answer latency p50 / p99 (ms), all requests':<52} {statistics.median(latencies):.1f} / {p(latencies, 99):.1f}")
    print(f"{'answer latency p50 / p99 (ms), code lookups':<52} {statistics.median(lookups):.1f} / {p(lookups, 99):.1f}")
    print(f"{'  the same, only while the import ran (n=' + str(len(during)) + ')':<52} "
          f"{statistics.median(during) if during else 0:.1f} / {p(during, 99):.1f}")
    print(f"{'ack latency p50 / p99 (ms)':<52} {statistics.median(acks):.1f} / {p(acks, 99):.1f}")
    print(f"{'errors (non-200 or no answer)':<52} {len(errors)}")
    seen = ", ".join(sorted(vintages))
    print(f"{'answers from a half release (not exactly one vintage)':<52} {half} (vintages seen: {seen})")
    if cpu_seconds is not None:
        print(f"{'bot CPU per answered request (ms, incl. start-up)':<52} {cpu_seconds * 1000 / len(latencies):.2f}")
    print(f"{'machine speed: sum(range(10**7)) in Python':<52} {_calibration()}")


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
