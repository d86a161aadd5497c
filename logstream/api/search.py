"""api.search: ``GET /api/search/<path>``, a path's history scanned for a pattern,
sent as Server-Sent Events: ``hit`` per matching line (with context),
``progress`` at least every 250 ms, and ``done`` last.

Owns the request's parameters, the regions of the history the bounds leave (ids
and times resolved by ``history.History``, which opens every link through the
path gate, as for ``/api/lines``), and the response's loop: blocks are
scanned two at once in the search pool's threads (RE2 and ``pread`` release
the GIL, so both cores scan and the hub serves live streams
meanwhile: docs/benchmarks.md; a Redis node's pages one at a time in a
greenlet, ``sources.redis_search``), their hits sent in order, and a client
that hangs up stops the scan before the next block. Never reads lines itself
(``search.Search`` does); never sends an id a client could resume by: a search is
not a stream.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from dataclasses import dataclass
from functools import partial

import gevent
import gevent.threadpool
from flask import Blueprint, request

from .. import sse
from ..errors import BadRequest, LogstreamError
from ..history import History, Place
from ..lines import last_line_end
from ..query import Query
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
    ``progress`` when 100 ms have passed, then ``done``. Up to ``SCANNERS`` blocks
    are scanned at once in the search pool's threads, their hits sent in order.
    ``close()`` (the client went away, or the body ended) stops the scan and
    releases everything once no thread reads the files."""

    def __init__(self, rt, scan: Search, history: History, ip: str, handler=None) -> None:
        self.runtime = rt
        self.scan = scan
        self.history = history  # owns the descriptors the scan reads
        self.ip = ip
        self.handler = handler  # the server's, for hang-up checks (none under gunicorn)
        self.started = time.monotonic()
        self.total = scan.total
        # A file search: blocks, two scanned at once in threads (RE2 and pread release
        # the GIL). A Redis one: its own steps, one at a time in a greenlet (its
        # socket is gevent's). Both leave the hub free.
        self._stepper = None if scan.threaded else _Stepper(scan)
        self._jobs = scan.jobs() if scan.threaded else self._stepper.jobs()
        self._inflight: deque = deque()  # (job, its result) in sending order, being scanned in threads
        self._held = None  # a planned job that must wait for the ones in flight (a serial one, or after one)
        self._closed = False
        rt.metrics.search_started()

    def _progress(self, scanned: int, file: str) -> bytes:
        info = {"scanned_bytes": scanned, "total_bytes": self.total, "file": file}
        if self.scan.unit != "bytes":
            info["unit"] = self.scan.unit  # a Redis node counts entries (README "Search")
        return sse.event(json.dumps(info, ensure_ascii=False), event="progress")

    def _fill(self) -> None:
        """Start planned jobs until ``SCANNERS`` are in flight (a serial job alone)."""
        spawn = partial(scan_pool().spawn, _run) if self.scan.threaded else partial(gevent.spawn, _run)
        while len(self._inflight) < SCANNERS:
            job, self._held = self._held or next(self._jobs, None), None
            if job is None:
                return
            if self._inflight and (job.serial or self._inflight[-1][0].serial):
                self._held = job
                return
            self._inflight.append((job, spawn(job)))

    def _finish(self, job):
        """A job done, in order: its ``Step``, or None (nothing to send)."""
        return job.step if self._stepper else self.scan.finish(job)

    def __iter__(self):
        scan, metrics = self.scan, self.runtime.metrics
        first = scan.first_file
        yield self._progress(0, first)
        told = time.monotonic()
        failed = None
        counted = 0
        scanned = metrics.search_scanned if scan.unit == "bytes" else metrics.search_scanned_entries
        self._fill()
        while self._inflight:
            job, result = self._inflight[0]
            try:
                outcome = result.get()
                if isinstance(outcome, Exception):
                    raise outcome
            except LogstreamError as exc:  # a source that stopped answering (Redis): no traceback
                log.warning("search of %s failed: %s", first, exc.message)
                failed = f"the search failed: {exc.message}"
                break
            except Exception:
                log.exception("search of %s failed", first)
                failed = "the search failed (see the server log)"
                break
            # Killed while waiting (GreenletExit), the job stays in flight: close() waits for its thread.
            self._inflight.popleft()
            step = self._finish(job)
            scanned.inc(scan.scanned - counted)
            counted = scan.scanned
            if self.handler is not None and self.handler.peer_gone():
                return  # the client hung up: stop before the next block (close() follows)
            if self.runtime.shutdown.is_set():
                yield sse.comment("server shutting down")
                return
            if scan.remaining > 0 or self._stepper:
                # The next blocks are scanned while this one's hits are sent (a scan's own
                # steps run on to their end, which says whether the limit stopped it).
                self._fill()
            if step is None:
                continue
            out = [sse.event(json.dumps(hit.as_json(), ensure_ascii=False), event="hit") for hit in step.hits]
            now = time.monotonic()
            if out or now - told >= PROGRESS_SECONDS:
                out.append(self._progress(step.scanned, step.file))
                told = now
                yield b"".join(out)
            if scan.remaining <= 0 and not self._stepper:
                break  # the limit: what is still in flight is not sent (close() waits for it)
        done = {"hits": scan.found, "scanned_bytes": scan.scanned,
                "elapsed_ms": round((time.monotonic() - self.started) * 1000),
                "complete": scan.complete and not scan.skipped and failed is None}
        if scan.unit != "bytes":
            done["unit"] = scan.unit
        if scan.skipped:
            done["skipped"] = scan.skipped  # .zst, or unreadable: these files were not searched (to their end)
        if failed:
            done["error"] = failed
        yield sse.event(json.dumps(done), event="done")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.runtime.metrics.search_ended()
        self.runtime.release(self.ip)
        busy = [result for _, result in self._inflight if not result.ready()]
        left = [len(busy)]

        def one_done(_) -> None:
            left[0] -= 1
            if not left[0]:
                self._release_files()  # never close a descriptor a thread reads

        for result in busy:
            result.rawlink(one_done)
        if not busy:
            self._release_files()

    def _release_files(self) -> None:
        self._inflight.clear()
        self._held = None
        self._jobs.close()
        self.history.close()


SCANNERS = 2  # blocks scanned at once: grep is single-threaded, this machine class has 2 cores
_pool = None


def scan_pool():
    """The search threads of this process (``SCANNERS`` of them, shared by all
    searches), made on first use in the hub's thread. At the process's priority:
    a lower one (nice 10) was measured and did not protect the live streams
    (docs/benchmarks.md, "30 Nov, afternoon")."""
    global _pool
    if _pool is None:
        _pool = gevent.threadpool.ThreadPool(SCANNERS)
    return _pool


def _run(job):
    """``job.run()``, or the exception it raised: a greenlet that raised would
    have gevent's hub print a traceback besides ours."""
    try:
        return job.run()
    except Exception as exc:
        return exc


class _Stepper:
    """A scan that makes its own steps (a Redis node's, ``sources.redis_search``)
    as jobs: serial, each taking its next step, planned until one finds none."""

    def __init__(self, scan) -> None:
        self.steps = scan.steps()
        self.ended = False

    def jobs(self):
        try:
            while not self.ended:
                yield _StepJob(self)
        finally:
            self.steps.close()


class _StepJob:
    serial = True

    def __init__(self, stepper: _Stepper) -> None:
        self.stepper = stepper
        self.step = None

    def run(self) -> _StepJob:
        self.step = next(self.stepper.steps, None)
        self.stepper.ended = self.step is None
        return self
