"""api.streams: ``/api/stream/<path>`` and the merged ``/api/stream?path=a&path=b``.

Owns admission (a stream counts against the connection limits from before it
opens until its ``close()``) and the response around a ``Stream``. Never reads
files or Redis itself: the stream's followers do.
"""

from __future__ import annotations

from flask import Blueprint, request

from ..errors import Unsupported
from ..paths import COMPRESSED
from ..stream import Stream
from . import ndjson_response, runtime, sse_response, text_response
from .params import StreamParams

bp = Blueprint("streams", __name__)


@bp.get("/api/stream/<path:path>")
def stream_one(path: str):
    return _stream([path])


@bp.get("/api/stream")
def stream_many():
    return _stream(request.args.getlist("path"))


def _stream(paths: list[str]):
    rt = runtime()
    params = StreamParams.parse(paths, request.args, request.headers, rt.config)
    for path in params.paths:
        if path.endswith(COMPRESSED):  # it cannot grow, and its bytes are no lines: say so, never stream noise
            raise Unsupported(f"{path} is compressed: download it (api/download/{path}); a stream carries text lines")
    ip = request.remote_addr or "?"
    rt.admit(ip)
    try:
        stream = Stream(rt.source, params, config=rt.config, environ=request.environ, shutdown=rt.shutdown,
                        metrics=rt.metrics, on_close=lambda: rt.release(ip), pinger=rt.pinger)
    except BaseException:
        rt.release(ip)
        raise
    rt.metrics.stream_opened()
    if params.format == "text":
        return text_response(stream)
    return ndjson_response(stream) if params.format == "ndjson" else sse_response(stream)
