"""plain_link: one plain (uncompressed) file of a history, read forwards and
backwards by line without reading it whole: going back from an offset is one
seek and block reads backwards to the previous newline (a NUL hole is jumped,
not read). Lines are cut by ``lines.read_lines``, as the tailer cuts them.
The compressed siblings' counterpart is ``archive.Archive``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from .lines import BLOCK, FIRST_BLOCK, Lines, LineSplitter, hole_start, is_line_boundary, next_data, read_lines


class PlainLink:
    """A plain (uncompressed) link on descriptor ``fd`` (owned), read up to
    ``end``: the end of the file's last complete line for the file followed
    now (its last line may be unfinished), the file's size for a rotated one
    (its last line without LF is a line, as the stream sent it). ``pause()``
    is called after each block read of a line longer than a block (a server
    passes ``gevent.sleep``: a line may be gigabytes without an LF, and live
    streams must not wait for it)."""

    def __init__(self, fd: int, end: int, max_line: int, block: int = BLOCK,
                 pause: Callable[[], object] | None = None) -> None:
        self.fd = fd
        self.size = end
        self.max_line = max_line
        self.block = block
        self.pause = pause or (lambda: None)

    def end(self) -> int:
        return self.size

    def forward(self, start: int = 0, stop: int | None = None) -> Iterator[Lines]:
        """``Lines`` from the boundary ``start`` up to ``stop`` (default: the end)."""
        yield from read_lines(self.fd, start, self.size if stop is None else min(stop, self.size), self.max_line,
                              final=True, block=self.block)

    def ranges_back(self, stop: int) -> Iterator[tuple[int, int]]:
        """``(start, end)`` spans of whole lines before ``stop``, newest first,
        growing from ``FIRST_BLOCK`` to ``block`` bytes: one seek and block reads
        backwards to the previous newline (a hole is jumped, not read)."""
        end, size = min(stop, self.size), min(FIRST_BLOCK, self.block)
        while end > 0:
            low = max(0, end - size)
            size = min(size * 2, self.block)
            if low == 0:
                yield 0, end
                return
            data = os.pread(self.fd, end - low, low)
            nl = data.find(b"\n", 0, max(0, len(data) - 1))  # an LF before the last byte starts a line
            start = low + nl + 1 if nl >= 0 else self._line_start(low)
            yield start, end
            end = start

    def last_line_end(self) -> int:
        """The offset just past the last LF before ``size`` (0 if none), as
        ``lines.last_line_end`` finds it, pausing after each block: the file
        followed now may end in an unfinished line of any length."""
        if self.size == 0 or os.pread(self.fd, 1, self.size - 1) == b"\n":
            return self.size
        return self._line_start(self.size)

    def _line_start(self, pos: int) -> int:
        """The start of the line holding byte ``pos - 1`` (a line longer than a block)."""
        while pos > 0:
            low = max(0, pos - self.block)
            data = os.pread(self.fd, pos - low, low)
            nl = data.rfind(b"\n")
            if nl >= 0:
                return low + nl + 1
            pos = hole_start(self.fd, low) if data.count(0) == len(data) else low
            self.pause()
        return 0

    def backward(self, stop: int | None = None) -> Iterator[tuple[int, Lines]]:
        """``(start, lines)``: lines ending at most at ``stop``, newest chunk first,
        each beginning at the line boundary ``start``."""
        for start, end in self.ranges_back(self.size if stop is None else stop):
            out = Lines()
            if end - start > self.block:  # one line longer than a block (ranges_back's spans are at most one)
                out = self._long_line(start, end)
            else:
                for lines in read_lines(self.fd, start, end, self.max_line, final=True, block=self.block):
                    out.extend(lines)
            if out:
                yield start, out

    def _long_line(self, start: int, end: int) -> Lines:
        """The line [start, end) cut by the one definition (``LineSplitter``, as
        ``read_lines`` feeds it: a hole at its start jumped), pausing after each
        block."""
        splitter, pos = LineSplitter(start, self.max_line), start
        while pos < end:
            if splitter.hole:
                skip = next_data(self.fd, pos, end) - pos
                splitter.skip_hole(skip)
                pos += skip
                if pos >= end:
                    break
            data = os.pread(self.fd, min(self.block, end - pos), pos)
            if not data:
                break  # the file shrank under us
            pos += len(data)
            out = splitter.feed(data)
            if out:  # the line's LF, at end - 1
                return out
            self.pause()
        return splitter.flush()

    def has_lines(self) -> bool:
        """Whether a line ends in this link: whether any byte before its end is
        not a NUL (NULs alone are a hole, no line; anything else starts or ends
        one). Reads up to the first such byte, jumping holes: never a whole
        line that has no end in sight."""
        pos = 0
        while pos < self.size:
            pos = next_data(self.fd, pos, self.size)
            data = os.pread(self.fd, min(self.block, self.size - pos), pos) if pos < self.size else b""
            if not data:
                return False
            if data.strip(b"\0"):
                return True
            pos += len(data)
        return False

    def is_boundary(self, offset: int) -> bool:
        return offset == self.size or is_line_boundary(self.fd, offset)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
