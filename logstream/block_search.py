"""block_search: one block of whole lines searched with one RE2 pass, and the
hits it finds.

Owns the fast path of a search: RE2 runs once over a block of many lines
(``LineFilter.block_regex``: ``(?m)``, no match across an LF), and only the lines
around its matches are cut out: ids are byte offsets, so lines are never counted
nor split where nothing matched. Owns too the proof that the pass misses no line
the client's filter keeps: where it could (an inverted filter, ``where=`` alone, a
line longer than ``max_line``, bytes that are not UTF-8, a CR before the LF with a
``$`` pattern, a hole or a byte-order mark at a line start), the block is split by
``lines.split_complete`` and filtered line by line, as the stream does. Pure: no
I/O, no gevent.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field

from .lines import BOM, split_complete
from .query import Query


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


def block_hits(query: Query, data: bytes, n: int, base: int, max_line: int, newest_first: bool = False,
               want: int | None = None, lo: int = 0) -> list[Hit]:
    """The lines of ``data[lo:n]`` (whole lines; ``data[lo]`` is at file offset
    ``base``) that ``query`` keeps, as hits without context, in file order
    (newest first with ``newest_first``); at most ``want`` (None: all)."""
    lf = query.line_filter
    regex = lf.block_regex() if lf is not None else None
    any_bytes = regex is not None and lf.ascii_only  # no UTF-8 check: see LineFilter.ascii_only
    if regex is None or not _one_pass_finds_all(data, lo, n, base, max_line, lf.uses_line_start, lf.uses_line_end,
                                                any_bytes):
        lines = split_complete(bytes(data[lo:n]), base, max_line)
        keep = query.select(lines.texts)
        starts = [base, *lines.ends[:-1]]
        hits = [Hit(0, starts[i], lines.ends[i], lines.texts[i]) for i in keep]
        if newest_first:
            hits.reverse()
        return hits[:want] if want is not None else hits
    spans = []
    pos = lo
    prefilter = lf.block_prefilter()
    tail = prefilter.choose(data, lo, n) if prefilter is not None else None
    search, find, rfind = (tail or regex).search, data.find, data.rfind
    whole = regex.search
    refused = 0
    while pos < n:
        m = search(data, pos, n)
        if m is None or m.start() >= n:
            break  # an empty match at n (`^$`) is the line after the block: from it, find() would restart at 0
        begin = rfind(b"\n", lo, m.start()) + 1 or lo
        pos = find(b"\n", m.end(), n) + 1  # no match spans an LF, and data[n-1] is one
        # A line with a match of the tail is the pattern's only if the pattern
        # matches in it: searched in the whole block, ^ $ \b see its neighbours.
        if tail is not None and whole(data, begin, pos - 1) is None:
            refused += 1
            if prefilter.refuses(len(spans), refused):
                tail, search = None, whole  # the rest of the block (and of the search) as without a prefilter
            continue
        spans.append((begin, pos))
    if newest_first:
        spans.reverse()
    # A line's text is its bytes here (checked above), but for the CR of a CRLF:
    # only then, or with where= clauses, can a line with a match be one the
    # query refuses. Few lines (under one per KiB) are looked at one by one: a
    # memchr of the whole block is ~0.4 ms, a fifth of a rare pattern's scan.
    by_line = not query.clauses and len(spans) * 1024 < n - lo
    block_check = bool(spans) and not by_line and (query.clauses or data.find(b"\r", lo, n) >= 0)
    base -= lo
    hits = []
    for begin, end in spans:
        # A hole (NULs where a line starts) is not text: such a line is cut out
        # as the stream does, and the query asked (the match may be in the NULs).
        check = block_check or (by_line and data.find(b"\r", begin, end) >= 0) or not data[begin]
        if check:
            text = split_complete(bytes(data[begin:end]), base + begin, max_line).texts[0]
        else:  # no CR, hole or mark, within max_line: the bytes are the text (U+FFFD for what is not UTF-8)
            text = str(data[begin:end - 1], "utf-8", "replace")
        if not check or query.match(text):
            hits.append(Hit(0, base + begin, base + end, text))
            if want is not None and len(hits) >= want:
                break
    return hits


def _one_pass_finds_all(data: bytes, lo: int, n: int, base: int, max_line: int, line_start: bool, line_end: bool,
                        any_bytes: bool = False) -> bool:
    """Whether one RE2 pass over ``data[lo:n]`` finds a match in every line whose
    text the filter matches (see ``block_hits``); ``line_start``/``line_end``:
    the pattern may test where a line starts (``^``) or ends (``$``);
    ``any_bytes``: the pattern matches ASCII only, bytes that are not UTF-8 need
    no check (saves an ``isascii`` pass, ~0.14 s/GiB)."""
    # A line that starts with a hole: its text starts after the NULs. A match in
    # the text is one in the bytes (a NUL before it is no word character, as
    # nothing is, for \b), unless the pattern tests the line's start; hits in such
    # lines are checked one by one (block_hits). A memchr saved: ~0.1 s/GiB.
    if line_start and data.find(b"\0", lo, n) >= 0 and (data[lo:lo + 1] == b"\0" or data.find(b"\n\0", lo, n) >= 0):
        return False  # memchr first: \n\0 is slow
    if base == 0 and data.startswith(BOM, lo, n):
        return False  # the first line's text starts after the byte-order mark
    if line_end and data.find(b"\r", lo, n) >= 0:
        return False  # a CRLF line's text ends before its CR: `$` would miss it
    # A line longer than max_line is cut: its text is not its bytes. Such a line
    # holds a whole aligned window of max_line // 2 bytes without an LF: a few
    # dozen finds a block, each stopping at the window's first LF.
    window = max(1, max_line // 2)
    if n - lo > window:
        for at in range(lo, n - window + 1, window):
            if data.find(b"\n", at, at + window) < 0:
                return False
    if not any_bytes and not data.isascii():  # all of data: a reused buffer's bytes past n only make it cautious
        try:
            str(memoryview(data)[lo:n], "utf-8")
        except UnicodeDecodeError:
            return False  # U+FFFD in the text, a byte RE2's `.` skips in the block
    return True


MAX_BLOCK = 4 * 1024 * 1024  # bytes: RE2 over 4 MiB costs ~1-4 ms; bigger gained nothing (docs/benchmarks.md)


def clock() -> tuple[float, float, int]:
    """Wall time, this thread's CPU time (seconds), the blocks it read from a disk
    so far: what a search sizes its next block by."""
    return time.perf_counter(), time.thread_time(), resource.getrusage(resource.RUSAGE_THREAD).ru_inblock
