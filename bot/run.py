"""Run modes: Socket Mode (the default with an app token), HTTP behind a load balancer, and the console."""
from __future__ import annotations

import logging
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger("medcode.run")


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a burst of requests, or a short pause (a release switch), overflowed it
    # and the dropped connections were retried by the client's TCP a whole second later.
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass  # request lines go through the app's own (text-free) request log


def http_server(app: App, port: int, host: str = "0.0.0.0"):
    """Return a threading WSGI server running the Bolt app through the real Bolt WSGI adapter."""
    handler = SlackRequestHandler(app)
    return make_server(host, port, handler, server_class=_ThreadingServer, handler_class=_QuietHandler)


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
