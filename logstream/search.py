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

Pure: no gevent, no Flask, no sockets. Every ``Job`` is one block's worth of
work, planned without reading; the caller runs each where it likes (the
server: two at once in threads of a process of its own, ``scan_process``),
hands them back in order to ``finish`` and stops whenever
it likes (a client that hung up). ``steps()`` runs them one by one. Never opens
a file: it is given descriptors the path gate opened.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from .block_search import MAX_BLOCK, Hit, block_hits, clock
from .lines import LineSplitter, backlog_start, read_lines
from .query import Query
from .search_archive import UNREADABLE, compressed_hits

MIN_BLOCK = 64 * 1024  # bytes: the first block, so the first hits come at once
STEP_SECONDS = 0.025  # CPU a block should take: progress and hang-up checks stay frequent
MAX_CONTEXT = 20  # lines each side of a hit
PROBE = 16 * 1024  # bytes read before a block to find where its first line starts (longer: prev_lf)


@dataclass
class Step:
    """One block scanned: the ``hits`` it found (in the order to send them),
    ``scanned`` bytes of the history so far, the ``file`` being read."""

    hits: list[Hit]
    scanned: int
    file: str


@dataclass
class Job:
    """One block of a search, planned by ``Search.jobs``: ``run()`` scans it
    (``work`` returns its hits, or None for a compressed file read to its end)
    and keeps ``hits``, ``failed`` (the file could not be read) and ``took``
    (``clock()`` before and after, for a block sized by its own thread's CPU);
    ``scanned``: bytes of the history it covers. ``serial``: must run alone (a
    compressed file's one reader)."""

    region: Region
    work: Callable[[], list[Hit] | None]
    scanned: int
    serial: bool = False
    timed: bool = False
    hits: list[Hit] | None = None
    failed: bool = False
    took: tuple | None = None

    def run(self) -> Job:
        started = clock()
        try:
            self.hits = self.work()
        except UNREADABLE:
            self.failed = True
        if self.timed:
            self.took = (started, clock())
        return self


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
    (within the hit's file). Blocks of ``min_block`` to ``max_block`` bytes; each
    reads ``probe`` bytes before it to find where its first line starts."""

    def __init__(self, regions: list[Region], query: Query, *, max_line: int, limit: int, context: int = 0,
                 oldest_first: bool = False, min_block: int = MIN_BLOCK, max_block: int = MAX_BLOCK,
                 probe: int = PROBE) -> None:
        self.regions = regions
        self.query = query
        self.max_line = max_line
        self.remaining = limit
        self.context = context
        self.oldest_first = oldest_first
        self.scanned = 0
        self.block = self.min_block = min_block
        self.max_block = max_block
        self.probe = probe
        self.complete = True  # False once the limit stopped the scan
        self.found = 0  # hits handed out
        self.skipped: list[str] = []
        # Blocks are read into buffers kept for the next blocks (one per thread at
        # work): a new 4 MiB buffer per block cost ~1,000 page faults, 0.04-0.15 s
        # of system time per GiB (docs/benchmarks.md).
        self._buffers: list[bytearray] = []

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
        """The jobs run one after the other, here: a ``Step`` per block."""
        for job in self.jobs():
            step = self.finish(job.run())
            if step is not None:
                yield step

    def jobs(self) -> Iterator[Job]:
        """The blocks to scan, in the order their hits are sent, as ``Job``s: a
        caller runs each (``Job.run``, in any thread: several at once, but a
        ``serial`` one alone) and hands them to ``finish`` in this order. Planning
        reads nothing: a plain file's blocks are byte ranges, each job finds its
        own line boundaries (the lines whose LF falls in its range)."""
        if self.query.line_filter is not None:
            self.query.line_filter.block_regex()  # compiled here, not by two threads at once
        order = self.regions if self.oldest_first else reversed(self.regions)
        for region in order:
            if self.remaining <= 0:
                break
            if region.compressed:
                yield from self._archive_jobs(region)
                continue
            tail = Job(region, partial(_tail_line, self, region), region.size - region.end) \
                if region.final and region.size > region.end else None
            if tail and not self.oldest_first:
                yield tail
            low, high = region.start, region.end
            while low < high and self.remaining > 0 and region.rel not in self.skipped:
                if self.oldest_first:
                    lo, hi = low, min(high, low + self.block)
                    low = hi
                else:
                    lo, hi = max(low, high - self.block), high
                    high = lo
                yield Job(region, partial(self._block, region, lo, hi, self.remaining), hi - lo, timed=True)
            if tail and self.oldest_first and self.remaining > 0 and region.rel not in self.skipped:
                yield tail

    def _archive_jobs(self, region: Region) -> Iterator[Job]:
        """A compressed file's blocks: one decompressing reader, so serial jobs,
        planned until one finds it read to its end."""
        blocks = compressed_hits(self, region)
        ended = False

        def block() -> list[Hit] | None:
            nonlocal ended
            hits = next(blocks, None)
            ended = hits is None
            return hits

        try:
            while self.remaining > 0 and not ended and region.rel not in self.skipped:
                yield Job(region, block, 0, serial=True)  # planned before the last one ran: one may find nothing
        finally:
            blocks.close()

    def finish(self, job: Job) -> Step | None:
        """Take a job's hits, in ``jobs()`` order: the ``limit`` cuts them, the
        progress counts them. None for a job with nothing to send (a compressed
        file read to its end, a block of a file that could not be read)."""
        region = job.region
        if region.rel in self.skipped:
            return None  # an earlier block of this file failed
        if job.failed:
            self.skipped.append(region.rel)  # never silent: done says which file was not read to its end
            return None
        if job.hits is None:
            if self.remaining <= 0:
                self.complete = False  # a compressed file's hits were cut to what memory holds
            return None
        hits = job.hits
        for hit in hits:
            hit.ino = region.ino
        del hits[max(0, self.remaining):]
        self.remaining -= len(hits)
        self.found += len(hits)
        self.scanned += job.scanned
        if job.took is not None:
            self._timed(*job.took)
        if self.remaining <= 0:
            self.complete = False  # the limit ended it: older (newer) lines were not looked at
        return Step(hits, self.scanned, region.rel)

    def _timed(self, started: tuple[float, float, int], ended: tuple[float, float, int] | None = None) -> None:
        """Size the next block so that one takes about ``STEP_SECONDS``: of this
        thread's CPU, or of wall time when the block was read from the disk. On a
        busy machine wall time alone would count waits that are not the search's,
        shrink blocks to the minimum and multiply the per-block costs."""
        wall, cpu, inblock = ended or clock()
        took = wall - started[0] if inblock > started[2] else cpu - started[1]
        if took < STEP_SECONDS / 2:
            self.block = min(self.max_block, self.block * 2)
        elif took > STEP_SECONDS * 2:
            self.block = max(self.min_block, self.block // 2)

    def _block(self, region: Region, lo: int, hi: int, want: int) -> list[Hit]:
        """The hits of the lines of ``region`` whose LF is in [lo, hi), in the
        order to send them, with context; at most ``want``. Thread-safe: reads
        with ``preadv`` into a buffer of its own (``_buffers``), changes nothing
        else of the search."""
        fd, low = region.fd, region.start
        at = max(low, lo - self.probe)  # where the first line starts: just after the last LF before lo
        try:
            data = self._buffers.pop()  # atomic: a buffer no other thread holds
        except IndexError:
            data = bytearray(self.max_block + self.probe)
        try:
            got = os.preadv(fd, [memoryview(data)[:hi - at]], at)  # data[got:] is an earlier block's: never read
            last = data.rfind(b"\n", lo - at, got)
            if last < 0:
                return []  # no line ends here (the file shrank, or a long line goes on)
            stop = last + 1
            first = data.rfind(b"\n", 0, lo - at) + 1 if lo > low else 0
            newest_first = not self.oldest_first
            long: list[Hit] = []
            if not first and at > low:  # a line longer than the probe ends in this block: read it as lines
                first = data.find(b"\n", lo - at, got) + 1
                long = _long_line(self, region, prev_lf(fd, at, low), at + first)
            hits = self._hits(data, stop, at + first, newest_first, first) if first < stop else []
        finally:
            self._buffers.append(data)
        hits = hits + long[::-1] if newest_first else long + hits
        del hits[want:]
        if self.context:
            self._add_context(region, hits)
        return hits

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
    keep = search.query.select(lines.texts)
    hits = [Hit(0, region.end, lines.ends[i], lines.texts[i]) for i in keep]
    if search.context:
        search._add_context(region, hits)
    return hits


def _long_line(search: Search, region: Region, start: int, end: int) -> list[Hit]:
    """The lines of [start, end) read one by one: a line longer than a block."""
    hits = []
    for lines in read_lines(region.fd, start, end, search.max_line):
        starts = [start, *lines.ends[:-1]]
        hits.extend(Hit(0, starts[i], lines.ends[i], lines.texts[i]) for i in search.query.select(lines.texts))
        start = lines.ends[-1]
    return hits


def prev_lf(fd: int, pos: int, low: int) -> int:
    """Just past the last LF before ``pos`` (``low`` if none after it)."""
    while pos > low:
        at = max(low, pos - MAX_BLOCK)
        nl = os.pread(fd, pos - at, at).rfind(b"\n")
        if nl >= 0:
            return at + nl + 1
        pos = at
    return low
