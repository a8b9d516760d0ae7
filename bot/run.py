"""Run modes: Socket Mode (the default with an app token), HTTP behind a load balancer, and the console."""
from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import threading
from typing import Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger("medcode.run")


class _PooledServer(WSGIServer):
    """A WSGI server whose connections are handled by a fixed pool of threads.

    A thread per connection (socketserver's ThreadingMixIn) let a burst of slow-to-answer requests start hundreds
    of threads that then fought over the GIL until nothing was answered; with a pool, extra connections wait in
    a queue, each costing nothing until a worker is free.
    """

    # socketserver's default backlog is 5: a burst of requests, or a short pause (a release switch), overflowed it
    # and the dropped connections were retried by the client's TCP a whole second later.
    request_queue_size = 128
    workers = 16

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        # Threads start here, not when the socket opens: a process forked to serve the same socket needs its own.
        self._connections: queue.SimpleQueue = queue.SimpleQueue()
        for number in range(self.workers):
            threading.Thread(target=self._work, name=f"medcode-http-{number}", daemon=True).start()
        super().serve_forever(poll_interval)

    def process_request(self, request, client_address) -> None:
        self._connections.put((request, client_address))

    def _work(self) -> None:
        while True:
            request, client_address = self._connections.get()
            try:
                self.finish_request(request, client_address)
            except Exception:  # noqa: BLE001 - socketserver's own policy: report, close, keep serving
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass  # request lines go through the app's own (text-free) request log


def http_server(app: App, port: int, host: str = "0.0.0.0"):
    """Return a WSGI server (a pool of threads) running the Bolt app through the real Bolt WSGI adapter."""
    handler = SlackRequestHandler(app)
    return make_server(host, port, handler, server_class=_PooledServer, handler_class=_QuietHandler)


def run_http(app: App, port: int, processes: int = 1, after_fork: Callable[[], None] | None = None) -> None:
    """Serve HTTP on `port`; with processes > 1, forked copies of this process accept on the same socket.

    Python runs one thread at a time per process, so one process answers with at most one core; the copies
    share the listening socket, the database (SQLite serialises the few writes: watches, announcements) and the
    replay store (create_app's replay_store). `after_fork` runs in this first process only, once the copies
    exist (the alert worker: one process delivers alerts, and no thread is running while the process forks).
    """
    server = http_server(app, port)
    children = []
    for _ in range(processes - 1):
        pid = os.fork()
        if pid == 0:  # a copy: serve until the first process stops us
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            server.serve_forever()
            os._exit(0)
        children.append(pid)

    def stop(*_):
        raise SystemExit(0)  # the copies are stopped below

    signal.signal(signal.SIGTERM, stop)
    if after_fork is not None:
        after_fork()
    log.info("HTTP mode on port %d, %d process(es)", port, processes)
    try:
        server.serve_forever()
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def socket_handler(app: App, app_token: str) -> SocketModeHandler:
    """Return the Socket Mode handler (connects with apps.connections.open on the app's Web API client)."""
    return SocketModeHandler(app, app_token, web_client=app.client)


def run_socket(app: App, app_token: str) -> None:
    log.info("Socket Mode")
    socket_handler(app, app_token).start()
