"""lines: bytes of a log file to lines of text, with the byte offset just past each.

Owns the single definition of what a line is, shared by the tailer (live), the
catch-up reader and the backlog reader, so that every path cuts the same file into
the same lines and every id means the same position (promise: no line lost, none
repeated). Lines end at LF, and only at LF: a CR alone (old Mac line ends, the
``\r`` a progress bar redraws with) is text, so a line's id is always the offset
past an LF byte and a CRLF split across two reads is still one line end. A
trailing CR (of a CRLF) is dropped; invalid UTF-8 becomes U+FFFD;
a line longer than ``max_line`` bytes keeps its first ``max_line`` bytes and a
marker. A UTF-8 byte-order mark at offset 0 of a file is not text: the first
line's text loses it (its id, the offset past its newline, does not change).
Never reads a file from its start to find its end; never holds more than
``max_line`` bytes of an unfinished line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

CUT_MARKER = " […cut {} bytes]"
BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark: Windows editors and .NET writers start files with it
BLOCK = 256 * 1024
FIRST_BLOCK = 16 * 1024


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
    parts = chunk.split(b"\n")
    parts.pop()  # the empty piece after the final LF
    ends = []
    pos = base
    for part in parts:
        pos += len(part) + 1
        ends.append(pos)
    if max(map(len, parts)) > max_line:
        texts = [_text(part, max_line) for part in parts]
    else:
        text = chunk.decode("utf-8", "replace")
        if "\r\n" in text:
            text = text.replace("\r\n", "\n")
        texts = text.split("\n")
        texts.pop()
    if base == 0 and chunk.startswith(BOM):
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
    complete line handed out; ``pending`` the bytes of the unfinished one."""

    def __init__(self, offset: int, max_line: int) -> None:
        self.offset = offset
        self.max_line = max_line
        self._partial = b""  # at most max_line bytes of the unfinished line
        self._dropped = 0  # bytes of the unfinished line beyond those
        self._cr = False  # the last byte taken in is a CR (of a CRLF, if an LF comes next)

    @property
    def pending(self) -> int:
        return len(self._partial) + self._dropped

    def feed(self, data: bytes) -> Lines:
        last_nl = data.rfind(b"\n")
        if last_nl < 0:
            self._hold(data)
            return Lines()
        first_nl = data.find(b"\n")
        out = Lines()
        start = 0
        if self._partial or self._dropped:
            # Finish the held line first, so a cut line keeps its true length.
            head = data[:first_nl]
            pos = self.offset + self.pending + len(head) + 1
            room = max(0, self.max_line - len(self._partial))
            text_bytes = self._partial + head[:room]
            dropped = self._dropped + len(head) - len(head[:room])
            text = _text(text_bytes, self.max_line, dropped, head.endswith(b"\r") if head else self._cr)
            out.texts.append(_unmarked(text) if self.offset == 0 else text)
            out.ends.append(pos)
            self.offset = pos
            self._partial, self._dropped, self._cr = b"", 0, False
            start = first_nl + 1
        if start <= last_nl:
            out.extend(split_complete(data[start : last_nl + 1], self.offset, self.max_line))
            self.offset = out.ends[-1]
        self._hold(data[last_nl + 1 :])
        return out

    def flush(self) -> Lines:
        """The unfinished line as a line of its own (the file will not grow again)."""
        if not self.pending:
            return Lines()
        end = self.offset + self.pending
        text = _text(self._partial, self.max_line, self._dropped, self._cr)
        if self.offset == 0:
            text = _unmarked(text)
        self.offset = end
        self._partial, self._dropped, self._cr = b"", 0, False
        return Lines([text], [end])

    def _hold(self, data: bytes) -> None:
        if data:
            self._cr = data.endswith(b"\r")
        room = self.max_line - len(self._partial)
        if len(data) <= room:
            self._partial += data
        else:
            self._partial += data[: max(0, room)]
            self._dropped += len(data) - max(0, room)


def read_lines(fd: int, start: int, end: int, max_line: int, *, final: bool = False, block: int = BLOCK):
    """Yield ``Lines`` for the bytes [start, end) of ``fd``, a block at a time.
    ``end`` must be a line boundary unless ``final`` (then the tail is flushed).
    The first block is small, so a resumed client sees its first line at once."""
    splitter = LineSplitter(start, max_line)
    pos = start
    size = min(block, FIRST_BLOCK)
    while pos < end:
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


def backlog_start(
    fd: int,
    end: int,
    count: int,
    max_line: int,
    match: Callable[[str], bool] | None = None,
    max_scan: int = 64 * 1024 * 1024,
    block: int = BLOCK,
) -> int:
    """Where the last ``count`` lines (that ``match``) before ``end`` begin.

    Reads blocks backwards from ``end`` (a line boundary): 100 lines of a 1 GB
    file cost what they cost in a 1 KB one. Stops after ``max_scan`` bytes, so a
    filter that matches nothing never reads the whole file."""
    if count <= 0 or end <= 0:
        return end
    have = 0
    pos = end
    start = end
    carry = b""  # the tail of a line whose beginning lies before ``pos``
    while pos > 0 and end - pos < max_scan:
        size = min(block, pos)
        pos -= size
        data = os.pread(fd, size, pos) + carry
        if pos > 0:
            cut = data.find(b"\n")
            if cut < 0:
                carry = data
                continue
            carry, data, base = data[: cut + 1], data[cut + 1 :], pos + cut + 1
        else:
            carry, base = b"", 0
        if match is None:
            n = data.count(b"\n")
            if have + n >= count:
                # The (count - have)-th line from the end of this block starts after
                # the newline before it.
                idx = len(data)
                for _ in range(count - have + 1):
                    idx = data.rfind(b"\n", 0, idx)
                    if idx < 0:
                        break
                return base + idx + 1
            have += n
            start = base
            continue
        lines = split_complete(data, base, max_line)
        starts = [base, *lines.ends[:-1]]
        for i in range(len(lines) - 1, -1, -1):
            if match(lines.texts[i]):
                have += 1
                start = starts[i]
                if have >= count:
                    return start
    return start if match is not None else (0 if pos == 0 else start)


def last_line_end(fd: int, size: int, block: int = BLOCK) -> int:
    """Offset just past the last LF before ``size`` (0 if none)."""
    pos = size
    while pos > 0:
        start = max(0, pos - block)
        data = os.pread(fd, pos - start, start)
        nl = data.rfind(b"\n")
        if nl >= 0:
            return start + nl + 1
        pos = start
    return 0


def is_line_boundary(fd: int, offset: int) -> bool:
    """True if ``offset`` is 0 or follows an LF: a place a resumed stream may start."""
    return offset == 0 or os.pread(fd, 1, offset - 1) == b"\n"
