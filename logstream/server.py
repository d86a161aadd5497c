"""server: gevent's pywsgi around the app: binding, the file-descriptor limit,
the sub-path prefix, access logs without secrets, and graceful shutdown.

Never patches gevent (the entry points do, first); never logs a query string
without removing tokens from it.
"""

from __future__ import annotations

import errno
import logging
import resource
import signal
import sys
import time
from collections.abc import Callable

import gevent
import gevent.event
from gevent import pywsgi

from .access_log import MASK_TOKENS
from .app import create_app
from .config import Config
from .handler import Handler
from .listener import Listener, Unfinished, share_descriptors
from .parking import RESUMED
from .runtime import Runtime

log = logging.getLogger("logstream")

class BasePath:
    """Serve the app under a URL prefix (``--base-path /logs``) behind a proxy."""

    def __init__(self, app, base: str) -> None:
        self.app = app
        self.base = base

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == self.base:
            start_response("308 Permanent Redirect", [("Location", self.base + "/"), ("Content-Length", "0")])
            return [b""]
        if path.startswith(self.base + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.base
            environ["PATH_INFO"] = path[len(self.base):]
            return self.app(environ, start_response)
        body = b'{"error": "not found: this server lives under %s/"}' % self.base.encode()
        start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one: with too few descriptors gevent
    only logs EMFILE and further clients hang."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def build(config: Config):
    """The WSGI application with its prefix, and the app's runtime."""
    app = create_app(config)
    runtime = app.extensions["logstream"]
    wsgi = BasePath(app, config.base_path) if config.base_path else app
    return wsgi, runtime


def serve(config: Config, started: Callable[[Runtime, Callable[[], None]], None] | None = None) -> int:
    """Serve until SIGTERM or SIGINT, then shut down gracefully; returns 0.
    ``started(runtime, stop)`` is called once the server listens (standard input's
    spool starts there); calling ``stop()`` shuts down as a signal would."""
    limit = raise_fd_limit()
    wsgi, runtime = build(config)
    # Refuse streams and unfinished requests with a 503 well before descriptors
    # run out (past the limit, clients wait with no answer).
    caps = share_descriptors(limit, runtime.max_connections, config.max_unfinished, config.max_unfinished_per_ip)
    asked = {"--max-connections": runtime.max_connections, "--max-unfinished": config.max_unfinished,
             "--max-unfinished-per-ip": config.max_unfinished_per_ip}
    for (flag, wanted), cap in zip(asked.items(), caps, strict=True):
        if cap != wanted:
            why = "at most half of --max-unfinished" if flag.endswith("per-ip") else f"file descriptor limit {limit}"
            log.warning("%s lowered to %d (%s)", flag, cap, why)
    runtime.max_connections = caps[0]
    unfinished = Unfinished(caps[1], caps[2], rejected=lambda status: runtime.metrics.rejected.labels(status).inc())
    runtime.metrics.unfinished.set_function(lambda: unfinished.total)
    handler = type("Handler", (Handler,), {"write_timeout": config.write_timeout or None,
                                           "header_timeout": config.header_timeout or None})
    # The access log gets one line per request (Handler.format_request masks tokens).
    # The error log gets pywsgi's complaints about a client's malformed request and
    # whatever the app writes to wsgi.errors; both at INFO, as they are the clients'
    # mistakes, not ours. An exception in the app is not written there: pywsgi hands
    # it to the hub, which prints it on stderr.
    access_log = pywsgi.LoggingLogAdapter(logging.getLogger("logstream.access"), logging.INFO)
    http_log = logging.getLogger("logstream.http")
    http_log.addFilter(MASK_TOKENS)  # pywsgi quotes a malformed request line whole
    error_log = pywsgi.LoggingLogAdapter(http_log, logging.INFO)
    # The TLS handshake happens on the first read, under the head's deadline: done
    # at accept, it would wait on a silent client with no timeout at all.
    tls = ({"certfile": config.tls_cert, "keyfile": config.tls_key, "do_handshake_on_connect": False}
           if config.tls_cert else {})
    server = Listener((config.host, config.port), wsgi, handler_class=handler, unfinished=unfinished,
                      log=access_log, error_log=error_log, **tls)
    try:
        server.start()
    except OSError as exc:  # socket.gaierror too: a host name that does not resolve
        address = (config.host, config.port)
        reason = (exc.strerror or str(exc)).removesuffix(f": {address!r}")  # gevent appends the address
        if exc.errno == errno.EADDRINUSE:
            reason = "already in use"
        raise OSError(exc.errno, f"cannot listen on {config.host}:{config.port}: {reason}") from None
    runtime.ensure_started()
    host = server.server_host
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if tls else "http"
    what = config.root or "the agents' files from Redis"
    print(f"logstream: serving {what} on {scheme}://{shown}:{server.server_port}{config.base_path}/",
          flush=True)
    if runtime.auth.required:
        log.info("a token is required on the API (it is not logged)")
    log.info("file descriptor limit %d: at most %d streams, %s unfinished requests (%s per address)", limit,
             caps[0], caps[1] or "any number of", caps[2] or "any number")

    stopping = gevent.event.Event()

    def _stop(signum=None, frame=None):
        if not stopping.is_set():
            log.info("shutting down")
            stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, _stop)
    if started is not None:
        started(runtime, _stop)
    stopping.wait()
    server.close()  # stop accepting
    runtime.stop()  # tell every stream; they end with a last comment
    grace = time.monotonic() + 1.5
    server.stop(timeout=1.5)
    RESUMED.join(timeout=max(0.0, grace - time.monotonic()))  # parked streams, resumed to say it
    return 0


def setup_logging(level: str) -> None:
    """Log lines on stderr at ``level`` (a name from ``config.LOG_LEVELS``) and above."""
    logging.basicConfig(stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
