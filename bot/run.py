"""Run modes: Socket Mode (the default with an app token), HTTP mode served by gunicorn, and the console.

HTTP mode runs gunicorn (the WSGI server the Bolt docs name for production) with its `gthread` worker class:
one worker process per core (Python runs one thread at a time per process), each with a pool of threads.
gunicorn's master process binds the port, starts the workers, restarts one that dies or hangs (`timeout`),
and on SIGTERM stops them gracefully; a worker whose master disappears (even by SIGKILL) notices within a
second that its parent changed and exits, so no copy is left serving. In a gthread worker a connection that
sends nothing waits in the worker's poller, not in a thread (medcode's worker class makes that so from the
first byte), so idle connections cannot starve the pool; it also puts a read timeout on every connection, so
a client that stops halfway through a request frees its thread after READ_TIMEOUT seconds.

The choice, measured with bench/load.py (README, Load): the hand-written pre-fork server (16 threads per
process, no read timeout) answered nothing more once 40 idle connections were open; gunicorn gthread, with the
worker below, answers with 40 idle and stalled connections open as fast as the old server did with none. uvicorn would need an ASGI adapter and Bolt's async app; waitress is a single process (one
core); gevent workers would make every thread-local database connection shared by all greenlets of a process.
"""
from __future__ import annotations

import functools
import logging
import os
import selectors
import socket
import socketserver
import time
from typing import Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler

from .edge import MAX_BODY, RequestGuard

log = logging.getLogger("medcode.run")

READ_TIMEOUT = 5.0  # seconds a connection may wait for its first or next bytes of a request before it is closed
KEEPALIVE = 75  # seconds an idle kept-alive connection stays open: longer than a load balancer's (AWS ALB: 60)
THREADS = 32  # per worker process: threads wait on the network and on Bolt's acknowledgement, not the CPU


def wsgi_app(app: App):
    """The WSGI application for HTTP mode: the size cap, signature and body checks, then Bolt's WSGI adapter."""
    return RequestGuard(SlackRequestHandler(app), app.signing_secret)


class _ThreadedServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass  # request lines go through the app's own (text-free) request log


def http_server(app: App, port: int, host: str = "127.0.0.1"):
    """A single-process development server on the same WSGI stack (tests run it in a thread); production HTTP
    mode is run_http."""
    return make_server(host, port, wsgi_app(app), server_class=_ThreadedServer, handler_class=_QuietHandler)


def gunicorn_worker_class():
    """gunicorn's gthread worker whose connections time out while a request is being read (READ_TIMEOUT)."""
    from gunicorn.workers import gthread

    class TimedConn(gthread.TConn):
        def init(self):
            super().init()
            # Called before every request is parsed, after the worker made the socket blocking: a read that
            # waits longer than READ_TIMEOUT raises, and the connection is closed.
            self.sock.settimeout(READ_TIMEOUT)

        def close(self, graceful=False):
            if not graceful:
                return super().close()
            # gunicorn's graceful close sends FIN, then lingers (up to 2 s) until the client closes its side,
            # on the worker's event loop: every answered request held the loop for the client's round trip, and
            # a stalled client held it 2 s. Here FIN goes at once (the client sees the end of the answer now)
            # and the lingering drain runs on a closing thread.
            sock = self.sock
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                sock.close()
                return
            _closer().submit(_drain_and_close, sock)

    class MedcodeWorker(gthread.ThreadWorker):
        def accept(self, listener):
            """A new connection whose request has not arrived yet waits in the poller until its first bytes
            do (gthread would give it a thread for up to 5 s first: 40 idle connections then held every
            thread), and is closed if nothing comes for READ_TIMEOUT seconds; one whose bytes are already
            there (most: Slack sends its request with the connection) goes straight to a thread."""
            try:
                client_sock, client_addr = listener.accept()
            except OSError:
                return  # another worker took it, or the client went away
            self.nr_conns += 1
            conn = TimedConn(self.cfg, client_sock, client_addr, listener.getsockname())  # non-blocking now
            try:
                waiting = bool(client_sock.recv(1, socket.MSG_PEEK))
            except BlockingIOError:
                waiting = False
            except OSError:
                waiting = True  # reset already: a thread reads the error and closes it
            if waiting:
                conn.data_ready = True
                self.enqueue_req(conn)
                return
            conn.timeout = time.monotonic() + READ_TIMEOUT
            self.pending_conns.append(conn)
            self.poller.register(client_sock, selectors.EVENT_READ,
                                 functools.partial(self.on_pending_socket_readable, conn))

    return MedcodeWorker


_closers = []


def _closer():
    """A small pool of threads for lingering closes, made in the worker process that uses it."""
    if not _closers:
        from concurrent.futures import ThreadPoolExecutor

        _closers.append(ThreadPoolExecutor(max_workers=16, thread_name_prefix="medcode-close"))
    return _closers[0]


def _drain_and_close(sock, linger: float = 1.0, most: int = 65536) -> None:
    """Read what the client still sends (so the kernel does not answer it with a reset) until it closes, for
    at most `linger` seconds, then close."""
    try:
        deadline, drained = time.monotonic() + linger, 0
        while drained < most:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            data = sock.recv(4096)
            if not data:
                break
            drained += len(data)
    except OSError:
        pass
    finally:
        sock.close()


class _TimeoutsQuiet(logging.Filter):
    """A read that timed out is a slow client going away, not an error with a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], TimeoutError))


def gunicorn_options(port: int, processes: int, host: str = "0.0.0.0") -> dict:
    return {
        "bind": f"{host}:{port}",
        "workers": processes,
        "threads": THREADS,
        "keepalive": KEEPALIVE,
        "timeout": 30,  # a worker that does not report for 30 s is killed and replaced
        "graceful_timeout": 20,  # SIGTERM: in-flight requests and answers get this long
        "backlog": 1024,
        "limit_request_line": 4094,
        "limit_request_fields": 50,
        "limit_request_field_size": 8190,
        "accesslog": None,  # request lines go through the app's own (text-free) request log
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "medcode",
        "control_socket_disable": True,  # gunicorn's admin socket (~/.gunicorn/gunicorn.ctl): not used
        # The workers' heartbeat files: on tmpfs where there is one (gunicorn's advice; a disk-backed /tmp can
        # block a heartbeat, and the master then kills a healthy worker).
        **({"worker_tmp_dir": "/dev/shm"} if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else {}),
        "forwarded_allow_ips": "127.0.0.1,::1",
    }


def run_http(app: App, port: int, processes: int = 1, after_fork: Callable[[], None] | None = None,
             host: str = "0.0.0.0") -> None:
    """Serve HTTP mode with gunicorn on `port` with `processes` worker processes.

    The app is built in this process before the workers are forked (no thread runs then, and no database or
    replay-store connection is open: each worker opens its own). `after_fork` runs in every worker once it is
    ready (the alert worker, which takes a lock so only one process delivers).
    """
    from gunicorn.app.base import BaseApplication

    application = wsgi_app(app)
    options = gunicorn_options(port, processes, host)
    worker_class = gunicorn_worker_class()

    def post_worker_init(worker) -> None:
        logging.getLogger("gunicorn.error").addFilter(_TimeoutsQuiet())
        if after_fork is not None:
            after_fork()

    def worker_exit(server, worker) -> None:
        # Answers are sent after the acknowledgement, from Bolt's listener threads: let them finish.
        app.listener_runner.listener_executor.shutdown(wait=True)

    class Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)
            self.cfg.set("worker_class", worker_class)
            self.cfg.set("post_worker_init", post_worker_init)
            self.cfg.set("worker_exit", worker_exit)

        def load(self):
            return application

    log.info("HTTP mode on port %d: gunicorn, %d worker process(es) x %d threads, body cap %d KiB", port,
             processes, THREADS, MAX_BODY // 1024)
    Server().run()


def socket_handler(app: App, app_token: str) -> SocketModeHandler:
    """Return the Socket Mode handler (connects with apps.connections.open on the app's Web API client)."""
    return SocketModeHandler(app, app_token, web_client=app.client)


def run_socket(app: App, app_token: str) -> None:
    log.info("Socket Mode")
    socket_handler(app, app_token).start()
