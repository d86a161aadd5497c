"""api.search: ``GET /api/search/<path>``, a path's history scanned for a pattern,
sent as Server-Sent Events: ``hit`` per matching line (with context),
``progress`` at least every 250 ms, and ``done`` last.

Owns the request's parameters, the bounds an id puts on the history, opening the
rotation chain through the path gate, and the response's loop: each block is
scanned in a thread of gevent's pool (RE2 and ``pread`` release the GIL, so the
hub serves live streams meanwhile: docs/benchmarks.md), and a client that hangs
up stops the scan before the next block. Never reads lines itself
(``search.Search`` does); never sends an id a client could resume by: a search is
not a stream.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass

import gevent
from flask import Blueprint, request

from .. import paths, sse
from ..errors import BadRequest, LogstreamError, NotFound
from ..lines import is_line_boundary, last_line_end
from ..position import Position, parse_id
from ..query import Query
from ..search import DECOMPRESS, MAX_CONTEXT, Region, Search, prev_lf
from . import runtime, sse_response
from .params import bool_arg, int_arg

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
    before: Position | None
    after: Position | None

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
        before = parse_id(args["before"])[0] if args.get("before") else None
        after = parse_id(args["after"])[0] if args.get("after") else None
        return cls(query, limit, context, order == "oldest", before, after)


@bp.get("/api/search/<path:path>")
def search(path: str):
    rt = runtime()
    params = SearchParams.parse(request.args)
    if rt.source.kind != "inotify":
        raise BadRequest("search is served by a node with a local directory, not a Redis-backed one")
    regions, skipped = open_history(rt.source, rt.config.root, path, params)
    ip = request.remote_addr or "?"
    try:
        rt.admit(ip)
    except BaseException:
        _close(regions)
        raise
    scan = Search(regions, params.query, max_line=rt.config.max_line, limit=params.limit,
                  context=params.context, oldest_first=params.oldest_first)
    scan.skipped.extend(skipped)
    return sse_response(SearchBody(rt, scan, ip, request.environ.get("logstream.handler")))


def open_history(source, root, rel: str, params: SearchParams) -> tuple[list[Region], list[str]]:
    """The regions of ``rel``'s rotation chain to scan, each opened through the
    gate, bounded by ``params.before``/``after``; and the links that cannot be
    read (``.zst``: no decompressor in the standard library). Raises what opening ``rel``
    raises (the stream's errors: ``NotFound``, ``PathRejected``), ``BadEventId``
    or ``NotFound`` for an id that names no line of the history."""
    os.close(source.open_file(rel)[0])  # the path itself: a FIFO, a path outside, a missing file
    chain = paths.rotation_chain(root, rel)
    if rel.endswith(paths.COMPRESSED) and chain:  # a compressed file searched by its own name
        only = chain[-1]
        chain = [paths.Link(only.rel, only.ino, only.size, only.mtime, rel.rsplit(".", 1)[1])]
    regions: list[Region] = []
    skipped: list[str] = []
    try:
        for n, link in enumerate(chain):
            region = _open_link(source, link, n == len(chain) - 1 and not link.compressed, skipped)
            if region is not None:
                regions.append(region)
        for bound, side in ((params.after, "after"), (params.before, "before")):
            if bound is not None:
                regions = _bounded(root, rel, regions, bound, side)
    except BaseException:
        _close(regions)
        raise
    return regions, skipped


def _open_link(source, link: paths.Link, current: bool, skipped: list[str]) -> Region | None:
    if link.compressed is not None and link.compressed not in DECOMPRESS:
        skipped.append(link.rel)  # .zst: no decompressor in the standard library
        return None
    try:
        fd, st = source.open_file(link.rel)
    except LogstreamError:
        return None  # rotated away or removed since the directory was listed
    if st.st_ino != link.ino:
        os.close(fd)
        return None
    if link.compressed:
        return Region(link.rel, link.ino, fd, st.st_size, compressed=link.compressed)
    end = last_line_end(fd, st.st_size)
    # The current file's unfinished last line is not a line yet (its LF may come);
    # a rotated file's is: nothing will finish it.
    return Region(link.rel, link.ino, fd, st.st_size, 0, end, final=not current, lines_end=end)


def _bounded(root, rel: str, regions: list[Region], bound: Position, side: str) -> list[Region]:
    """``regions`` cut at ``bound``: the lines ``after`` it or ``before`` it."""
    at = next((i for i, r in enumerate(regions) if r.ino == bound.ino), None)
    if at is None:
        other = paths.sibling_named_by(root, rel, bound.ino)
        if other is not None:
            raise BadRequest(f"{side}: the id is not this file's: it names {other}, not {rel} or one of its rotations")
        raise NotFound(f"{side}: the file this id names is gone (rotated away and removed, or another file)")
    region = regions[at]
    offset = bound.offset
    if not region.compressed:
        if offset > region.size:
            raise BadRequest(f"{side}: the id points past the end of the file (it was truncated or rewritten)")
        if not is_line_boundary(region.fd, offset):
            raise BadRequest(f"{side}: the id does not point at a line boundary (the file was rewritten)")
    keep = regions[at:] if side == "after" else regions[:at + 1]
    for dropped in regions:
        if dropped not in keep:
            os.close(dropped.fd)
    if side == "after":
        region.start = max(region.start, offset if region.end is None else min(offset, region.end))
    elif region.compressed:
        region.end = offset  # lines that end before it (search._compressed)
    else:  # the lines before the one the id names: those that end where it begins
        line_start = prev_lf(region.fd, offset - 1, 0) if offset else 0
        region.end = min(region.end, line_start)
        region.start = min(region.start, region.end)
        region.final = False
    return keep


def _close(regions: list[Region]) -> None:
    for region in regions:
        try:
            os.close(region.fd)
        except OSError:
            pass


class SearchBody:
    """The response body: a first ``progress``, then per block its ``hit``s and a
    ``progress`` when 100 ms have passed, then ``done``. ``close()`` (the client
    went away, or the body ended) stops the scan and releases everything."""

    def __init__(self, rt, scan: Search, ip: str, handler=None) -> None:
        self.runtime = rt
        self.scan = scan
        self.ip = ip
        self.handler = handler  # the server's, for hang-up checks (none under gunicorn)
        self.started = time.monotonic()
        self.total = scan.total
        self.limit = scan.remaining
        self._steps = scan.steps()
        self._inflight = None  # the block being scanned in a thread
        self._closed = False
        rt.metrics.search_started()

    def _progress(self, file: str) -> bytes:
        info = {"scanned_bytes": self.scan.scanned, "total_bytes": self.total, "file": file}
        return sse.event(json.dumps(info, ensure_ascii=False), event="progress")

    def __iter__(self):
        scan, metrics = self.scan, self.runtime.metrics
        first = scan.regions[-1].rel if scan.regions and not scan.oldest_first else \
            (scan.regions[0].rel if scan.regions else "")
        yield self._progress(first)
        told = time.monotonic()
        failed = None
        pool = gevent.get_hub().threadpool
        while True:
            if self.handler is not None and self.handler.peer_gone():
                return  # the client hung up: stop before the next block (close() follows)
            if self.runtime.shutdown.is_set():
                return
            before = scan.scanned
            self._inflight = pool.spawn(next, self._steps, None)
            try:
                step = self._inflight.get()
            except Exception:
                log.exception("search of %s failed", first)
                failed = "the search failed (see the server log)"
                break
            finally:
                self._inflight = None
            metrics.search_scanned.inc(scan.scanned - before)
            if step is None:
                break
            out = [sse.event(json.dumps(hit.as_json(), ensure_ascii=False), event="hit") for hit in step.hits]
            now = time.monotonic()
            if out or now - told >= PROGRESS_SECONDS:
                out.append(self._progress(step.file))
                told = now
                yield b"".join(out)
        done = {"hits": self.limit - scan.remaining, "scanned_bytes": scan.scanned,
                "elapsed_ms": round((time.monotonic() - self.started) * 1000),
                "complete": scan.complete and not scan.skipped and failed is None}
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
        inflight = self._inflight
        if inflight is not None and not inflight.ready():
            inflight.rawlink(lambda _: self._release_files())  # never close a descriptor a thread reads
        else:
            self._release_files()

    def _release_files(self) -> None:
        try:
            self._steps.close()
        except ValueError:  # still running: cannot happen after the thread is done
            pass
        _close(self.scan.regions)
