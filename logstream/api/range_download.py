"""api.range_download: ``/api/download/<path>`` with a range (``since``/``until``
or ``from``/``to``) or a filter: exactly those lines of the path's history, as
text or NDJSON, with headers naming the first id served and the range asked
for, so a receiver can check it got what it asked (README "History").

Owns turning range parameters into places of the history and streaming its
lines through the one ``Encoder``. The whole-file download (no range, no
filter) stays ``api.files``'s. Never opens a file itself: the source's history
does, through the gate.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from urllib.parse import quote

from flask import Response

from ..encode import Encoder
from ..errors import BadRequest
from ..history import Chunk, History, Place
from ..query import Query
from ..timestamps import utc
from . import SSE_HEADERS
from .params import bool_arg, time_range

RANGE_PARAMS = ("from", "to", "since", "until", "filter", "invert", "where", "format")
FIRST_ID_HEADER = "Logstream-First-Id"  # the id of the first line in the body ("" if none)
RANGE_HEADER = "Logstream-Range"  # the range asked for, times resolved to RFC 3339 UTC
SKIPPED_HEADER = "Logstream-Skipped"  # files of the range that cannot be read (URL-encoded names, ", " between)
log = logging.getLogger(__name__)


def is_range_request(args) -> bool:
    """Whether a download asks for lines (a range, a filter, a format), not the file's bytes."""
    return any(name in args for name in RANGE_PARAMS)


@dataclass(frozen=True)
class RangeParams:
    """A range download's request: ``start``/``stop`` as ids (``from``/``to``,
    both inclusive) or times (``since``/``until``, epoch seconds), the stream's
    ``query`` and ``format`` (``text`` or ``ndjson``)."""

    first: str | None
    last: str | None
    since: float | None
    until: float | None
    query: Query | None
    format: str

    @classmethod
    def parse(cls, args) -> RangeParams:
        """Raises ``BadRequest``."""
        fmt = args.get("format", "text")
        if fmt not in ("text", "ndjson"):
            raise BadRequest("format: expected text or ndjson")
        first, last = args.get("from") or None, args.get("to") or None
        since, until = time_range(args)
        if (first or last) and (since is not None or until is not None):
            raise BadRequest("give a range by ids (from, to) or by times (since, until), not both")
        query = Query.build(args.get("filter", ""), bool_arg(args, "invert"), args.getlist("where"))
        return cls(first, last, since, until, query, fmt)

    def describe(self) -> str:
        """The range asked for, for ``RANGE_HEADER``: ``from=ID; to=ID`` or
        ``since=TIME; until=TIME`` (each part only when given; ``all`` for none)."""
        parts = [f"from={self.first}" if self.first else "", f"to={self.last}" if self.last else "",
                 f"since={utc(self.since)}" if self.since is not None else "",
                 f"until={utc(self.until)}" if self.until is not None else ""]
        return "; ".join(p for p in parts if p) or "all"


def range_response(history: History, path: str, params: RangeParams) -> Response:
    """The response for a range download of ``history`` (which it closes when the
    body is done). Raises ``BadRequest``/``NotFound`` for bad ids or times."""
    try:
        start, stop, params = _bounds(history, params)
        body = RangeBody(history, start, stop, Encoder(format=params.format, query=params.query, merged=False))
        first_id = body.first_id()
    except BaseException:
        history.close()
        raise
    mimetype = "application/x-ndjson" if params.format == "ndjson" else "text/plain"
    response = Response(body, content_type=f"{mimetype}; charset=utf-8", direct_passthrough=True)
    name = os.path.basename(path) + (".ndjson" if params.format == "ndjson" else ".txt")
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    response.headers["Content-Disposition"] = (f"attachment; filename=\"{ascii_name}\"; "
                                               f"filename*=UTF-8''{quote(name, safe='')}")
    response.headers[FIRST_ID_HEADER] = first_id
    response.headers[RANGE_HEADER] = params.describe()
    if history.skipped:
        response.headers[SKIPPED_HEADER] = ", ".join(quote(rel, safe="/") for rel in sorted(set(history.skipped)))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.update(SSE_HEADERS)
    return response


def _bounds(history: History, params: RangeParams) -> tuple[Place, Place | None, RangeParams]:
    """Where the range starts and stops, and ``params`` with its ids as the
    history writes them (a header carries them: never the client's bytes, which
    may hold a line break). Raises ``BadRequest``/``NotFound``."""
    if params.first:
        at = history.locate(params.first)
        start = history.line_start(at)
        params = replace(params, first=history.id_of(at))
    elif params.since is not None:
        start = history.seek(params.since)
    else:
        start = history.first()
    if params.last:
        stop = history.locate(params.last)
        params = replace(params, last=history.id_of(stop))
        if stop <= start:
            raise BadRequest("to: names a line before from's (give from, then to, oldest first)")
    elif params.until is not None:
        stop = history.seek(params.until, strict=True)
    else:
        stop = None
    return start, stop, params


class RangeBody:
    """The body: the lines between ``start`` and ``stop`` (None: the end) that
    the encoder's query keeps, encoded; ``close()`` closes the history. Every
    file of the range is opened first, so one that cannot be read is named in
    a header; one found corrupt once the body has begun (a truncated ``.gz``)
    ends the transfer there, unfinished (no last chunk), never with a silent gap."""

    def __init__(self, history: History, start: Place, stop: Place | None, encoder: Encoder) -> None:
        self.history = history
        self.encoder = encoder
        for index in range(start.link, (len(history.chain) - 1 if stop is None else stop.link) + 1):
            history.reader(index)  # never silent: a .zst or unopenable file is in history.skipped now
        self.chunks = history.forward(start, stop)
        self.held: list[Chunk] = []

    def first_id(self) -> str:
        """The id of the first line the body will send ("" if none); reads ahead
        to it, holding the chunk it is in (those before it send nothing: text
        and NDJSON leave out what the filter drops, so they are let go)."""
        query = self.encoder.query
        for chunk in self.chunks:
            keep = query.select(chunk.lines.texts) if query is not None else range(len(chunk.lines))
            if keep:
                self.held.append(chunk)
                return f"{chunk.prefix}{chunk.lines.ends[keep[0]]}"
        return ""

    def __iter__(self) -> Iterator[bytes]:
        named = len(self.history.skipped)  # in the header already
        for chunk in itertools.chain(self.held, self.chunks):  # one chunk at a time: never the range in memory
            self._gapless(named)
            data = self.encoder.lines(chunk.lines.texts, chunk.lines.ends, prefix=chunk.prefix)
            if data:
                yield data
        self._gapless(named)
        self.held = []

    def _gapless(self, named: int) -> None:
        """Raise if a file of the range turned out unreadable after the headers
        went out: the server then closes the connection before the last chunk,
        so the receiver knows the download is incomplete (pywsgi takes an
        ECONNRESET quietly; any WSGI server closes on an error)."""
        if len(self.history.skipped) > named:
            gone = ", ".join(self.history.skipped[named:])
            log.info("range download of %s stopped: %s could not be read to its end", self.history.rel, gone)
            raise ConnectionResetError(errno.ECONNRESET, f"{gone} could not be read to its end")

    def close(self) -> None:
        self.history.close()
