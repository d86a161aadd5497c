"""app: the HTTP routes, built by ``create_app(config)``.

Owns request parsing and response headers; turns every ``LogstreamError`` into
``{"error": ...}`` in one handler. Never opens a path except through ``paths``;
never builds SSE bytes by hand (``sse`` does); never starts the watcher at import
time (each gunicorn worker starts its own on first use).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import gevent.event
from flask import Flask, Response, jsonify, request, send_from_directory
from flask_cors import CORS
from werkzeug.exceptions import HTTPException

from . import __version__, paths, sse
from .auth import COOKIE, SESSION_SECONDS, Auth
from .config import Config
from .errors import BadRequest, LogstreamError, NotFound, TooManyRequests, Unauthorized, Unavailable
from .metrics import Metrics
from .stream import LineFilter, Stream
from .topic import Pinger, Topics
from .watcher import FileListener, Watcher

log = logging.getLogger(__name__)

WEB = Path(__file__).resolve().parent.parent / "web"
SSE_HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}


class Runtime:
    """The running parts the routes share: topics, the watcher, metrics, shutdown."""

    def __init__(self, config: Config) -> None:
        self.config = config
        if config.redis:
            # Scale-out web node: the files and their lines come from Redis Streams
            # (redis_source plays both the topics' and the watcher's part).
            from .redis_source import RedisSource
            from .redis_stream import RedisStream

            self.topics = self.watcher = RedisSource(config)
            self.stream_class = RedisStream
        else:
            self.topics = Topics(config.root, config.max_line, config.poll_interval)
            self.watcher = Watcher(config.root, self.topics)
            self.stream_class = Stream
        self.metrics = Metrics(self.topics)
        self.shutdown = gevent.event.Event()
        self.started = time.time()
        self.auth = Auth(config.token, config.query_token)
        self.pinger = Pinger(config.heartbeat)
        self.open_streams = 0
        self.streams_per_ip: dict[str, int] = {}
        self.max_connections = config.max_connections

    def admit(self, ip: str) -> None:
        """Refuse a stream past the limits, before it costs anything (promise: a
        flood of clients gets 503/429 with Retry-After, never a hang)."""
        if self.open_streams >= self.max_connections:
            raise Unavailable("too many open streams; try again later", headers={"Retry-After": "5"})
        per_ip = self.config.max_per_ip
        if per_ip and self.streams_per_ip.get(ip, 0) >= per_ip:
            raise TooManyRequests("too many open streams from your address", headers={"Retry-After": "5"})
        self.open_streams += 1
        self.streams_per_ip[ip] = self.streams_per_ip.get(ip, 0) + 1

    def release(self, ip: str) -> None:
        self.open_streams -= 1
        left = self.streams_per_ip.get(ip, 1) - 1
        if left > 0:
            self.streams_per_ip[ip] = left
        else:
            self.streams_per_ip.pop(ip, None)

    @property
    def root_name(self) -> str:
        return "redis" if self.config.redis else self.config.root.name

    def list_files(self) -> list[dict]:
        if self.config.redis:
            return self.watcher.list_files()
        return [f.as_json() for f in paths.list_files(self.config.root)]

    def ensure_started(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.shutdown.set()
        self.pinger.stop()
        self.topics.close()
        self.watcher.stop()


def create_app(config: Config) -> Flask:
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

    open_routes = {"/healthz", "/api/login", "/api/logout", "/api/session"}

    @app.before_request
    def _gate():
        runtime.ensure_started()
        path = request.path
        if request.method == "OPTIONS" or path in open_routes:
            return
        if path.startswith("/api/") or path == "/metrics":
            runtime.auth.check(request.headers, request.cookies, request.args)

    @app.post("/api/login")
    def login():
        body = request.get_json(silent=True) if request.is_json else request.form
        token = (body or {}).get("token") if hasattr(body or {}, "get") else None
        if not runtime.auth.required:
            return jsonify(authenticated=True, required=False)
        if not isinstance(token, str) or not runtime.auth.token_matches(token):
            raise Unauthorized("authentication required")
        response = jsonify(authenticated=True, required=True)
        response.set_cookie(COOKIE, runtime.auth.session(), max_age=SESSION_SECONDS, httponly=True,
                            samesite="Strict", secure=request.is_secure, path=request.script_root + "/")
        return response

    @app.post("/api/logout")
    def logout():
        response = jsonify(authenticated=False, required=runtime.auth.required)
        response.delete_cookie(COOKIE, path=request.script_root + "/", httponly=True, samesite="Strict",
                               secure=request.is_secure)
        return response

    @app.get("/api/session")
    def session():
        try:
            runtime.auth.check(request.headers, request.cookies, request.args)
            authenticated = True
        except Unauthorized:
            authenticated = False
        return jsonify(required=runtime.auth.required, authenticated=authenticated)

    @app.get("/")
    def index():
        return _static("index.html")

    @app.get("/<path:name>")
    def static_file(name: str):
        if name.startswith("api/"):
            raise NotFound(f"no such route: /{name}")
        return _static(name)

    def _static(name: str):
        response = send_from_directory(WEB, name, max_age=0)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/healthz")
    def healthz():
        return jsonify(
            status="ok" if runtime.watcher.alive else "degraded",
            version=__version__,
            root=None if runtime.auth.required else runtime.root_name,
            watcher=("redis" if config.redis else "inotify") if runtime.watcher.alive else "stopped",
            tailers=len(runtime.topics.topics),
            subscribers=runtime.topics.subscriber_count(),
            heartbeat=config.heartbeat,
            retry_ms=config.retry,
            uptime=round(time.time() - runtime.started, 1),
        )

    @app.get("/metrics")
    def metrics():
        return Response(runtime.metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/api/files")
    def files():
        return jsonify(root=runtime.root_name, files=runtime.list_files())

    @app.get("/api/files/events")
    def file_events():
        ip = request.remote_addr or "?"
        runtime.admit(ip)
        listener = FileListener()
        runtime.watcher.listeners.add(listener)
        runtime.metrics.file_listeners.inc()
        return _sse_response(_FileEvents(runtime, listener, ip))

    @app.get("/api/download/<path:rel>")
    def download(rel: str):
        if config.redis:
            raise NotFound("downloads are not available on a Redis web node (the files live on the agents' hosts)")
        fd, st = paths.open_file(config.root, rel)
        f = os.fdopen(fd, "rb")
        response = Response(_read_file(f, st.st_size), content_type="text/plain; charset=utf-8",
                            direct_passthrough=True)
        response.headers["Content-Length"] = str(st.st_size)
        name = os.path.basename(rel).replace('"', "")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/api/stream/<path:rel>")
    def stream_one(rel: str):
        return _stream([rel])

    @app.get("/api/stream")
    def stream_many():
        rels = request.args.getlist("path")
        if not rels:
            raise BadRequest("give at least one ?path=")
        if len(rels) > 32:
            raise BadRequest("at most 32 files in one merged stream")
        if len(rels) > 1 and any("\n" in r or "\r" in r for r in rels):
            raise BadRequest("a merged stream cannot carry a path with a line break")
        return _stream(rels)

    def _stream(rels: list[str]):
        args = request.args
        lines = _int_arg("lines", config.backlog, 0, config.max_backlog)
        fmt = args.get("format", "sse")
        if fmt not in ("sse", "text"):
            raise BadRequest("format: expected sse or text")
        pattern = args.get("filter", "")
        invert = _bool_arg("invert")
        line_filter = LineFilter(pattern, invert) if pattern else None
        last_id = request.headers.get("Last-Event-ID") or args.get("last_event_id") or None
        ip = request.remote_addr or "?"
        runtime.admit(ip)
        try:
            stream = runtime.stream_class(runtime.topics, rels, config=config, line_filter=line_filter,
                                          text=fmt == "text", lines=lines, last_id=last_id, environ=request.environ,
                                          shutdown=runtime.shutdown,
                                          metrics=runtime.metrics, on_close=lambda: runtime.release(ip),
                            pinger=runtime.pinger)
        except BaseException:
            runtime.release(ip)
            raise
        runtime.metrics.stream_opened()
        if fmt == "text":
            response = Response(stream, content_type="text/plain; charset=utf-8", direct_passthrough=True)
            response.headers.update(SSE_HEADERS)
            return response
        return _sse_response(stream)

    def _int_arg(name: str, default: int, low: int, high: int) -> int:
        raw = request.args.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"{name}: expected a whole number, got {raw[:40]!r}") from None
        if not low <= value <= high:
            raise BadRequest(f"{name}: must be between {low} and {high}")
        return value

    def _bool_arg(name: str) -> bool:
        return request.args.get(name, "").lower() in ("1", "true", "yes", "on")

    return app


def _sse_response(body) -> Response:
    # direct_passthrough: the body already yields bytes; skip werkzeug's re-encoding
    # layer on the fan-out path. close() still reaches the body.
    response = Response(body, mimetype="text/event-stream", direct_passthrough=True)
    response.headers["Content-Type"] = "text/event-stream; charset=utf-8"
    response.headers.update(SSE_HEADERS)
    return response


def _read_file(f, size: int) -> Iterator[bytes]:
    with f:
        left = size
        while left > 0:
            chunk = f.read(min(256 * 1024, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


class _FileEvents:
    """The /api/files/events body: a snapshot, then changes, then pings."""

    def __init__(self, runtime: Runtime, listener: FileListener, ip: str) -> None:
        self.runtime = runtime
        self.listener = listener
        self.ip = ip
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        runtime, listener = self.runtime, self.listener
        config = runtime.config
        yield sse.retry(config.retry)
        while True:
            if listener.closed or runtime.shutdown.is_set():
                yield sse.comment("server shutting down")
                return
            if listener.needs_snapshot:
                listener.needs_snapshot = False
                files = runtime.list_files()
                yield sse.event(json.dumps({"files": files}, ensure_ascii=False), event="snapshot")
                continue
            if not listener.queue:
                listener.wakeup.clear()  # may still be set by a resync; nothing can run in between
                if not listener.wakeup.wait(config.heartbeat or None):
                    yield sse.comment("ping")
                continue
            items = list(listener.queue)
            listener.queue.clear()
            listener.wakeup.clear()
            yield b"".join(sse.event(json.dumps(data, ensure_ascii=False), event=kind) for kind, data in items)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.runtime.watcher.listeners.discard(self.listener)
            self.runtime.metrics.file_listeners.dec()
            self.runtime.release(self.ip)
