"""search_archive: a search's pass over a compressed sibling (``.gz``, ``.bz2``,
``.xz``), read forward through the standard library's file readers (they handle
concatenated members and bound what one read returns). Its ids are offsets in
the decompressed content, as ``archive.Archive`` gives them; newest first, the
hits of a file are held until it is read to its end (at most ``MAX_HELD``
bytes of text). Context lines come from the decompressed window around each
hit. Pure like ``search``: given a descriptor the path gate opened.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import zlib
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .block_search import MAX_BLOCK, Hit, block_hits, clock
from .lines import LineSplitter

if TYPE_CHECKING:
    from .search import Region, Search

# Read forward through the standard library's file readers: they handle concatenated
# members and bound what one read returns (a small file that inflates hugely cannot
# flood memory). history's Archive works on decompressor objects for its cache.
OPENERS = {"gz": lambda f: gzip.GzipFile(fileobj=f, mode="rb"), "bz2": bz2.BZ2File, "xz": lzma.LZMAFile}
MAX_HELD = 64 * 1024 * 1024  # bytes of text a compressed file's hits may hold until it is read to its end
UNREADABLE = (OSError, EOFError, zlib.error, lzma.LZMAError)  # a corrupt or cut compressed file, a vanished disk


def compressed_hits(search: Search, region: Region) -> Iterator[list[Hit]]:
    """A compressed sibling, read forward (a compressed stream has no way back).
    Newest first, its hits wait in a bounded queue of the last ``remaining`` and
    go out, newest first, once the whole file is read."""
    raw = os.fdopen(os.dup(region.fd), "rb")
    reader = OPENERS[region.compressed](raw)
    newest_first = not search.oldest_first
    try:
        kept: deque[Hit] = deque()
        held, dropped = 0, False
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
            started = clock()
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
                held += sum(_held(hit) for hit in hits)
                while len(kept) > search.remaining:  # the newest ``remaining`` are all it may send
                    held -= _held(kept.popleft())
                while held > MAX_HELD and len(kept) > 1:
                    # Bounded memory: the oldest held hits go, and the search must stop
                    # after this file (what comes next is older than what was dropped).
                    held -= _held(kept.popleft())
                    dropped = True
                yield []
            if high is not None and base >= high:
                break
        search.scanned += region.size - seen  # read to its end
        if newest_first:
            yield list(reversed(kept))
            if dropped:
                search.remaining = 0
    finally:
        reader.close()
        raw.close()


def _held(hit: Hit) -> int:
    """Bytes of text a hit holds, its context included (roughly)."""
    return len(hit.text) + sum(len(line["text"]) for line in (*hit.before, *hit.after)) + 100


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
