"""archive: a compressed rotated sibling (``app.log.2.gz``, ``.bz2``, ``.xz``) read
as lines, through the standard library's decompressors.

Owns reading one archive's decompressed content into lines with their ids'
offsets: a line's offset is the offset just past it in the *decompressed*
content, so ``<inode hex>-<offset>`` names a line of an archive as it names one
of a plain file. Lines are cut by ``lines.LineSplitter``, the one definition of
a line (BOM, holes, CRLF, max line length), exactly as the tailer cut them.

A gzip/bzip2/xz stream has no random access: reaching an offset decompresses
everything before it (measured in docs/benchmarks.md). Reading backwards holds
an archive's decompressed content in memory, in a small process-wide cache
(``CACHE_BYTES``, least recently used out), so paging back through it
decompresses it once. An archive larger than that is never held whole: reading
back from an offset decompresses up to it, keeping only the last ``WINDOW``
bytes (once per window: slower, but memory stays bounded whatever the archive).
No decompressor call returns more than ``CHUNK`` bytes, so an archive that
inflates a thousandfold cannot flood memory either. Never opens a path itself: it is
handed a descriptor the gate (``paths.open_file``) opened.
"""

from __future__ import annotations

import bz2
import lzma
import os
import zlib
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator

from .lines import FIRST_BLOCK, Lines, LineSplitter

DECOMPRESSORS = {  # .zst: no decompressor in the standard library
    "gz": lambda: zlib.decompressobj(wbits=31),
    "bz2": bz2.BZ2Decompressor,
    "xz": lzma.LZMADecompressor,
}
READ = 256 * 1024  # compressed bytes per read
CHUNK = 1024 * 1024  # decompressed bytes per read
CACHE_BYTES = 256 * 1024 * 1024  # decompressed archives kept in memory, all together
_CACHE: OrderedDict[tuple, bytes] = OrderedDict()  # Archive.key -> decompressed content
_SIZES: OrderedDict[tuple, int] = OrderedDict()  # Archive.key -> decompressed length, of archives too large to cache
MAX_SIZES = 1024  # archives whose length _SIZES remembers (so the next request does not read one through to learn it)
BACK_BLOCK = 256 * 1024  # decompressed bytes cut into lines at a time when reading backwards
WINDOW = 32 * 1024 * 1024  # decompressed bytes held when reading back through an archive too large to cache


class ArchiveError(Exception):
    """The archive is corrupt or truncated (its decompressor says so)."""


class Archive:
    """One compressed sibling: ``kind`` (``gz``, ``bz2``, ``xz``) over descriptor
    ``fd`` (owned: ``close()`` closes it), cut into lines of at most ``max_line``
    bytes; ``pause()`` is called after each block decompressed. ``size`` is its decompressed length,
    known once it was read to the end (``end()`` reads it if needed). An archive
    of at most ``cache_bytes`` decompressed is held whole (and cached); a larger
    one is read back ``window`` bytes at a time."""

    def __init__(self, fd: int, kind: str, max_line: int, block: int = BACK_BLOCK,
                 pause: Callable[[], object] | None = None, cache_bytes: int = CACHE_BYTES,
                 window: int = WINDOW) -> None:
        if kind not in DECOMPRESSORS:
            raise ValueError(f"no decompressor for .{kind}")
        self.fd = fd
        self.kind = kind
        self.max_line = max_line
        self.block = block  # decompressed bytes cut into lines at a time when reading backwards
        self.pause = pause or (lambda: None)  # called after each block decompressed (a server yields there)
        self.cache_bytes = cache_bytes
        self.window = max(window, 1)
        st = os.fstat(fd)
        # An archive does not change; its identity, to the cache: the file, and its
        # last bytes (gzip's CRC-32 and length, bzip2's and xz's checksums and index).
        self.key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, os.pread(fd, 64, max(0, st.st_size - 64)))
        cached = _CACHE.get(self.key)
        self.size: int | None = len(cached) if cached is not None else _SIZES.get(self.key)

    def _chunks(self) -> Iterator[bytes]:
        """The decompressed content from its start, at most ``CHUNK`` bytes at a
        time (from the cache when it holds it). Raises ``ArchiveError``."""
        cached = _CACHE.get(self.key)
        if cached is not None:
            _CACHE.move_to_end(self.key)
            for at in range(0, len(cached), CHUNK):
                yield cached[at:at + CHUNK]
            return
        # The decompressor objects, fed with pread blocks: several times faster than
        # GzipFile over a file object, and a concatenation of streams (gzip
        # members, bzip2 or xz streams) reads as one content, as zcat reads it.
        # Each call returns at most CHUNK bytes: a block of a bomb inflates to
        # gigabytes in one call otherwise.
        total, pos, read = 0, 0, FIRST_BLOCK // 4  # small first: the first lines come at once
        decompressor = DECOMPRESSORS[self.kind]()
        fresh = True  # the decompressor has had no input: the file may end here
        try:
            while True:
                raw = os.pread(self.fd, read, pos)
                read = READ
                if not raw:
                    break
                pos += len(raw)
                while raw or not fresh:
                    if fresh and not raw.strip(b"\0"):
                        break  # padding after the last stream (or a stream ended with the block read)
                    data = decompressor.decompress(raw, CHUNK)
                    fresh = False
                    raw = getattr(decompressor, "unconsumed_tail", b"")  # zlib keeps what it did not take there
                    if data:
                        total += len(data)
                        yield data
                        self.pause()
                    if decompressor.eof:  # a stream ended: another may follow, in this block or the next
                        raw = decompressor.unused_data
                        decompressor, fresh = DECOMPRESSORS[self.kind](), True
                    elif not raw and len(data) < CHUNK and getattr(decompressor, "needs_input", True):
                        break  # this block is spent: read the next
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
            raise ArchiveError(str(exc)) from None
        if not fresh:
            raise ArchiveError("the archive ends early (truncated)")
        self.size = total

    def end(self) -> int:
        """The decompressed length (reads the archive once, then remembered; one
        small enough is cached on the way)."""
        if self.size is None:
            self.content()
        return self.size or 0

    def forward(self, start: int = 0, stop: int | None = None) -> Iterator[Lines]:
        """``Lines`` ending after ``start`` and at most at ``stop`` (None: to the
        end; the last line without an LF is a line, as for a rotated plain file),
        oldest first. ``start`` must be a line boundary."""
        cached = _CACHE.get(self.key)
        if cached is not None:  # start at start: no need to cut what comes before
            splitter, fed = LineSplitter(start, self.max_line), start
            source = (cached[at:at + CHUNK] for at in range(start, len(cached), CHUNK))
        else:
            splitter, fed, source = LineSplitter(0, self.max_line), 0, self._chunks()
        for data in source:
            lines = splitter.feed(data)
            fed += len(data)
            if lines:
                part = _between(lines, start, stop)
                if part:
                    yield part
            if stop is not None and fed > stop:
                return  # every line ending at stop or before has come (a line longer than that is not read through)
        lines = splitter.flush()
        part = _between(lines, start, stop) if lines else None
        if part:
            yield part

    def backward(self, stop: int | None = None) -> Iterator[tuple[int, Lines]]:
        """``(start, lines)``: lines ending at most at ``stop``, newest chunk first
        (each chunk's lines in file order, beginning at the boundary ``start``).
        Decompresses the archive once (``content``), or, too large to hold, once
        per ``window`` bytes read back; cuts it into lines only as far back as
        the caller reads."""
        content = self.content()
        if content is None:
            yield from self._backward_windowed(self.end() if stop is None else min(stop, self.end()))
            return
        yield from self._back_through(content, 0, 0, len(content) if stop is None else min(stop, len(content)))

    def _back_through(self, data: bytes, base: int, low_end: int, high: int) -> Iterator[tuple[int, Lines]]:
        """Lines of ``data`` (which starts at offset ``base``) from the boundary
        ``low_end`` to ``high``, newest block first."""
        pos = high
        while pos > low_end:
            low = max(low_end, pos - self.block)
            if low > low_end:
                low = max(low_end, base + data.rfind(b"\n", low_end - base, low - base) + 1)  # a line boundary
            splitter = LineSplitter(low, self.max_line)
            lines = splitter.feed(data[low - base:pos - base])
            if pos == self.size:
                lines.extend(splitter.flush())  # the archive's last line, without LF, is a line
            if lines:
                yield low, lines
            pos = low

    def _backward_windowed(self, high: int) -> Iterator[tuple[int, Lines]]:
        """``backward`` for an archive too large to hold: for each window, the
        archive is decompressed from its start up to ``high``, keeping the last
        ``window`` bytes (and where the line holding the window's first byte
        starts); the whole lines in them go out, then the next window back."""
        while high > 0:
            base, data, line_start = self._window(high)
            if line_start == base:
                low = base
            else:  # the window begins inside a line: its lines start after the first LF
                nl = data.find(b"\n", 0, max(0, high - base - 1))
                low = base + nl + 1 if nl >= 0 else line_start
            if low < base:  # one line longer than the window: read it forward, cut to max_line
                lines = Lines()
                for part in self.forward(low, high):
                    lines.extend(part)
                if lines:
                    yield low, lines
            else:
                yield from self._back_through(data, base, low, high)
            high = low

    def _window(self, high: int) -> tuple[int, bytes, int]:
        """``(base, content[base:high], start of the line holding byte base)``,
        ``base`` at most ``window`` bytes before ``high`` (0 if closer)."""
        kept: deque[bytes] = deque()
        base = held = at = line_start = 0
        for chunk in self._chunks():
            take = chunk[:max(0, high - at)]
            kept.append(take)
            held += len(take)
            at += len(chunk)
            while held - len(kept[0]) >= self.window:
                dropped = kept.popleft()
                nl = dropped.rfind(b"\n")
                if nl >= 0:
                    line_start = base + nl + 1
                base += len(dropped)
                held -= len(dropped)
            if at >= high:
                break
        data = b"".join(kept)
        cut = max(0, len(data) - self.window)
        if cut:
            nl = data.rfind(b"\n", 0, cut)
            if nl >= 0:
                line_start = base + nl + 1
            data, base = data[cut:], base + cut
        return base, data, line_start

    def content(self) -> bytes | None:
        """The whole decompressed content, kept in a small process-wide cache (up
        to ``cache_bytes``, least recently used out) so that paging back through
        an archive, one request per page, decompresses it once, not once a page.
        None for an archive larger than that (never held whole). Raises
        ``ArchiveError``."""
        cached = _CACHE.get(self.key)
        if cached is not None:
            _CACHE.move_to_end(self.key)
            self.size = len(cached)  # cached by another reader of the same archive since this one opened
            return cached
        if self.size is not None and self.size > self.cache_bytes:
            return None
        parts: list[bytes] | None = []
        total = 0
        for data in self._chunks():
            total += len(data)
            if parts is not None:
                parts.append(data)
                if total > self.cache_bytes:
                    parts = None  # too large to hold: read on only to learn its size
        if parts is None:
            _SIZES[self.key] = total
            while len(_SIZES) > MAX_SIZES:
                _SIZES.popitem(last=False)
            return None
        content = b"".join(parts)
        _CACHE[self.key] = content
        while sum(map(len, _CACHE.values())) > CACHE_BYTES:
            _CACHE.popitem(last=False)
        return content

    def has_lines(self) -> bool:
        """Whether a line ends in this archive: any decompressed byte that is not
        a NUL (as ``PlainLink.has_lines``); decompresses only up to it. Raises
        ``ArchiveError``."""
        return any(chunk.strip(b"\0") for chunk in self._chunks())

    def is_boundary(self, offset: int) -> bool:
        """Whether a line ends at ``offset`` (or it is 0): an id may name it."""
        content = self.content()
        if content is not None:
            return offset in (0, len(content)) or content[offset - 1:offset] == b"\n"
        if offset in (0, self.end()):
            return True
        if not 0 < offset < self.end():
            return False
        at = 0
        for chunk in self._chunks():
            if at + len(chunk) >= offset:
                return chunk[offset - 1 - at:offset - at] == b"\n"
            at += len(chunk)
        return False

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _between(lines: Lines, start: int, stop: int | None) -> Lines | None:
    """The lines of ``lines`` with ``start < end <= stop``."""
    ends = lines.ends
    if ends[0] > start and (stop is None or ends[-1] <= stop):
        return lines
    i = 0
    while i < len(ends) and ends[i] <= start:
        i += 1
    j = len(ends)
    if stop is not None:
        while j > i and ends[j - 1] > stop:
            j -= 1
    return Lines(lines.texts[i:j], ends[i:j]) if j > i else None


