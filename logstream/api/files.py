"""api.files: the file list (``/api/files``), its live changes
(``/api/files/events``, SSE) and downloads (``/api/download/<path>``).

Owns the file-list stream's loop: a snapshot, then changes, then pings. Never
opens a path except through the source (which confines it to the root).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

from flask import Blueprint, Response, jsonify, request

from .. import sse
from ..runtime import Runtime
from ..watcher import FileListener
from . import runtime, sse_response

bp = Blueprint("files", __name__)

DOWNLOAD_BLOCK = 256 * 1024  # bytes per read of a download


@bp.get("/api/files")
def files():
    source = runtime().source
    return jsonify(root=source.name, files=source.list_files())


@bp.get("/api/files/events")
def file_events():
    rt = runtime()
    ip = request.remote_addr or "?"
    rt.admit(ip)
    listener = FileListener()
    rt.source.add_listener(listener)
    rt.metrics.file_listeners.inc()
    return sse_response(FileEvents(rt, listener, ip, request.environ.get("logstream.handler")))


@bp.get("/api/download/<path:path>")
def download(path: str):
    fd, st = runtime().source.open_file(path)
    f = os.fdopen(fd, "rb")
    response = Response(_read_file(f, st.st_size), content_type="text/plain; charset=utf-8",
                        direct_passthrough=True)
    response.headers["Content-Length"] = str(st.st_size)
    name = os.path.basename(path).replace('"', "")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _read_file(f, size: int) -> Iterator[bytes]:
    with f:
        left = size
        while left > 0:
            chunk = f.read(min(DOWNLOAD_BLOCK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


class FileEvents:
    """The ``/api/files/events`` body: a snapshot, then changes, then pings.
    ``close()`` (the client went away) releases the listener and its admission."""

    def __init__(self, rt: Runtime, listener: FileListener, ip: str, handler=None) -> None:
        self.runtime = rt
        self.listener = listener
        self.ip = ip
        self.handler = handler  # the server's, for hang-up checks (none under gunicorn)
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        rt, listener = self.runtime, self.listener
        config = rt.config
        yield sse.retry(config.retry)
        while True:
            if listener.closed or rt.shutdown.is_set():
                yield sse.comment("server shutting down")
                return
            if listener.needs_snapshot:
                listener.needs_snapshot = False
                files = rt.source.list_files()
                yield sse.event(json.dumps({"files": files}, ensure_ascii=False), event="snapshot")
                continue
            if not listener.queue:
                listener.wakeup.clear()  # may still be set by a resync; nothing can run in between
                handler = self.handler
                if handler is not None:
                    handler.watch_hangup(listener.wakeup.set)  # a client that hangs up wakes us at once
                try:
                    woken = listener.wakeup.wait(config.heartbeat or None)
                finally:
                    if handler is not None:
                        handler.unwatch_hangup()
                if handler is not None and handler.hung_up():
                    return
                if not woken:
                    yield sse.comment("ping")
                continue
            items = list(listener.queue)
            listener.queue.clear()
            listener.wakeup.clear()
            yield b"".join(sse.event(json.dumps(data, ensure_ascii=False), event=kind) for kind, data in items)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.runtime.source.remove_listener(self.listener)
            self.runtime.metrics.file_listeners.dec()
            self.runtime.release(self.ip)
