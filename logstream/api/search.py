"""api.search: ``GET /api/search/<path>``, a path's history scanned for a pattern,
sent as Server-Sent Events: ``hit`` per matching line (with context),
``progress`` at least every 250 ms, and ``done`` last.

Owns the request's parameters, the regions of the history the bounds leave (ids
and times resolved by ``history.History``, which opens every link through the
path gate, as for ``/api/lines``), and the response's loop: a file's blocks
are scanned in a process of its own at a lower priority (``scan_process``:
so live streams keep the CPU and the GIL; docs/benchmarks.md), a Redis node's
pages one at a time in the response's greenlet (``sources.redis_search``),
their hits sent in order, and a client that hangs up stops the scan at once
(its process is killed). Never reads lines itself
(``search.Search`` does); never sends an id a client could resume by: a search is
not a stream.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass

from flask import Blueprint, request

from .. import sse
from ..errors import BadRequest, LogstreamError
from ..history import History, Place
from ..lines import last_line_end
from ..query import Query
from ..scan_child import hit_event
from ..scan_process import Block, Outcome, ScanProcess
from ..search import MAX_CONTEXT, Region, Search
from ..timeline import seek_time
from . import runtime, sse_response
from .params import bool_arg, int_arg, time_range

bp = Blueprint("search", __name__)
log = logging.getLogger(__name__)

DEFAULT_LIMIT = 1000
MAX_LIMIT = 100_000
PROGRESS_SECONDS = 0.1  # between progress events while nothing else is sent (the contract: at most 250 ms)


@dataclass(frozen=True)
class SearchParams:
    """``q`` (RE2, as the stream's ``filter``), ``invert``, ``where``; ``limit``
    hits, ``context`` lines each side, ``oldest_first`` (``order=oldest``), and
    the ids ``before``/``after`` that bound the history."""

    query: Query
    limit: int
    context: int
    oldest_first: bool
    before: str | None
    after: str | None
    since: float | None = None
    until: float | None = None

    @classmethod
    def parse(cls, args) -> SearchParams:
        """Raises ``BadRequest`` (``BadEventId`` for a malformed id)."""
        pattern = args.get("q", "")
        where = args.getlist("where")
        if not pattern and not where:
            raise BadRequest("q: give a pattern to search for (RE2 syntax), or a where= clause")
        try:
            query = Query.build(pattern, bool_arg(args, "invert"), where)
        except BadRequest as exc:
            raise BadRequest(exc.message.replace("filter:", "q:", 1)) from None
        order = args.get("order", "newest")
        if order not in ("newest", "oldest"):
            raise BadRequest("order: expected newest or oldest")
        limit = int_arg(args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        context = int_arg(args, "context", 0, 0, MAX_CONTEXT)
        before, after = args.get("before") or None, args.get("after") or None  # checked by History.locate
        return cls(query, limit, context, order == "oldest", before, after, *time_range(args))


@bp.get("/api/search/<path:path>")
def search(path: str):
    rt = runtime()
    params = SearchParams.parse(request.args)
    history = rt.source.history(path)
    try:
        scan = open_scan(history, params, rt.config.max_line)
        ip = request.remote_addr or "?"
        rt.admit(ip)
    except BaseException:
        history.close()
        raise
    return sse_response(SearchBody(rt, scan, history, ip, request.environ.get("logstream.handler")))


def open_scan(history, params: SearchParams, max_line: int):
    """The scan ``params`` ask for: a ``Search`` of the regions of a local
    history, or the search a history makes of itself (a Redis node's:
    ``sources.redis_search``); either yields ``search.Step``s."""
    own = getattr(history, "search", None)
    if own is not None:
        return own(params.query, limit=params.limit, context=params.context, oldest_first=params.oldest_first,
                   before=params.before, after=params.after, since=params.since, until=params.until)
    scan = Search(open_history(history, params), params.query, max_line=max_line, limit=params.limit,
                  context=params.context, oldest_first=params.oldest_first)
    scan.skipped.extend(history.skipped)
    return scan


def open_history(history: History, params: SearchParams) -> list[Region]:
    """The regions of ``history`` to scan, bounded by ``params`` (ids through
    ``History.locate``, times through ``timeline.seek_time``: the errors
    ``/api/lines`` gives). Links that cannot be read are in ``history.skipped``."""
    start, stop = Place(0, 0), None
    if params.after:
        start = max(start, history.locate(params.after))
    if params.since is not None:
        start = max(start, seek_time(history, params.since))
    if params.before:
        stop = history.line_start(history.locate(params.before))
    if params.until is not None:
        until = seek_time(history, params.until, strict=True)
        stop = until if stop is None else min(stop, until)
    last = len(history.chain) - 1 if stop is None else stop.link
    regions = []
    for index in range(start.link, last + 1):
        reader = history.reader(index)
        if reader is None:
            continue
        link = history.chain[index]
        size = os.fstat(reader.fd).st_size
        low = start.offset if index == start.link else 0
        high = stop.offset if stop is not None and index == stop.link else None
        if link.compressed:
            regions.append(Region(link.rel, link.ino, reader.fd, size, low, high, compressed=link.compressed))
            continue
        rotated = index != history.current
        # The current file's unfinished last line is not a line yet (its LF may
        # come); a rotated file's is: nothing will finish it.
        end = last_line_end(reader.fd, size) if rotated else reader.size
        region = Region(link.rel, link.ino, reader.fd, size, low, end, final=rotated, lines_end=end, rotated=rotated)
        if high is not None and high < region.end + region.final * (size - end):
            region.end, region.final = min(end, high), False
        region.start = min(region.start, region.end)
        regions.append(region)
    return regions


class SearchBody:
    """The response body: a first ``progress``, then per block its ``hit``s and a
    ``progress`` when 100 ms have passed, then ``done``. A file search runs in a
    process of its own (``scan_process``: threads there, at a lower priority,
    hits encoded there); a Redis node's in this greenlet, page by page (its
    socket is gevent's). ``close()`` (the client went away, or the body ended)
    stops the scan at once and releases everything."""

    def __init__(self, rt, scan, history: History, ip: str, handler=None) -> None:
        self.runtime = rt
        self.scan = scan
        self.history = history  # owns the descriptors the scan reads (the child has its own copies)
        self.ip = ip
        self.handler = handler  # the server's, for hang-up checks (none under gunicorn)
        self.started = time.monotonic()
        self.total = scan.total
        self.blocks = ScanProcess(scan) if isinstance(scan, Search) else _InHub(scan)
        self._closed = False
        rt.metrics.search_started()

    def _progress(self, scanned: int, file: str) -> bytes:
        info = {"scanned_bytes": scanned, "total_bytes": self.total, "file": file}
        if self.scan.unit != "bytes":
            info["unit"] = self.scan.unit  # a Redis node counts entries (README "Search")
        return sse.event(json.dumps(info, ensure_ascii=False), event="progress")

    def __iter__(self):
        scan, metrics = self.scan, self.runtime.metrics
        first = scan.first_file
        yield self._progress(0, first)
        told = time.monotonic()
        counted = sent = 0  # bytes counted in the metrics, hits sent
        scanned = metrics.search_scanned if scan.unit == "bytes" else metrics.search_scanned_entries
        try:
            for block in self.blocks:
                scanned.inc(block.scanned - counted)
                counted = block.scanned
                sent += block.hits
                if self.handler is not None and self.handler.peer_gone():
                    return  # the client hung up: close() stops the scan
                if self.runtime.shutdown.is_set():
                    yield sse.comment("server shutting down")
                    return
                now = time.monotonic()
                if block.hits or now - told >= PROGRESS_SECONDS:
                    told = now
                    yield block.events + self._progress(block.scanned, block.file)
        except OSError as exc:  # no process for the search (posix_spawn: EAGAIN, ENOMEM, EACCES)
            log.warning("search of %s could not start: %s", first, exc)
            self.blocks.outcome = Outcome(sent, counted, error=f"the search could not start: {exc.strerror or exc}")
        outcome = self.blocks.outcome
        if outcome is None:
            log.warning("search of %s: its process ended without a word", first)
            outcome = Outcome(sent, counted, error="the search failed (its process ended early)")
        elif outcome.error:
            log.warning("search of %s failed: %s", first, outcome.error)
        done = {"hits": outcome.found, "scanned_bytes": outcome.scanned,
                "elapsed_ms": round((time.monotonic() - self.started) * 1000),
                "complete": outcome.complete and not outcome.skipped and outcome.error is None}
        if scan.unit != "bytes":
            done["unit"] = scan.unit
        if outcome.skipped:
            done["skipped"] = outcome.skipped  # .zst, or unreadable: these files were not searched (to their end)
        if outcome.error:
            done["error"] = outcome.error
        yield sse.event(json.dumps(done), event="done")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.runtime.metrics.search_ended()
        self.runtime.release(self.ip)
        self.blocks.close()
        self.history.close()


class _InHub:
    """A scan that makes its own steps (a Redis node's, ``sources.redis_search``),
    run in the response's greenlet: ``scan_process.Block``s, then ``outcome``."""

    def __init__(self, scan) -> None:
        self.scan = scan
        self.steps = scan.steps()
        self.outcome: Outcome | None = None

    def __iter__(self):
        scan = self.scan
        error = None
        try:
            for step in self.steps:
                yield Block(b"".join(map(hit_event, step.hits)), len(step.hits), step.scanned, step.file)
        except LogstreamError as exc:  # a source that stopped answering (Redis): no traceback
            error = f"the search failed: {exc.message}"
        except Exception:
            log.exception("search of %s failed", scan.first_file)
            error = "the search failed (see the server log)"
        self.outcome = Outcome(scan.found, scan.scanned, scan.complete, list(scan.skipped), error)

    def close(self) -> None:
        self.steps.close()
