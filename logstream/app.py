"""app: ``create_app(config)`` builds the Flask app: the error handlers (every
``LogstreamError`` becomes ``{"error": ...}`` in one place), CORS, the auth gate,
and one blueprint per resource (``api/``).

Only this module and ``api/`` import Flask. Never starts the source at import time
(each gunicorn worker starts its own on first use).
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import scopes
from .api import files, lines, ops, search, session, streams
from .config import Config
from .errors import LogstreamError
from .runtime import Runtime

log = logging.getLogger(__name__)

OPEN_ROUTES = session.OPEN_ROUTES | ops.OPEN_ROUTES  # reachable without a token


def create_app(config: Config) -> Flask:
    """The WSGI app for ``config``; its ``Runtime`` is ``app.extensions["logstream"]``."""
    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False
    runtime = Runtime(config)
    app.extensions["logstream"] = runtime

    @app.errorhandler(LogstreamError)
    def _logstream_error(exc: LogstreamError):
        runtime.metrics.rejected.labels(str(exc.status)).inc()
        response = jsonify(error=exc.message)
        response.status_code = exc.status
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        response = jsonify(error=exc.description or exc.name)
        response.status_code = exc.code or 500
        # What the status needs besides the body: a 416's Content-Range, a 405's Allow.
        response.headers.update((k, v) for k, v in exc.get_headers() if k.lower() != "content-type")
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s", request.path)
        response = jsonify(error="internal error")
        response.status_code = 500
        return response

    if config.cors_origin:
        # Credentials (the session cookie) only for named origins, never with "*".
        any_origin = "*" in config.cors_origin
        CORS(app, origins="*" if any_origin else config.cors_origin, supports_credentials=not any_origin,
             send_wildcard=any_origin,
             allow_headers=["Authorization", "Last-Event-ID", "Content-Type"], methods=["GET", "POST"],
             max_age=600)

    @app.before_request
    def _gate():
        scopes.bind(None)  # first: a kept-alive connection never keeps the last request's scope
        runtime.ensure_started()
        path = request.path
        if request.method == "OPTIONS" or path in OPEN_ROUTES:
            return
        if path.startswith("/api/") or path == "/metrics":
            # Who this is (identity.py); what they may read goes with the request to the path gate.
            scopes.bind(runtime.auth.check(request.headers, request.cookies, request.args, path).scope)

    for blueprint in (session.bp, ops.bp, files.bp, streams.bp, lines.bp, search.bp):
        app.register_blueprint(blueprint)
    if config.trusted_proxies:
        # Behind N proxies, believe the last N values of X-Forwarded-For and
        # -Proto (each proxy appends one): request.remote_addr (admission per
        # address, the access log) and request.is_secure (the cookie's Secure)
        # are then the client's. Off by default: a client reaching us directly
        # could otherwise name any address or scheme. -Host and -Prefix are not
        # believed: nothing builds an absolute URL, and --base-path alone says
        # where the app lives (the documented nginx block passes the path whole).
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=0, x_port=0, x_prefix=0)
    return app
