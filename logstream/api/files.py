"""api.files: the file list (``/api/files``), its live changes
(``/api/files/events``, SSE) and downloads (``/api/download/<path>``).

Owns the file-list stream's loop: a snapshot, then changes, then pings; and a
download's body, exactly the bytes its headers promise. Never opens a path except
through the source (which confines it to the root); never writes HTTP's file
sending by hand (Werkzeug's ``send_file`` does names, ranges and validators).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator

from flask import Blueprint, Response, request
from werkzeug.utils import send_file
from werkzeug.wsgi import FileWrapper

from .. import sse
from ..runtime import Runtime
from ..watcher import FileListener
from . import runtime, sse_response
from .params import FileListParams
from .range_download import RangeParams, is_range_request, range_response

bp = Blueprint("files", __name__)
log = logging.getLogger(__name__)

DOWNLOAD_BLOCK = 256 * 1024  # bytes per read (and socket write) of a download; Werkzeug's default is 8 KiB
COMPRESSED = {".gz": "application/gzip", ".bz2": "application/x-bzip2", ".xz": "application/x-xz",
              ".zst": "application/zstd", ".zip": "application/zip"}  # rotated logs


@bp.get("/api/files")
def files():
    source = runtime().source
    wanted = FileListParams.parse(request.args)
    found = source.list_files(wanted.prefix, wanted.q, wanted.limit)
    # The list is JSON already (file_index caches its bytes): put it in place, not re-encode it.
    head = f'{{"root":{json.dumps(source.name, ensure_ascii=False)},"files":'.encode()
    tail = f',"total":{found.total},"truncated":{"true" if found.truncated else "false"}}}'.encode()
    return Response(b"".join([head, found.data, tail]), mimetype="application/json")


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
    if is_range_request(request.args):  # lines of the history, not the file's bytes
        params = RangeParams.parse(request.args)
        return range_response(runtime().source.history(path), path, params)
    fd, st = runtime().source.open_file(path)
    f = os.fdopen(fd, "rb")  # the response closes it
    name = os.path.basename(path)
    # Werkzeug's file sending, on the descriptor the gate opened (never by path:
    # that would open it a second time, unconfined): Content-Disposition with an
    # RFC 6266 filename* beside an ASCII fallback, Range, ETag and conditional
    # requests. Its size comes from our stat, so ranges need complete_length.
    environ = {**request.environ, "wsgi.file_wrapper": lambda file, _: FileWrapper(file, DOWNLOAD_BLOCK)}
    try:
        response = send_file(f, environ, mimetype=COMPRESSED.get(os.path.splitext(name)[1], "text/plain"),
                             as_attachment=True, download_name=name, conditional=False,
                             etag=f"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}", last_modified=st.st_mtime,
                             max_age=0)
        response.content_length = st.st_size
        response.make_conditional(environ, accept_ranges=True, complete_length=st.st_size)
    except BaseException:
        f.close()
        raise
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.status_code in (200, 206):
        response.response = Exactly(response.response, response.content_length, request.environ, path)
    return response


class Exactly:
    """A download's body: exactly the ``length`` bytes its Content-Length promised.
    A log that grows while it is sent is sent as it was when stat()ed (more bytes
    would be read as the start of the next response on a kept-alive connection). A
    file truncated under the transfer ends it at once, as incomplete: the connection
    is closed, since a client waiting for the promised bytes would wait forever."""

    def __init__(self, body, length: int, environ: dict, path: str) -> None:
        self.body = body
        self.length = length
        self.environ = environ
        self.path = path

    def __iter__(self) -> Iterator[bytes]:
        left = self.length
        for chunk in self.body:
            if len(chunk) >= left:
                yield chunk[:left]
                return
            left -= len(chunk)
            yield chunk
        if left:
            log.info("download of %s stopped %d bytes short: the file shrank while it was sent", self.path, left)
            handler = self.environ.get("logstream.handler")
            if handler is None:  # another WSGI server: an error there closes the connection
                raise ConnectionAbortedError(f"{self.path} shrank while it was sent")
            handler.close_connection = True

    def close(self) -> None:
        self.body.close()


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
                found = rt.source.list_files()
                start, data, end = sse.json_event_parts(found.data, "snapshot")
                yield start + b'{"files":'
                yield data  # the cached bytes themselves: 7 MB for 100,000 files, not copied
                yield b"}" + end
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
