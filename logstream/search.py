"""search: a path's history scanned for the lines a ``Query`` keeps, newest or
oldest first, with context lines, as a series of ``Step``s a caller sends on.

Owns how a search reads: blocks of up to 4 MiB, with RE2 run once over a whole
block of lines (``LineFilter.block_regex``) and the line around each match found
by ``rfind``/``find``: ids are byte offsets, so lines are never counted nor split
except where a match is. Each such line is cut out by ``lines.split_complete``
(the one definition of a line: CRLF, byte-order mark, holes, ``max_line``) and
checked with the client's own filter, so a hit is exactly a line the stream's
filter would send, with the id the stream gives it. A block where one RE2 pass
could miss a line (an inverted filter, ``where=`` alone, a line longer than
``max_line``, bytes that are not UTF-8, a CR before the LF with a ``$`` pattern, a
hole or a byte-order mark at a line start) is split into lines and filtered line
by line instead, as the stream does.

A compressed sibling (``.gz``, ``.bz2``, ``.xz``) is read forward through the
standard library's decompressor; its ids are offsets in the decompressed content.

Pure: no gevent, no Flask, no sockets. Every step is one block's worth of work;
the caller runs each ``next()`` where it likes (the server: in a thread of
gevent's pool, so the hub serves live streams meanwhile) and stops whenever it
likes (a client that hung up). Never opens a file: it is given descriptors the
path gate opened.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import time
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from .lines import BOM, LineSplitter, backlog_start, read_lines, split_complete
from .query import Query

MIN_BLOCK = 64 * 1024  # bytes: the first block, so the first hits come at once
MAX_BLOCK = 4 * 1024 * 1024  # bytes: RE2 over 4 MiB costs ~1-4 ms; bigger gained nothing (docs/benchmarks.md)
STEP_SECONDS = 0.025  # a block should take about this long: progress and hang-up checks stay frequent
MAX_CONTEXT = 20  # lines each side of a hit
# A compressed sibling read forward over a file object (archive.py, which had these, now reads by blocks).
OPENERS = {
    "gz": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
    "bz2": lambda f: bz2.BZ2File(f, "rb"),
    "xz": lambda f: lzma.LZMAFile(f, "rb"),
}
UNREADABLE = (OSError, EOFError, zlib.error, lzma.LZMAError)  # a corrupt or cut compressed file, a vanished disk


@dataclass
class Hit:
    """A matching line: ``ino`` and ``start``/``end`` (its bytes in its file; the
    id is ``<ino hex>-<end>``), its ``text``, and up to C lines of context each
    side as ``{"id", "text"}``, in file order."""

    ino: int
    start: int
    end: int
    text: str
    before: list[dict] = field(default_factory=list)
    after: list[dict] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.ino:x}-{self.end}"

    def as_json(self) -> dict:
        return {"id": self.id, "text": self.text, "context_before": self.before, "context_after": self.after}


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


def block_hits(query: Query, data: bytes, n: int, base: int, max_line: int, newest_first: bool = False,
               want: int | None = None) -> list[Hit]:
    """The lines of ``data[:n]`` (whole lines, starting at file offset ``base``)
    that ``query`` keeps, as hits without context, in file order (newest first
    with ``newest_first``); at most ``want`` (None: all)."""
    lf = query.line_filter
    regex = lf.block_regex() if lf is not None else None
    if regex is None or not _one_pass_finds_all(data, n, base, max_line, lf.uses_line_end):
        lines = split_complete(bytes(data[:n]), base, max_line)
        keep = query.select(lines.texts)
        starts = [base, *lines.ends[:-1]]
        hits = [Hit(0, starts[i], lines.ends[i], lines.texts[i]) for i in keep]
        if newest_first:
            hits.reverse()
        return hits[:want] if want is not None else hits
    spans = []
    pos = 0
    search, find, rfind = regex.search, data.find, data.rfind
    while pos < n:
        m = search(data, pos, n)
        if m is None:
            break
        begin = rfind(b"\n", 0, m.start()) + 1
        pos = find(b"\n", m.end(), n) + 1  # no match spans an LF, and data[n-1] is one
        spans.append((begin, pos))
    if newest_first:
        spans.reverse()
    # A line's text is its bytes here (checked above), but for the CR of a CRLF:
    # only then, or with where= clauses, can a line with a match be one the
    # query refuses.
    check = query.clauses or data.find(b"\r", 0, n) >= 0
    hits = []
    for begin, end in spans:
        text = split_complete(bytes(data[begin:end]), base + begin, max_line).texts[0]
        if not check or query.match(text):
            hits.append(Hit(0, base + begin, base + end, text))
            if want is not None and len(hits) >= want:
                break
    return hits


def _one_pass_finds_all(data: bytes, n: int, base: int, max_line: int, line_end: bool) -> bool:
    """Whether one RE2 pass over ``data[:n]`` finds a match in every line whose
    text the filter matches (see ``block_hits``)."""
    if data.find(b"\0", 0, n) >= 0 and (data[:1] == b"\0" or data.find(b"\n\0", 0, n) >= 0):  # memchr first
        return False  # a line starts with a hole: its text starts after the NULs
    if base == 0 and data.startswith(BOM):
        return False  # the first line's text starts after the byte-order mark
    if line_end and data.find(b"\r", 0, n) >= 0:
        return False  # a CRLF line's text ends before its CR: `$` would miss it
    # A line longer than max_line is cut: its text is not its bytes. Such a line
    # holds a whole aligned window of max_line // 2 bytes without an LF: a few
    # dozen finds a block, each stopping at the window's first LF.
    window = max(1, max_line // 2)
    if n > window:
        for at in range(0, n - window + 1, window):
            if data.find(b"\n", at, at + window) < 0:
                return False
    if not data.isascii():
        try:
            str(memoryview(data)[:n], "utf-8")
        except UnicodeDecodeError:
            return False  # U+FFFD in the text, a byte RE2's `.` skips in the block
    return True


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
        self.skipped: list[str] = []

    @property
    def total(self) -> int:
        return sum(r.total for r in self.regions)

    def steps(self) -> Iterator[Step]:
        order = self.regions if self.oldest_first else reversed(self.regions)
        for region in order:
            if self.remaining <= 0:
                break
            reader = _compressed if region.compressed else (_forward if self.oldest_first else _backward)
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
                yield Step(hits, self.scanned, region.rel)
                if self.remaining <= 0:
                    break
        if self.remaining <= 0:
            self.complete = False  # the limit ended it: older (newer) lines were not looked at

    def _timed(self, started: float) -> None:
        """Size the next block so that one takes about ``STEP_SECONDS``."""
        took = time.perf_counter() - started
        if took < STEP_SECONDS / 2:
            self.block = min(self.max_block, self.block * 2)
        elif took > STEP_SECONDS * 2:
            self.block = max(self.min_block, self.block // 2)

    def _hits(self, data: bytes, n: int, base: int, newest_first: bool) -> list[Hit]:
        return block_hits(self.query, data, n, base, self.max_line, newest_first, self.remaining)

    def _add_context(self, region: Region, hits: list[Hit]) -> None:
        if region.compressed:
            return  # filled in by _compressed from the decompressed window
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
        started = time.perf_counter()
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
        started = time.perf_counter()
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
        body = data[skip:] if skip else data
        hits = search._hits(body, len(body), at + skip, True)
        search.scanned += len(body)
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


def _compressed(search: Search, region: Region) -> Iterator[list[Hit]]:
    """A compressed sibling, read forward (a compressed stream has no way back).
    Newest first, its hits wait in a bounded queue of the last ``remaining`` and
    go out, newest first, once the whole file is read."""
    raw = os.fdopen(os.dup(region.fd), "rb")
    reader = OPENERS[region.compressed](raw)
    newest_first = not search.oldest_first
    try:
        kept: deque[Hit] = deque(maxlen=max(1, search.remaining))
        low, high = region.start, region.end
        base = 0  # decompressed offset of ``data``
        data = b""
        seen = 0  # compressed bytes consumed
        eof = [False]

        def read() -> bytes:
            more = reader.read(search.block)
            eof[0] = eof[0] or not more
            return more

        ahead = read()
        before = b""  # the complete lines just before ``data``, for context
        while data or ahead:
            started = time.perf_counter()
            chunk, ahead = ahead, read() if ahead else b""
            data += chunk
            cut = data.rfind(b"\n") + 1 if ahead else len(data)
            if not cut:
                continue  # a line longer than the block: read on
            # Only the lines in [low, high): offsets of the decompressed content.
            lo = min(cut, max(0, low - base))
            hi = cut
            if high is not None and high - base <= cut:  # only lines that end by ``high``, a line boundary
                hi = max(lo, high - base)
            if data[hi - 1:hi] != b"\n" and hi == len(data) and not ahead:
                hits = _flushed(search, data[lo:hi], base + lo)  # the last line has no LF
                if newest_first:
                    hits.reverse()
            elif hi > lo:
                view = data[lo:hi] if lo else data
                hits = block_hits(search.query, view, hi - lo, base + lo, search.max_line, newest_first,
                                  search.remaining)
            else:
                hits = []
            if newest_first:
                hits.reverse()  # back to file order
            if search.context:
                if hits:
                    while not eof[0] and ahead.count(b"\n") < search.context:  # the last hit's lines after
                        ahead += read()
                    _window_context(search, region, hits, before, data[:cut], base, data[cut:] + ahead, eof[0])
                before += data[:cut]
                if len(before) > MAX_BLOCK:  # keep whole lines only
                    before = before[before.find(b"\n", len(before) - MAX_BLOCK) + 1:]
            base += cut
            data = data[cut:]
            pos = raw.tell()
            search.scanned += pos - seen
            seen = pos
            search._timed(started)
            if not newest_first:
                yield hits
                if search.remaining <= 0:
                    return
            else:
                kept.extend(hits)
                yield []
            if high is not None and base >= high:
                break
        search.scanned += region.size - seen  # read to its end
        if newest_first:
            yield list(reversed(kept))
    finally:
        reader.close()
        raw.close()


def _flushed(search: Search, data: bytes, base: int) -> list[Hit]:
    """Lines of ``data``, the end of a file whose last line has no LF."""
    splitter = LineSplitter(base, search.max_line)
    lines = splitter.feed(data)
    lines.extend(splitter.flush())
    starts = [base, *lines.ends[:-1]]
    return [Hit(0, starts[i], lines.ends[i], lines.texts[i]) for i in search.query.select(lines.texts)]


def _window_context(search: Search, region: Region, hits: list[Hit], before: bytes, data: bytes, base: int,
                    after: bytes, at_end: bool) -> None:
    """Context lines of ``hits`` (in ``data``, at ``base``) from the decompressed
    bytes around them: ``before`` ends at ``base``, ``after`` starts where
    ``data`` ends and, ``at_end``, is the rest of the file."""
    window = before + data + after
    origin = base - len(before)
    c, max_line = search.context, search.max_line
    for hit in hits:
        lo = hi = hit.start - origin
        for _ in range(c):
            if lo <= 0:
                break
            lo = window.rfind(b"\n", 0, lo - 1) + 1
        hit.before = _window_lines(window, lo, hit.start - origin, origin, region.ino, max_line)
        hi = hit.end - origin
        stop = hi
        for _ in range(c):
            nl = window.find(b"\n", stop)
            if nl < 0:
                if at_end:  # the file's last line, without its LF
                    stop = len(window)
                break
            stop = nl + 1
        hit.after = _window_lines(window, hi, stop, origin, region.ino, max_line)[:c]


def _window_lines(window: bytes, lo: int, hi: int, origin: int, ino: int, max_line: int) -> list[dict]:
    if hi <= lo:
        return []
    chunk = window[lo:hi]
    splitter = LineSplitter(origin + lo, max_line)
    lines = splitter.feed(chunk)
    if not chunk.endswith(b"\n"):
        lines.extend(splitter.flush())
    return [{"id": f"{ino:x}-{e}", "text": t} for t, e in zip(lines.texts, lines.ends, strict=True)]
