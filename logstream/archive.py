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
decompresses it once. Never opens a path itself: it is
handed a descriptor the gate (``paths.open_file``) opened.
"""

from __future__ import annotations

import bz2
import lzma
import os
import zlib
from collections import OrderedDict
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
BACK_BLOCK = 256 * 1024  # decompressed bytes cut into lines at a time when reading backwards


class ArchiveError(Exception):
    """The archive is corrupt or truncated (its decompressor says so)."""


class Archive:
    """One compressed sibling: ``kind`` (``gz``, ``bz2``, ``xz``) over descriptor
    ``fd`` (owned: ``close()`` closes it), cut into lines of at most ``max_line``
    bytes; ``pause()`` is called after each block decompressed. ``size`` is its decompressed length,
    known once it was read to the end (``end()`` reads it if needed)."""

    def __init__(self, fd: int, kind: str, max_line: int, block: int = BACK_BLOCK,
                 pause: Callable[[], object] | None = None) -> None:
        if kind not in DECOMPRESSORS:
            raise ValueError(f"no decompressor for .{kind}")
        self.fd = fd
        self.kind = kind
        self.max_line = max_line
        self.block = block  # decompressed bytes cut into lines at a time when reading backwards
        self.pause = pause or (lambda: None)  # called after each block decompressed (a server yields there)
        st = os.fstat(fd)
        # An archive does not change; its identity, to the cache: the file, and its
        # last bytes (gzip's CRC-32 and length, bzip2's and xz's checksums and index).
        self.key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, os.pread(fd, 64, max(0, st.st_size - 64)))
        cached = _CACHE.get(self.key)
        self.size: int | None = len(cached) if cached is not None else None

    def _chunks(self) -> Iterator[bytes]:
        """The decompressed content from its start, as the decompressor gives it
        (from the cache when it holds it). Raises ``ArchiveError``."""
        cached = _CACHE.get(self.key)
        if cached is not None:
            _CACHE.move_to_end(self.key)
            for at in range(0, len(cached), CHUNK):
                yield cached[at:at + CHUNK]
            return
        # The decompressor objects, fed with pread blocks: several times faster than
        # GzipFile over a file object, and a concatenation of streams (gzip
        # members, bzip2 or xz streams) reads as one content, as zcat reads it.
        total, pos, read = 0, 0, FIRST_BLOCK // 4  # small first: the first lines come at once
        decompressor = DECOMPRESSORS[self.kind]()
        try:
            while True:
                raw = os.pread(self.fd, read, pos)
                read = READ
                if not raw:
                    break
                pos += len(raw)
                while raw:
                    data = decompressor.decompress(raw)
                    raw = b""
                    if data:
                        total += len(data)
                        yield data
                        self.pause()
                    if decompressor.eof:
                        raw = decompressor.unused_data
                        if not raw.strip(b"\0"):  # padding after the last stream
                            self.size = total
                            return
                        decompressor = DECOMPRESSORS[self.kind]()
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
            raise ArchiveError(str(exc)) from None
        if not decompressor.eof:
            raise ArchiveError("the archive ends early (truncated)")
        self.size = total

    def end(self) -> int:
        """The decompressed length (reads the archive once, then remembered)."""
        if self.size is None:
            for _ in self._chunks():
                pass
        return self.size or 0

    def forward(self, start: int = 0, stop: int | None = None) -> Iterator[Lines]:
        """``Lines`` ending after ``start`` and at most at ``stop`` (None: to the
        end; the last line without an LF is a line, as for a rotated plain file),
        oldest first. ``start`` must be a line boundary."""
        cached = _CACHE.get(self.key)
        if cached is not None:  # start at start: no need to cut what comes before
            splitter = LineSplitter(start, self.max_line)
            source = (cached[at:at + CHUNK] for at in range(start, len(cached), CHUNK))
        else:
            splitter, source = LineSplitter(0, self.max_line), self._chunks()
        for data in source:
            lines = splitter.feed(data)
            if lines:
                part = _between(lines, start, stop)
                if part:
                    yield part
                if stop is not None and lines.ends[-1] >= stop:
                    return
        lines = splitter.flush()
        part = _between(lines, start, stop) if lines else None
        if part:
            yield part

    def backward(self, stop: int | None = None) -> Iterator[tuple[int, Lines]]:
        """``(start, lines)``: lines ending at most at ``stop``, newest chunk first
        (each chunk's lines in file order, beginning at the boundary ``start``).
        Decompresses the archive once (``content``); cuts it into lines only as
        far back as the caller reads."""
        content = self.content()
        end = len(content) if stop is None else min(stop, len(content))
        pos = end
        while pos > 0:
            low = max(0, pos - self.block)
            if low > 0:
                low = content.rfind(b"\n", 0, low) + 1  # a line boundary (0 if none)
            splitter = LineSplitter(low, self.max_line)
            lines = splitter.feed(content[low:pos])
            if pos == len(content):
                lines.extend(splitter.flush())  # the archive's last line, without LF, is a line
            if lines:
                yield low, lines
            pos = low

    def content(self) -> bytes:
        """The whole decompressed content, kept in a small process-wide cache (up
        to ``CACHE_BYTES``, least recently used out) so that paging back through
        an archive, one request per page, decompresses it once, not once a page."""
        cached = _CACHE.get(self.key)
        if cached is not None:
            _CACHE.move_to_end(self.key)
            return cached
        content = b"".join(self._chunks())
        if len(content) <= CACHE_BYTES:
            _CACHE[self.key] = content
            while sum(map(len, _CACHE.values())) > CACHE_BYTES:
                _CACHE.popitem(last=False)
        return content

    def is_boundary(self, offset: int) -> bool:
        """Whether a line ends at ``offset`` (or it is 0): an id may name it."""
        content = self.content()
        return offset in (0, len(content)) or content[offset - 1:offset] == b"\n"

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


