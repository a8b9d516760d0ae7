"""Run modes: Socket Mode (the default with an app token), HTTP behind a load balancer, and the console."""
from __future__ import annotations

import logging
import queue
import threading
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

    def server_activate(self) -> None:
        super().server_activate()
        self._connections: queue.SimpleQueue = queue.SimpleQueue()
        for number in range(self.workers):
            threading.Thread(target=self._work, name=f"medcode-http-{number}", daemon=True).start()

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
    """Return a threading WSGI server running the Bolt app through the real Bolt WSGI adapter."""
    handler = SlackRequestHandler(app)
    return make_server(host, port, handler, server_class=_PooledServer, handler_class=_QuietHandler)


def run_http(app: App, port: int) -> None:
    server = http_server(app, port)
    log.info("HTTP mode on port %d", port)
    server.serve_forever()


def socket_handler(app: App, app_token: str) -> SocketModeHandler:
    """Return the Socket Mode handler (connects with apps.connections.open on the app's Web API client)."""
    return SocketModeHandler(app, app_token, web_client=app.client)


def run_socket(app: App, app_token: str) -> None:
    log.info("Socket Mode")
    socket_handler(app, app_token).start()
