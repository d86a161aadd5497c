"""lines: bytes of a log file to lines of text, with the byte offset just past each.

Owns the single definition of what a line is, shared by the tailer (live), the
catch-up reader and the backlog reader, so that every path cuts the same file into
the same lines and every id means the same position (promise: no line lost, none
repeated). Lines end at LF, and only at LF: a CR alone (old Mac line ends, the
``\r`` a progress bar redraws with) is text, so a line's id is always the offset
past an LF byte and a CRLF split across two reads is still one line end. A
trailing CR (of a CRLF) is dropped; invalid UTF-8 becomes U+FFFD; a line longer
than ``max_line`` bytes keeps its first ``max_line`` bytes and a marker.

What is not text keeps its place in the offsets (ids stay true byte positions)
but not in the text: a UTF-8 byte-order mark at offset 0 of a file (the first
line loses it), and a run of NUL bytes where a line starts (a hole: a writer that
kept its old offset after a copytruncate, a sparse or preallocated file; the line
starts after it). NULs inside a line are text.

Never reads a file from its start to find its end; never holds more than
``max_line`` bytes of an unfinished line, nor reads a hole the file system knows
is one (``SEEK_DATA``).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field

CUT_MARKER = " […cut {} bytes]"
BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark: Windows editors and .NET writers start files with it
BLOCK = 256 * 1024
FIRST_BLOCK = 16 * 1024
_ZEROS = bytes(BLOCK)


@dataclass
class Lines:
    """Complete lines and, for each, the file offset just past its newline."""

    texts: list[str] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def extend(self, other: Lines) -> None:
        self.texts.extend(other.texts)
        self.ends.extend(other.ends)


def split_complete(chunk: bytes, base: int, max_line: int) -> Lines:
    """Split ``chunk`` (which starts at file offset ``base`` and ends with LF, or is
    empty) into lines. Bulk operations only: one split, one decode per chunk."""
    if not chunk:
        return Lines()
    marked = base == 0 and chunk.startswith(BOM)
    parts = chunk.split(b"\n")
    parts.pop()  # the empty piece after the final LF
    ends = []
    pos = base
    for part in parts:
        pos += len(part) + 1
        ends.append(pos)
    if b"\0" in chunk and (chunk[:1] == b"\0" or b"\n\0" in chunk):  # a line starts with a hole (memchr first)
        parts = [part.lstrip(b"\0") for part in parts]
        chunk = b"\n".join(parts) + b"\n"
    if max(map(len, parts)) > max_line:
        texts = [_text(part, max_line) for part in parts]
    else:
        text = chunk.decode("utf-8", "replace")
        if "\r\n" in text:
            text = text.replace("\r\n", "\n")
        texts = text.split("\n")
        texts.pop()
    if marked:
        texts[0] = _unmarked(texts[0])
    return Lines(texts, ends)


def _unmarked(text: str) -> str:
    """The first line of a file without its byte-order mark (decoded: U+FEFF)."""
    return text[1:] if text.startswith("\ufeff") else text


def _text(part: bytes, max_line: int, dropped: int = 0, cr: bool = False) -> str:
    """One line's text; ``dropped`` counts bytes already discarded past ``max_line``,
    ``cr`` says whether the last of them is the CR of a CRLF (not text either)."""
    if dropped:
        dropped -= cr
    elif part.endswith(b"\r"):
        part = part[:-1]
    cut = dropped + max(0, len(part) - max_line)
    if cut:
        return part[:max_line].decode("utf-8", "replace") + CUT_MARKER.format(cut)
    return part.decode("utf-8", "replace")


class LineSplitter:
    """Cuts a stream of appended bytes into lines, holding an unfinished last line
    until its newline arrives. ``offset`` is the file offset just past the last
    complete line handed out; ``pending`` the bytes taken in after it: a hole of
    NULs the unfinished line starts with, then the line's own bytes."""

    def __init__(self, offset: int, max_line: int) -> None:
        self.offset = offset
        self.max_line = max_line
        self._hole = 0  # NULs before the unfinished line's first byte: not text
        self._partial = b""  # at most max_line bytes of the unfinished line
        self._dropped = 0  # bytes of the unfinished line beyond those
        self._cr = False  # the last byte taken in is a CR (of a CRLF, if an LF comes next)

    @property
    def pending(self) -> int:
        return self._hole + len(self._partial) + self._dropped

    @property
    def hole(self) -> int:
        """NULs taken in where a line should start, with no text after them yet."""
        return 0 if self._partial or self._dropped else self._hole

    def give_back_hole(self) -> int:
        """Forget ``hole`` (returns its size), to read those bytes again: NULs at
        the end of a file may yet be overwritten with lines (a preallocated or
        memory-mapped log), where NULs followed by text are a hole for good."""
        hole = self.hole
        self._hole -= hole
        return hole

    def skip_hole(self, size: int) -> None:
        """Take in ``size`` NULs without reading them: the file system says the
        next ``size`` bytes are a hole (``SEEK_DATA``). Only while in a ``hole``."""
        self._hole += size

    def feed(self, data: bytes) -> Lines:
        last_nl = data.rfind(b"\n")
        if last_nl < 0:
            self._hold(data)
            return Lines()
        first_nl = data.find(b"\n")
        out = Lines()
        start = 0
        if self.pending:
            # Finish the held line first, so a cut line keeps its true length.
            head = data[:first_nl]
            if not self._partial and not self._dropped:
                head = self._unhole(head)
            pos = self.offset + self.pending + len(head) + 1
            room = max(0, self.max_line - len(self._partial))
            text_bytes = self._partial + head[:room]
            dropped = self._dropped + len(head) - len(head[:room])
            text = _text(text_bytes, self.max_line, dropped, head.endswith(b"\r") if head else self._cr)
            out.texts.append(_unmarked(text) if self.offset == 0 and not self._hole else text)
            out.ends.append(pos)
            self.offset = pos
            self._hole, self._partial, self._dropped, self._cr = 0, b"", 0, False
            start = first_nl + 1
        if start <= last_nl:
            out.extend(split_complete(data[start : last_nl + 1], self.offset, self.max_line))
            self.offset = out.ends[-1]
        self._hold(data[last_nl + 1 :])
        return out

    def flush(self) -> Lines:
        """The unfinished line as a line of its own (the file will not grow again).
        A hole with no text after it is not a line."""
        if not self._partial and not self._dropped:
            return Lines()
        end = self.offset + self.pending
        text = _text(self._partial, self.max_line, self._dropped, self._cr)
        if self.offset == 0 and not self._hole:
            text = _unmarked(text)
        self.offset = end
        self._hole, self._partial, self._dropped, self._cr = 0, b"", 0, False
        return Lines([text], [end])

    def _unhole(self, data: bytes) -> bytes:
        """``data`` comes where the unfinished line has not begun: its leading NULs
        are a hole."""
        if data[:1] != b"\0":
            return data
        if _ZEROS.startswith(data):  # a block of a hole: one memcmp, not a loop per byte
            self._hole += len(data)
            return b""
        text = data.lstrip(b"\0")
        self._hole += len(data) - len(text)
        return text

    def _hold(self, data: bytes) -> None:
        if not self._partial and not self._dropped:
            data = self._unhole(data)
        if data:
            self._cr = data.endswith(b"\r")
        room = self.max_line - len(self._partial)
        if len(data) <= room:
            self._partial += data
        else:
            self._partial += data[: max(0, room)]
            self._dropped += len(data) - max(0, room)


def next_data(fd: int, pos: int, end: int) -> int:
    """The first offset in [pos, end] that the file system does not know to be a
    hole (``SEEK_DATA``): the bytes before it read as NULs. ``pos`` when it cannot
    tell (no ``SEEK_DATA``), ``end`` when the rest is a hole."""
    try:
        return min(os.lseek(fd, pos, os.SEEK_DATA), end)
    except OSError as exc:
        return end if exc.errno == errno.ENXIO else pos


def read_lines(fd: int, start: int, end: int, max_line: int, *, final: bool = False, block: int = BLOCK):
    """Yield ``Lines`` for the bytes [start, end) of ``fd``, a block at a time.
    ``end`` must be a line boundary unless ``final`` (then the tail is flushed).
    The first block is small, so a resumed client sees its first line at once."""
    splitter = LineSplitter(start, max_line)
    pos = start
    size = min(block, FIRST_BLOCK)
    while pos < end:
        if splitter.hole:
            # In a hole where a line should start: jump what the file system knows
            # is one (each copytruncate under a writer that kept its offset makes
            # it longer), instead of reading its zeros.
            skip = next_data(fd, pos, end) - pos
            splitter.skip_hole(skip)
            pos += skip
            if pos >= end:
                break
        data = os.pread(fd, min(size, end - pos), pos)
        size = block
        if not data:
            break  # the file shrank under us; the tailer will announce it
        pos += len(data)
        lines = splitter.feed(data)
        if lines:
            yield lines
    if final:
        lines = splitter.flush()
        if lines:
            yield lines


MAX_BACKLOG_SCAN = 64 * 1024 * 1024  # bytes a backlog reads backwards at most


@dataclass(frozen=True)
class BacklogStart:
    """Where a backlog begins (``offset``), how many lines it holds (``found``),
    how many bytes were read backwards to find them (``scanned``), and whether
    the scan was ``complete``: it found every line asked for, or reached the
    start of the file. An incomplete scan stopped at ``max_scan`` bytes: older
    lines were not looked at, and the client must be told so."""

    offset: int
    found: int
    scanned: int
    complete: bool


def backlog_scan(
    fd: int,
    end: int,
    count: int,
    max_line: int,
    match: Callable[[str], bool] | None = None,
    max_scan: int = MAX_BACKLOG_SCAN,
    block: int = BLOCK,
) -> BacklogStart:
    """Where the last ``count`` lines (that ``match``) before ``end`` begin.

    Reads blocks backwards from ``end`` (a line boundary): 100 lines of a 1 GB
    file cost what they cost in a 1 KB one. Holds one block at a time: a line that
    spans blocks is read forward once more, through the one definition, when a
    filter must see its text. Stops after reading ``max_scan`` bytes, so a filter
    that matches nothing never reads the whole file, and the result says so; a
    hole (NULs the file system knows of) is jumped, not read."""
    if count <= 0 or end <= 0:
        return BacklogStart(end, 0, 0, True)
    have = 0
    start = end  # where the earliest line counted begins
    line_end = end  # the end of the earliest line seen, whose start is not found yet
    pos = at = end
    data = b""
    scanned = 0
    while pos > 0 and scanned < max_scan:
        size = min(block, pos)
        pos -= size
        at, data = pos, os.pread(fd, size, pos)
        scanned += size
        top = min(line_end - 1 - pos, len(data))  # LFs below this one start lines
        first = data.find(b"\n", 0, top)
        if first < 0:
            if data.count(0) == len(data):
                pos = hole_start(fd, pos)  # no LF in a hole: go on before it
            continue
        if match is None:
            n = data.count(b"\n", first, top)
            if have + n >= count:
                idx = top
                for _ in range(count - have):
                    idx = data.rfind(b"\n", 0, idx)
                return BacklogStart(pos + idx + 1, count, scanned, True)
            have += n
            start = line_end = pos + first + 1
            continue
        last = data.rfind(b"\n", 0, top)
        begins = pos + last + 1  # the line ending at line_end begins here
        if match(_line_text(fd, data, pos, begins, line_end, max_line)):
            have += 1
            start = begins
            if have >= count:
                return BacklogStart(start, have, scanned, True)
        if first < last:  # the lines between, all in this block
            lines = split_complete(data[first + 1 : last + 1], pos + first + 1, max_line)
            starts = [pos + first + 1, *lines.ends[:-1]]
            for i in range(len(lines) - 1, -1, -1):
                if match(lines.texts[i]):
                    have += 1
                    start = starts[i]
                    if have >= count:
                        return BacklogStart(start, have, scanned, True)
        line_end = pos + first + 1
    if pos == 0 and line_end > 0:  # the first line of the file
        if match is None or match(_line_text(fd, data, at, 0, line_end, max_line)):
            start = 0
            have += 1
    return BacklogStart(start, have, scanned, pos == 0)


def backlog_start(fd: int, end: int, count: int, max_line: int, match: Callable[[str], bool] | None = None,
                  max_scan: int = MAX_BACKLOG_SCAN, block: int = BLOCK) -> int:
    """``backlog_scan(...).offset``: where the last ``count`` lines begin."""
    return backlog_scan(fd, end, count, max_line, match, max_scan, block).offset


def _line_text(fd: int, data: bytes, pos: int, begins: int, ends: int, max_line: int) -> str:
    """The text of the line [begins, ends): from ``data`` (read at ``pos``) if it
    holds the whole line, else read forward, as every other path reads it."""
    if begins >= pos and ends - pos <= len(data):
        return split_complete(data[begins - pos : ends - pos], begins, max_line).texts[0]
    for lines in read_lines(fd, begins, ends, max_line):
        return lines.texts[0]
    return ""  # the file shrank under us; the tailer will announce it


def hole_start(fd: int, pos: int) -> int:
    """Where the hole that ends at ``pos`` begins, as far as the file system knows
    (``SEEK_DATA``/``SEEK_HOLE``, one pair per stretch of data before ``pos``):
    ``pos`` if the byte before it may be data, or the file system cannot tell."""
    after_data = 0  # the end of the last stretch of data before pos
    try:
        while True:
            data = os.lseek(fd, after_data, os.SEEK_DATA)
            if data >= pos:
                return after_data
            after_data = os.lseek(fd, data, os.SEEK_HOLE)
            if after_data >= pos:
                return pos
    except OSError as exc:
        return after_data if exc.errno == errno.ENXIO else pos


def last_line_end(fd: int, size: int, block: int = BLOCK) -> int:
    """Offset just past the last LF before ``size`` (0 if none). A hole (a
    preallocated file's zeros) is jumped, not read."""
    pos = size
    while pos > 0:
        start = max(0, pos - block)
        data = os.pread(fd, pos - start, start)
        nl = data.rfind(b"\n")
        if nl >= 0:
            return start + nl + 1
        pos = hole_start(fd, start) if data.count(0) == len(data) else start
    return 0


def is_line_boundary(fd: int, offset: int) -> bool:
    """True if ``offset`` is 0 or follows an LF: a place a resumed stream may start."""
    return offset == 0 or os.pread(fd, 1, offset - 1) == b"\n"
