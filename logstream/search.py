"""search: a path's history scanned for the lines a ``Query`` keeps, newest or
oldest first, with context lines, as a series of ``Step``s a caller sends on.

Owns how a search reads a history: which blocks, in which order (newest first:
blocks read backwards from the end, each searched forward), how big (64 KiB
growing to 4 MiB, sized to take ~25 ms), the context lines around each hit, and
when to stop (``limit``). Each block goes to ``block_search.block_hits`` (one RE2
pass, lines cut out only where it matched), so a hit is exactly a line the
stream's filter would send, with the id the stream gives it.

A compressed sibling (``.gz``, ``.bz2``, ``.xz``) is read forward through the
standard library's decompressor (``search_archive``); its ids are offsets in
the decompressed content.

Pure: no gevent, no Flask, no sockets. Every step is one block's worth of work;
the caller runs each ``next()`` where it likes (the server: in a thread of
gevent's pool, so the hub serves live streams meanwhile) and stops whenever it
likes (a client that hung up). Never opens a file: it is given descriptors the
path gate opened.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from .block_search import MAX_BLOCK, Hit, block_hits, clock
from .lines import LineSplitter, backlog_start, read_lines
from .query import Query
from .search_archive import UNREADABLE, compressed_hits

MIN_BLOCK = 64 * 1024  # bytes: the first block, so the first hits come at once
STEP_SECONDS = 0.025  # CPU a block should take: progress and hang-up checks stay frequent
MAX_CONTEXT = 20  # lines each side of a hit


@dataclass
class Step:
    """One block scanned: the ``hits`` it found (in the order to send them),
    ``scanned`` bytes of the history so far, the ``file`` being read."""

    hits: list[Hit]
    scanned: int
    file: str


@dataclass
class Region:
    """What to scan of one link of the chain: ``rel`` (public name), ``ino``, an
    open descriptor ``fd``, ``compressed`` (``gz``/``bz2``/``xz``) or None, and for
    a plain file the bytes [``start``, ``end``) (line boundaries) and ``final``:
    the bytes from ``end`` to ``size`` are a last line without its LF (a rotated
    file that will not grow). ``lines_end`` bounds context lines. ``size``: bytes
    on disk, what progress counts. For a compressed file ``start``/``end`` bound
    the decompressed offsets (``end`` None: to its end)."""

    rel: str
    ino: int
    fd: int
    size: int
    start: int = 0
    end: int | None = None
    final: bool = False
    compressed: str | None = None
    lines_end: int = 0
    rotated: bool = False

    @property
    def total(self) -> int:
        """Bytes on disk this region costs to scan."""
        if self.compressed:
            return self.size
        return (self.end - self.start) + (self.size - self.end if self.final else 0)


class Search:
    """Scans ``regions`` (oldest link first, as ``paths.rotation_chain`` gives
    them) for the lines ``query`` keeps; ``steps()`` yields a ``Step`` per block,
    newest first unless ``oldest_first``. At most ``limit`` hits in all; set
    ``stopped`` when a caller ends early. ``context`` lines each side of every hit
    (within the hit's file)."""

    def __init__(self, regions: list[Region], query: Query, *, max_line: int, limit: int, context: int = 0,
                 oldest_first: bool = False, min_block: int = MIN_BLOCK, max_block: int = MAX_BLOCK) -> None:
        self.regions = regions
        self.query = query
        self.max_line = max_line
        self.remaining = limit
        self.context = context
        self.oldest_first = oldest_first
        self.scanned = 0
        self.block = self.min_block = min_block
        self.max_block = max_block
        self.complete = True  # False once the limit stopped the scan
        self.found = 0  # hits handed out
        self.skipped: list[str] = []

    threaded = True  # pread and RE2 release the GIL: the server runs each step in a thread
    unit = "bytes"  # what ``scanned`` and ``total`` count

    @property
    def total(self) -> int:
        return sum(r.total for r in self.regions)

    @property
    def first_file(self) -> str:
        """The file the scan begins with ("" if none)."""
        if not self.regions:
            return ""
        return self.regions[0 if self.oldest_first else -1].rel

    def steps(self) -> Iterator[Step]:
        order = self.regions if self.oldest_first else reversed(self.regions)
        for region in order:
            if self.remaining <= 0:
                break
            reader = compressed_hits if region.compressed else (_forward if self.oldest_first else _backward)
            blocks = reader(self, region)
            while True:
                try:
                    hits = next(blocks, None)
                    if hits is None:
                        break
                    for hit in hits:
                        hit.ino = region.ino
                    if len(hits) > self.remaining:
                        del hits[self.remaining:]
                    if self.context:
                        self._add_context(region, hits)
                except UNREADABLE:
                    self.skipped.append(region.rel)  # never silent: done says which file was not read to its end
                    break
                self.remaining -= len(hits)
                self.found += len(hits)
                yield Step(hits, self.scanned, region.rel)
                if self.remaining <= 0:
                    break
        if self.remaining <= 0:
            self.complete = False  # the limit ended it: older (newer) lines were not looked at

    def _timed(self, started: tuple[float, float, int]) -> None:
        """Size the next block so that one takes about ``STEP_SECONDS``: of this
        thread's CPU, or of wall time when the block was read from the disk. On a
        busy machine wall time alone would count waits that are not the search's,
        shrink blocks to the minimum and multiply the per-block costs."""
        wall, cpu, inblock = clock()
        took = wall - started[0] if inblock > started[2] else cpu - started[1]
        if took < STEP_SECONDS / 2:
            self.block = min(self.max_block, self.block * 2)
        elif took > STEP_SECONDS * 2:
            self.block = max(self.min_block, self.block // 2)

    def _hits(self, data: bytes, n: int, base: int, newest_first: bool, lo: int = 0) -> list[Hit]:
        return block_hits(self.query, data, n, base, self.max_line, newest_first, self.remaining, lo)

    def _add_context(self, region: Region, hits: list[Hit]) -> None:
        if region.compressed:
            return  # filled in by search_archive from the decompressed window
        c, max_line = self.context, self.max_line
        for hit in hits:
            first = backlog_start(region.fd, hit.start, c, max_line)
            hit.before = _lines(region, first, hit.start, max_line)[-c:]
            hit.after = _lines(region, hit.end, region.lines_end, max_line, final=region.rotated, count=c)


def _lines(region: Region, start: int, end: int, max_line: int, final: bool = False, count: int | None = None):
    out: list[dict] = []
    for lines in read_lines(region.fd, start, end if not final else region.size, max_line, final=final):
        out.extend({"id": f"{region.ino:x}-{e}", "text": t} for t, e in zip(lines.texts, lines.ends, strict=True))
        if count is not None and len(out) >= count:
            return out[:count]
    return out


def _tail_line(search: Search, region: Region) -> list[Hit]:
    """The last line of a rotated file that has no LF: a line all the same."""
    splitter = LineSplitter(region.end, search.max_line)
    splitter.feed(os.pread(region.fd, region.size - region.end, region.end))
    lines = splitter.flush()
    search.scanned += region.size - region.end
    keep = search.query.select(lines.texts)
    return [Hit(0, region.end, lines.ends[i], lines.texts[i]) for i in keep]


def _long_line(search: Search, region: Region, start: int, end: int) -> list[Hit]:
    """The lines of [start, end) read one by one: a line longer than a block."""
    hits = []
    for lines in read_lines(region.fd, start, end, search.max_line):
        starts = [start, *lines.ends[:-1]]
        hits.extend(Hit(0, starts[i], lines.ends[i], lines.texts[i]) for i in search.query.select(lines.texts))
        start = lines.ends[-1]
    return hits


def _forward(search: Search, region: Region) -> Iterator[list[Hit]]:
    """A plain file's region, oldest line first."""
    fd, pos, end = region.fd, region.start, region.end
    while pos < end:
        started = clock()
        data = os.pread(fd, min(search.block, end - pos), pos)
        if not data:
            break  # the file shrank under us
        cut = data.rfind(b"\n") + 1
        if cut:
            hits = search._hits(data, cut, pos, False)
        else:  # one line longer than the block: find its end, read it as lines
            cut = _next_lf(fd, pos + len(data), end) - pos
            hits = _long_line(search, region, pos, pos + cut)
        pos += cut
        search.scanned += cut
        search._timed(started)
        yield hits
    if region.final and region.size > end and search.remaining > 0:
        yield _tail_line(search, region)


def _backward(search: Search, region: Region) -> Iterator[list[Hit]]:
    """A plain file's region, newest line first: blocks read backwards from the
    end, each block's lines searched forward and its hits sent newest first."""
    if region.final and region.size > region.end:
        yield _tail_line(search, region)
    fd, low, pos = region.fd, region.start, region.end
    while pos > low and search.remaining > 0:
        started = clock()
        at = max(low, pos - search.block)
        data = os.pread(fd, pos - at, at)
        if len(data) < pos - at:
            break  # the file shrank under us
        skip = 0
        if at > low:
            skip = data.find(b"\n") + 1  # the first line may begin in an earlier block
            if skip == len(data) or skip == 0:  # one line longer than the block
                begin = prev_lf(fd, at, low)
                hits = _long_line(search, region, begin, pos)
                hits.reverse()
                search.scanned += pos - begin
                pos = begin
                yield hits
                continue
        hits = search._hits(data, len(data), at + skip, True, skip)
        search.scanned += len(data) - skip
        pos = at + skip
        search._timed(started)
        yield hits


def _next_lf(fd: int, pos: int, end: int) -> int:
    """Just past the first LF at or after ``pos`` (``end`` if none before it)."""
    while pos < end:
        data = os.pread(fd, min(MAX_BLOCK, end - pos), pos)
        if not data:
            return end
        nl = data.find(b"\n")
        if nl >= 0:
            return pos + nl + 1
        pos += len(data)
    return end


def prev_lf(fd: int, pos: int, low: int) -> int:
    """Just past the last LF before ``pos`` (``low`` if none after it)."""
    while pos > low:
        at = max(low, pos - MAX_BLOCK)
        nl = os.pread(fd, pos - at, at).rfind(b"\n")
        if nl >= 0:
            return at + nl + 1
        pos = at
    return low
