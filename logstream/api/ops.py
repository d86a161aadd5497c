"""api.ops: what operators and browsers fetch besides logs: ``/healthz``
(liveness JSON), ``/metrics`` (Prometheus text) and the viewer's static files.

Never tells the served directory's name to a client that has not signed in
(``/healthz`` is open; a signed-in viewer gets it); never serves a file outside
the viewer's directory.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Blueprint, Response, jsonify, request, send_from_directory

from .. import __version__
from ..errors import LogstreamError, NotFound
from . import runtime

bp = Blueprint("ops", __name__)



def viewer_dir() -> Path:
    """Where the viewer's files are: ``logstream/web`` in an installed package (the
    wheel carries the repository's ``web/`` there), else ``web/`` beside the package
    (a checkout, or an editable install of one), the single source of the files."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "web"
    return installed if installed.is_dir() else package.parent / "web"


WEB = viewer_dir()
OPEN_ROUTES = {"/healthz"}  # reachable without a token


@bp.get("/healthz")
def healthz():
    rt = runtime()
    source = rt.source
    alive = source.alive
    return jsonify(
        status="ok" if alive else "degraded",
        version=__version__,
        root=source.name if _signed_in(rt) else None,
        watcher=source.kind if alive else "stopped",
        tailers=len(source.topics.topics),
        subscribers=source.topics.subscriber_count(),
        heartbeat=rt.config.heartbeat,
        retry_ms=rt.config.retry,
        # The limits a client must keep to (the viewer asks for no more than these).
        backlog=rt.config.backlog,
        max_backlog=rt.config.max_backlog,
        max_connections=rt.max_connections,
        max_per_ip=rt.config.max_per_ip,
        uptime=round(time.time() - rt.started, 1),
        # The file a viewer opens when none is chosen: the demo's main log, else none.
        default_file=getattr(rt.config, "default_file", None),
    )


def _signed_in(rt) -> bool:
    """Whether this request may know the directory's name: no token is needed, or it carries one."""
    try:
        rt.auth.check(request.headers, request.cookies, request.args)
    except LogstreamError:
        return False
    return True


@bp.get("/metrics")
def metrics():
    return Response(runtime().metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")


@bp.get("/")
def index():
    return _static("index.html")


@bp.get("/<path:name>")
def static_file(name: str):
    if name.startswith("api/"):
        raise NotFound(f"no such route: /{name}")
    return _static(name)


def _static(name: str):
    response = send_from_directory(WEB, name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
