"""Load benchmark: the HTTP-mode bot (a `medcode serve --http` process on loopback) under concurrent signed slash
commands and block actions, while an ICD-10-CM import runs in another process.

By default requests are offered at a fixed rate (open loop: each is sent when due, however many are still
waiting, and its latency counts from then, so a queue in the bot shows); --rate 0 makes --clients clients send
flat out, one request after another, to find the most the bot answers. The generator and the answer sink use
asyncio in two processes of their own, so they take as little as possible of the CPU the bot is measured on.
Reports throughput, p50/p99 answer latency (request due -> answer received on the response_url), ack latency,
errors, and whether any answer came from a half-imported release (each answer must name one complete release).
The bot starts on the bundled data (ICD-10-CM 2026 current); during the run the FY2021 tabular file is imported
labelled as a newer release (--effective 2027-01-01), so the current release switches under load.
Throughout, --idle connections (40 by default) are held open to the bot sending nothing, half of them after a
first partial header line (a slow client); one the bot closes is opened again at once, so that many are always
open. They must cost the real requests nothing.

Run: python bench/load.py [--seconds 60] [--rate 350 | --rate 0 --clients 8] [--idle 40] [--shared ../shared]
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
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
VINTAGES = ("ICD-10-CM 2021 tabular", "ICD-10-CM 2026 tabular")


class Sink:
    """Receives response_url posts and Web API calls in a process of its own (so the clients' work never delays
    an arrival time); records when each answer arrived and which release vintages it named. asyncio keeps its
    CPU use small: on 2 cores the load generator competes with the bot it measures."""

    def __init__(self):
        self.count = multiprocessing.Value("i", 0, lock=False)
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
        reply = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 25\r\n"
                 b"Connection: close\r\n\r\n{\"ok\": true, \"ts\": \"1.0\"}")

        async def handle(reader, writer) -> None:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
                body = await reader.readexactly(length)
                path = head.split(b" ", 2)[1].decode()
                if path.startswith("/respond/"):
                    text = body.decode()
                    arrived[path.rsplit("/", 1)[1]] = (time.perf_counter(), [v for v in VINTAGES if v in text])
                    count.value += 1
                writer.write(reply)
                await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError, AttributeError):
                pass
            finally:
                writer.close()

        async def main() -> None:
            server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
            self._ready.send(server.sockets[0].getsockname()[1])
            await asyncio.Event().wait()

        def finish(*_):
            results.send(arrived)
            os._exit(0)

        signal.signal(signal.SIGTERM, finish)
        asyncio.run(main())


def signed(port: int, body: str) -> bytes:
    """A signed POST to the bot's /slack/events, as raw HTTP (what Slack sends)."""
    timestamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    data = body.encode()
    return (f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nX-Slack-Request-Timestamp: {timestamp}\r\n"
            f"X-Slack-Signature: {signature}\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
            ).encode() + data


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
    parser.add_argument("--clients", type=int, default=8, help="with --rate 0: clients sending flat out")
    parser.add_argument("--rate", type=float, default=350.0,
                        help="requests offered per second (open loop); 0 = every client sends flat out")
    parser.add_argument("--idle", type=int, default=40,
                        help="connections held open sending nothing (half: a partial header line) during the run")
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
    _wait_for_port(port)
    sent: dict[str, tuple[float, str]] = {}
    acks, errors = [], []
    newer = args.shared / "data" / "icd10cm" / "icd10cm-tabular-2021.xml.xz"  # 2025-04 is bundled already
    import_window: list = [None, None]
    idle_reopened = [0]
    running = [True]
    begin = time.perf_counter()

    async def hold_idle(number: int) -> None:
        # An idle (or slow) client: connects, sends at most a partial header line, then waits; when the bot
        # closes it, it connects again.
        while running[0]:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                if number % 2:
                    writer.write(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                while running[0]:
                    try:
                        if not await asyncio.wait_for(reader.read(1024), timeout=0.5):
                            break  # closed by the bot
                    except asyncio.TimeoutError:
                        continue
                writer.close()
            except OSError:
                await asyncio.sleep(0.1)
            if running[0]:
                idle_reopened[0] += 1

    async def send(key: str, due: float) -> None:
        kind, name, text = random.choice(REQUESTS)
        sent_at = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(signed(port, request_body(kind, name, text, f"{sink.url}/respond/{key}")))
            status = (await asyncio.wait_for(reader.read(), timeout=10)).split(b" ", 2)[1]
            writer.close()
            ok = status == b"200"
        except (OSError, asyncio.TimeoutError, IndexError):
            ok = False
        acks.append((time.perf_counter() - sent_at) * 1000)
        sent[key] = (due, text)
        if not ok:
            errors.append(key)

    async def open_loop() -> None:
        # Request i is due at begin + i/rate and is sent then, however many are still waiting for the bot; its
        # latency counts from that moment, so a queue in the bot shows instead of slowing the clients down.
        tasks = []
        for i in itertools.count():
            due = begin + i / args.rate
            if due - begin > args.seconds:
                break
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(send(f"r{i}", due)))
        await asyncio.gather(*tasks)

    async def flat_out(number: int) -> None:
        for i in itertools.count():
            if time.perf_counter() - begin > args.seconds:
                return
            await send(f"{number}-{i}", time.perf_counter())
            while len(sent) - sink.count.value > args.clients * 4 and time.perf_counter() - begin < args.seconds:
                await asyncio.sleep(0.001)  # keep a bounded number of answers in flight

    async def start_import() -> int:
        await asyncio.sleep(min(5.0, args.seconds / 4))
        import_window[0] = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "import", "icd10cm", str(newer), "--label", "load-test",
            "--effective", "2027-01-01", env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        code = await process.wait()
        import_window[1] = time.perf_counter()
        return code

    async def drive():
        nonlocal begin
        holders = [asyncio.create_task(hold_idle(n)) for n in range(args.idle)]
        await asyncio.sleep(0.5 if args.idle else 0)  # open before the first request
        begin = time.perf_counter()
        importer = asyncio.create_task(start_import())
        if args.rate:
            await open_loop()
        else:
            await asyncio.gather(*(flat_out(n) for n in range(args.clients)))
        return importer, holders

    async def run():
        importer, holders = await drive()
        finished = time.perf_counter()
        running[0] = False
        await asyncio.gather(*holders)
        await asyncio.sleep(2.0)  # the last answers
        return finished, await asyncio.wait_for(importer, timeout=120)

    finished, import_code = asyncio.run(run())
    elapsed = finished - begin
    cpu_seconds = _cpu_seconds(server.pid)
    server.terminate()
    server.wait()
    shutil.rmtree(tmp, ignore_errors=True)
    _report(sent, sink.arrived(), acks, errors, begin, elapsed, import_code, import_window, cpu_seconds, args,
            idle_reopened[0])


def _cpu_seconds(pid: int) -> float | None:
    """CPU time the bot has used (user + system, its HTTP worker processes included), from /proc; None where
    there is no /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK") if total else None


def _calibration() -> str:
    """How fast this machine is right now: shared machines vary, and every figure above scales with it."""
    started = time.perf_counter()
    sum(range(10_000_000))
    return f"{time.perf_counter() - started:.2f} s"


def _report(sent, arrived, acks, errors, begin, elapsed, import_code, import_window, cpu_seconds, args,
            idle_reopened: int = 0) -> None:
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
    load = f"{args.rate:.0f} requests/s offered" if args.rate else \
        f"{args.clients} clients sending flat out"
    print(f"# {load} for {elapsed:.0f} s; an ICD-10-CM import ran {import_end - import_start:.1f} s of it "
          f"(exit {import_code}); {args.idle} idle connections held open ({idle_reopened} closed by the bot "
          "and opened again)")
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
