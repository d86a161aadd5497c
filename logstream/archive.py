"""archive: a compressed rotated sibling (``app.log.2.gz``, ``.bz2``, ``.xz``) read
as lines, through the standard library's decompressors.

Owns reading one archive's decompressed content into lines with their ids'
offsets: a line's offset is the offset just past it in the *decompressed*
content, so ``<inode hex>-<offset>`` names a line of an archive as it names one
of a plain file. Lines are cut by ``lines.LineSplitter``, the one definition of
a line (BOM, holes, CRLF, max line length), exactly as the tailer cut them.

A gzip/bzip2/xz stream has no random access: reaching an offset decompresses
everything before it (measured in docs/benchmarks.md). Reading backwards holds
the decompressed bytes read so far in memory (an archive is a rotated file, at
most what ``logrotate`` made of one day). Never opens a path itself: it is
handed a descriptor the gate (``paths.open_file``) opened.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from collections.abc import Iterator

from .lines import FIRST_BLOCK, Lines, LineSplitter

OPENERS = {  # over a file object; .zst: no decompressor in the standard library
    "gz": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
    "bz2": lambda f: bz2.BZ2File(f, "rb"),
    "xz": lambda f: lzma.LZMAFile(f, "rb"),
}
CHUNK = 1024 * 1024  # decompressed bytes per read


class ArchiveError(Exception):
    """The archive is corrupt or truncated (its decompressor says so)."""


class Archive:
    """One compressed sibling: ``kind`` (``gz``, ``bz2``, ``xz``) over descriptor
    ``fd`` (owned: ``close()`` closes it). ``size`` is its decompressed length,
    known once it was read to the end (``end()`` reads it if needed)."""

    def __init__(self, fd: int, kind: str, max_line: int) -> None:
        if kind not in OPENERS:
            raise ValueError(f"no decompressor for .{kind}")
        self.fd = fd
        self.kind = kind
        self.max_line = max_line
        self.size: int | None = None

    def _chunks(self) -> Iterator[bytes]:
        """The decompressed content from its start, ``CHUNK`` bytes at a time.
        Raises ``ArchiveError``."""
        raw = io.BufferedReader(_Positioned(self.fd), CHUNK)
        total = 0
        try:
            with OPENERS[self.kind](raw) as z:
                size = FIRST_BLOCK  # small first: the first lines (a first timestamp) come at once
                while True:
                    try:
                        data = z.read(size)
                        size = CHUNK
                    except (OSError, EOFError, lzma.LZMAError) as exc:
                        raise ArchiveError(str(exc)) from None
                    if not data:
                        break
                    total += len(data)
                    yield data
            self.size = total
        finally:
            raw.close()

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
        splitter = LineSplitter(0, self.max_line)
        for data in self._chunks():
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
        Decompresses up to ``stop`` once, holding it."""
        chunks, start = [], 0
        for lines in self.forward(0, stop):
            chunks.append((start, lines))
            start = lines.ends[-1]
        yield from reversed(chunks)

    def is_boundary(self, offset: int) -> bool:
        """Whether a line ends at ``offset`` (or it is 0): an id may name it."""
        if offset == 0:
            return True
        return any(True for _ in self.forward(offset - 1, offset))

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



class _Positioned(io.RawIOBase):
    """A read-only file over ``fd`` with its own position (``pread``): several
    readers of one archive never move each other's place, nor close ``fd``."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self.pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = os.pread(self.fd, len(buffer), self.pos)
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)
