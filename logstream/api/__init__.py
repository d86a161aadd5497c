"""api: the HTTP routes, one Flask blueprint per resource (``streams``, ``files``,
``session``, ``ops``). Each route parses its request (``params``), asks the one
``Source`` through the ``Runtime``, and raises ``LogstreamError`` for bad input:
the app's single error handler turns it into ``{"error": ...}``. Routes never
branch on where files live; never build SSE bytes by hand.
"""

from __future__ import annotations

from flask import Response, current_app

from ..runtime import Runtime

SSE_HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}


def runtime() -> Runtime:
    """The app's ``Runtime``."""
    return current_app.extensions["logstream"]


def sse_response(body) -> Response:
    """A streaming SSE response over ``body`` (an iterable of bytes with ``close()``)."""
    # direct_passthrough: the body already yields bytes; skip werkzeug's re-encoding
    # layer on the fan-out path. close() still reaches the body.
    response = Response(body, mimetype="text/event-stream", direct_passthrough=True)
    response.headers["Content-Type"] = "text/event-stream; charset=utf-8"
    response.headers.update(SSE_HEADERS)
    return response


def ndjson_response(body) -> Response:
    """A streaming ``format=ndjson`` response: one JSON object per line, never buffered."""
    response = Response(body, content_type="application/x-ndjson; charset=utf-8", direct_passthrough=True)
    response.headers.update(SSE_HEADERS)
    return response


def text_response(body) -> Response:
    """A streaming ``format=text`` response: plain lines, never buffered."""
    response = Response(body, content_type="text/plain; charset=utf-8", direct_passthrough=True)
    response.headers.update(SSE_HEADERS)
    return response
