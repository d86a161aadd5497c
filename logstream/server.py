"""server: gevent's pywsgi around the app: binding, the file-descriptor limit,
the sub-path prefix, access logs without secrets, and graceful shutdown.

Never patches gevent (the entry points do, first); never logs a query string
without removing tokens from it.
"""

from __future__ import annotations

import logging
import re
import resource
import signal
import sys

import gevent
from gevent import pywsgi

from .app import create_app
from .config import Config

log = logging.getLogger("logstream")
_SECRET_QUERY = re.compile(r"((?:^|[?&])access_token=)[^&\s]*", re.IGNORECASE)


class Handler(pywsgi.WSGIHandler):
    """Hands the client socket to the app (idle streams check it for a hang-up)
    and keeps tokens out of the access log."""

    def get_environ(self):
        environ = super().get_environ()
        environ["logstream.socket"] = self.socket
        return environ

    def format_request(self):
        line = super().format_request()
        return _SECRET_QUERY.sub(r"\1***", line)


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


def serve(config: Config) -> int:
    limit = raise_fd_limit()
    wsgi, runtime = build(config)
    access_log = logging.getLogger("logstream.access")
    server = pywsgi.WSGIServer((config.host, config.port), wsgi, handler_class=Handler,
                               log=_LogWriter(access_log), error_log=_LogWriter(logging.getLogger("logstream.http")))
    server.start()
    runtime.ensure_started()
    host = server.server_host
    shown = f"[{host}]" if ":" in host else host
    print(f"logstream: serving {config.root} on http://{shown}:{server.server_port}{config.base_path}/", flush=True)
    log.info("file descriptor limit %d", limit)

    stopping = gevent.event.Event()

    def _stop(signum=None, frame=None):
        if not stopping.is_set():
            log.info("shutting down")
            stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, _stop)
    stopping.wait()
    server.close()  # stop accepting
    runtime.stop()  # tell every stream; they end with a last comment
    server.stop(timeout=1.5)
    return 0


class _LogWriter:
    """A file-like object pywsgi writes its log lines to."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def write(self, message: str) -> None:
        message = message.rstrip("\n")
        if message:
            self.logger.info("%s", message)

    def flush(self) -> None:
        pass

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
