"""history: a followed path's whole history as one sequence of lines: its rotated
siblings, oldest first, then the file itself (``paths.rotation_chain``), read
seamlessly: the line before the first line of ``app.log`` is the last line of
``app.log.1``.

Owns places in the history (``Place``: a link of the chain and an offset in it)
and paging through it: ``before``, ``after``, ``around`` a place, and the raw
chunk iterators ``forward``/``backward`` that search and downloads walk. A
line's id is the one the live stream gave it (``position``: ``<inode
hex>-<offset just past the line>``): for a compressed sibling, its inode and the
offset in its decompressed content. Lines are cut by ``lines`` (the one
definition) exactly as the tailer cut them.

Never reads a plain file from its start to reach a place: going back is one
seek and block reads backwards to the previous newline; a page stops after
``MAX_SCAN`` bytes whatever its filter. Opens every link through the gate
(``paths.open_file``) and checks it is still the inode the chain listed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import paths
from .archive import DECOMPRESSORS, Archive, ArchiveError
from .errors import BadRequest, LogstreamError, NotFound, Unsupported
from .lines import BLOCK, Lines
from .plain_link import PlainLink
from .position import malformed, parse_position, split_id

MAX_SCAN = 64 * 1024 * 1024  # bytes one page reads at most, whatever its filter (README "History")


@dataclass(frozen=True, order=True)
class Place:
    """A place between two lines of a history: ``link`` (index in the chain,
    oldest first) and ``offset``, a line boundary in that link (0: before its
    first line). The end of one link and offset 0 of the next are the same place
    for the reader; ids always name the former."""

    link: int
    offset: int


@dataclass
class Chunk:
    """Consecutive lines of one link: ``link`` (chain index), ``ino``, ``start``
    (the line boundary the first line begins at) and ``lines`` (texts and the
    offsets just past each, in file order)."""

    link: int
    ino: int
    start: int
    lines: Lines

    @property
    def end(self) -> int:
        return self.lines.ends[-1] if self.lines.ends else self.start

    @property
    def prefix(self) -> str:
        """What goes before a line's end offset in its id."""
        return f"{self.ino:x}-"


@dataclass
class Page:
    """What ``before``/``after``/``around`` found: ``lines`` as ``(id, text)``
    oldest first; ``start``/``end`` the places after the earliest and the latest
    line scanned, i.e. their ids (page on with the lines strictly before
    ``start`` or after ``end``, even when no line matched; ``start`` is the
    anchor itself when nothing was scanned); whether the history goes on
    ``more_before``/``more_after`` what was scanned; ``skipped``: links that could
    not be read (a ``.zst``, a corrupt archive, a file gone meanwhile);
    ``begin``: the place before the earliest line scanned."""

    lines: list[tuple[str, str]]
    start: Place
    end: Place
    more_before: bool
    more_after: bool
    skipped: list[str] = field(default_factory=list)
    begin: Place | None = None


Reader = PlainLink | Archive


class History:
    """The history of ``rel`` under ``root``: ``chain`` (``paths.Link``, oldest
    first) and a reader per link, opened on first use. Use as a context manager
    (``close()`` closes every descriptor).

    Raises ``PathRejected`` (outside the root, a FIFO: the stream's 403s),
    ``NotFound`` (neither the file nor a rotation of it exists) or
    ``Unsupported`` (the path is itself a compressed archive). ``block``: bytes
    per read of a plain file; ``pause()`` is called after each chunk read (a
    server passes ``gevent.sleep``: a long scan must not starve live streams)."""

    def __init__(self, root: Path, rel: str, max_line: int, block: int = BLOCK,
                 pause: Callable[[], object] | None = None) -> None:
        paths.resolve(root, rel)  # outside the root: the gate's 403 before anything else
        if rel.endswith(paths.COMPRESSED):
            raise Unsupported(f"{rel} is compressed: ask for the path it was rotated from (its history holds it)")
        self.root, self.rel, self.max_line, self.block = root, rel, max_line, block
        self.pause = pause or (lambda: None)
        current = None
        try:
            fd, st = paths.open_file(root, rel)
            current = st.st_ino
        except NotFound:
            fd = None
        self.chain = paths.rotation_chain(root, rel)
        self.current = len(self.chain) - 1 if self.chain and self.chain[-1].ino == current else None
        self._readers: dict[int, Reader | None] = {}
        self.skipped: list[str] = []
        if fd is not None:
            if self.current is None:
                os.close(fd)  # replaced between the open and the listing: read it as listed
            else:
                link = PlainLink(fd, st.st_size, max_line, block, self.pause)
                link.size = link.last_line_end()  # its unfinished last line is not a line yet
                self._readers[self.current] = link
        if not self.chain:
            raise NotFound(f"no such file: {rel}")

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for reader in self._readers.values():
            if reader is not None:
                reader.close()
        self._readers.clear()

    # -- links -------------------------------------------------------------------------------------
    def reader(self, index: int) -> Reader | None:
        """The reader of link ``index``, or None if it cannot be read (gone, another
        inode by now, a ``.zst``): noted in ``skipped``."""
        if index in self._readers:
            return self._readers[index]
        link = self.chain[index]
        reader: Reader | None = None
        if link.compressed is None or link.compressed in DECOMPRESSORS:
            try:
                fd, st = paths.open_file(self.root, link.rel)
            except LogstreamError:
                fd, st = None, None
            if fd is not None and st.st_ino != link.ino:
                os.close(fd)
                fd = None
            if fd is not None:
                reader = (PlainLink(fd, st.st_size, self.max_line, self.block, self.pause) if link.compressed is None
                          else Archive(fd, link.compressed, self.max_line, self.block, self.pause))
        if reader is None:
            self.skipped.append(link.rel)
        self._readers[index] = reader
        return reader

    def link_end(self, index: int) -> int:
        """The end of link ``index`` (0 if it cannot be read). Raises ``ArchiveError``."""
        reader = self.reader(index)
        return reader.end() if reader is not None else 0

    def id_of(self, place: Place) -> str:
        """The id naming ``place`` (the line that ends there)."""
        return f"{self.chain[place.link].ino:x}-{place.offset}"

    def first(self) -> Place:
        """The place before the history's first line."""
        return Place(0, 0)

    def last(self) -> Place:
        """The place after the history's last line."""
        index = len(self.chain) - 1
        return Place(index, self._safe_end(index))

    def _safe_end(self, index: int) -> int:
        try:
            return self.link_end(index)
        except ArchiveError:
            self.skipped.append(self.chain[index].rel)
            return 0

    def locate(self, text: str) -> Place:
        """The place an id names. Raises ``BadRequest`` (malformed, another file's)
        or ``NotFound`` (its file is gone; past its end; not a line boundary): the
        reasons the stream's ``reset`` event gives."""
        part = split_id(text, 1)[0]
        pos = parse_position(part)
        if pos is None:
            raise malformed(text)
        index = next((i for i, link in enumerate(self.chain) if link.ino == pos.ino), None)
        if index is None:
            other = paths.sibling_named_by(self.root, self.rel, pos.ino)
            if other is not None:
                raise BadRequest(f"the id is not this file's: it names {other}, not {self.rel} or one of its rotations")
            raise NotFound("the file this id names is gone (rotated away and removed, or another file)")
        reader = self.reader(index)
        if reader is None:
            raise NotFound(f"the file this id names ({self.chain[index].rel}) cannot be read")
        try:
            if pos.offset > reader.end():
                raise NotFound("the id points past the end of the file (it was truncated or rewritten)")
            if not reader.is_boundary(pos.offset):
                raise NotFound("the id does not point at a line boundary (the file was rewritten)")
        except ArchiveError as exc:
            raise NotFound(f"the file this id names ({self.chain[index].rel}) is corrupt: {exc}") from None
        return Place(index, pos.offset)

    def seek(self, when: float, strict: bool = False) -> Place:
        """The place before the first line stamped at or after ``when`` (``strict``:
        after it): ``timeline.seek_time``. Raises ``BadRequest`` without timestamps."""
        from .timeline import seek_time  # timeline reads a History: imported when first asked

        return seek_time(self, when, strict)

    # -- raw walks ---------------------------------------------------------------------------------
    def forward(self, place: Place, stop: Place | None = None) -> Iterator[Chunk]:
        """Chunks of lines after ``place`` (up to ``stop``, default the end), oldest
        first, across links; unreadable links are skipped (``skipped``)."""
        last = len(self.chain) - 1 if stop is None else stop.link
        for index in range(place.link, last + 1):
            reader = self.reader(index)
            if reader is None:
                continue
            start = place.offset if index == place.link else 0
            bound = stop.offset if stop is not None and index == stop.link else None
            ino = self.chain[index].ino
            try:
                for lines in reader.forward(start, bound):
                    yield Chunk(index, ino, start, lines)
                    start = lines.ends[-1]
                    self.pause()
            except ArchiveError:
                self.skipped.append(self.chain[index].rel)

    def backward(self, place: Place, stop: Place | None = None) -> Iterator[Chunk]:
        """Chunks of lines before ``place`` (back to ``stop``, default the start),
        newest chunk first (each chunk's lines in file order), across links."""
        first = 0 if stop is None else stop.link
        for index in range(place.link, first - 1, -1):
            reader = self.reader(index)
            if reader is None:
                continue
            end = place.offset if index == place.link else None
            ino = self.chain[index].ino
            try:
                for start, lines in reader.backward(end):
                    if stop is not None and index == stop.link and start < stop.offset:
                        lines = _after(lines, stop.offset)
                        if lines is not None:
                            yield Chunk(index, ino, stop.offset, lines)
                        return
                    yield Chunk(index, ino, start, lines)
                    self.pause()
            except ArchiveError:
                self.skipped.append(self.chain[index].rel)

    # -- pages ---------------------------------------------------------------------------------------
    def before(self, place: Place, count: int, match: Callable[[str], bool] | None = None,
               budget: int = MAX_SCAN) -> Page:
        """Up to ``count`` lines (that ``match``) ending at or before ``place``,
        oldest first; stops after ``budget`` bytes."""
        picked: list[tuple[str, str]] = []
        begin = start = place
        scanned = 0
        for chunk in self.backward(place) if count > 0 else ():
            prefix = f"{chunk.ino:x}-"
            texts, ends = chunk.lines.texts, chunk.lines.ends
            idx = range(len(texts)) if match is None else [i for i, t in enumerate(texts) if match(t)]
            need = count - len(picked)
            take = list(idx)[-need:] if need > 0 else []
            picked.extend((prefix + str(ends[i]), texts[i]) for i in reversed(take))
            scanned += chunk.end - chunk.start
            if len(picked) >= count:
                first = take[0]
                begin = Place(chunk.link, ends[first - 1] if first > 0 else chunk.start)
                start = Place(chunk.link, ends[first])
                break
            begin, start = Place(chunk.link, chunk.start), Place(chunk.link, ends[0])
            if scanned >= budget:
                break
        picked.reverse()
        return Page(picked, start, place, self._more_before(begin), self._more_after(place), list(self.skipped),
                    begin)

    def line_start(self, place: Place) -> Place:
        """The place before the line whose id names ``place`` (``place`` itself at
        the start of a file). Raises ``NotFound`` if no line ends there."""
        if place.offset == 0:
            return place
        page = self.before(place, 1)
        if not page.lines or page.lines[-1][0] != self.id_of(place):
            raise NotFound("the id names no line (it is the start of a file)")
        return page.begin

    def after(self, place: Place, count: int, match: Callable[[str], bool] | None = None,
              budget: int = MAX_SCAN, stop: Place | None = None) -> Page:
        """Up to ``count`` lines (that ``match``) after ``place``, oldest first, up
        to ``stop``; stops after ``budget`` bytes."""
        picked: list[tuple[str, str]] = []
        begin = start = end = place
        scanned = 0
        for chunk in self.forward(place, stop) if count > 0 else ():
            prefix = f"{chunk.ino:x}-"
            texts, ends = chunk.lines.texts, chunk.lines.ends
            if start == place:  # the first line scanned
                begin, start = Place(chunk.link, chunk.start), Place(chunk.link, ends[0])
            idx = range(len(texts)) if match is None else [i for i, t in enumerate(texts) if match(t)]
            take = list(idx)[: count - len(picked)]
            picked.extend((prefix + str(ends[i]), texts[i]) for i in take)
            scanned += chunk.end - chunk.start
            end = Place(chunk.link, chunk.end)
            if len(picked) >= count:
                end = Place(chunk.link, ends[take[-1]])
                break
            if scanned >= budget:
                break
        bound = stop if stop is not None else self.last()
        more_after = self._more_after(end) if stop is None else self._norm(end) < self._norm(bound)
        return Page(picked, start, end, self._more_before(begin), more_after, list(self.skipped), begin)

    def around(self, place: Place, count: int, match: Callable[[str], bool] | None = None,
               budget: int = MAX_SCAN) -> Page:
        """The line ending at ``place`` (whatever the filter), up to ``count // 2``
        lines (that ``match``) before it and the rest of ``count`` after it.
        Raises ``NotFound`` if no line ends at ``place`` (offset 0)."""
        target = self.before(place, 1)
        if not target.lines or target.lines[-1][0] != self.id_of(place):
            raise NotFound("the id names no line (it is the start of a file)")
        head = self.before(target.begin, count // 2, match, budget) if count > 1 else None
        tail = self.after(place, max(0, count - count // 2 - 1), match, budget)
        lines = [*(head.lines if head else []), *target.lines, *tail.lines]
        start, begin = (head.start, head.begin) if head and head.lines else (place, target.begin)
        return Page(lines, start, tail.end, self._more_before(begin), tail.more_after, list(self.skipped), begin)

    # -- ends of the history -------------------------------------------------------------------
    def _norm(self, place: Place) -> Place:
        """``place``, moved from the end of a link to the start of the next readable one."""
        while place.link < len(self.chain) - 1 and place.offset >= self._safe_end(place.link):
            place = Place(place.link + 1, 0)
        return place

    def _more_before(self, place: Place) -> bool:
        if place.offset > 0:
            return True
        return any(self._has_lines(i) for i in range(place.link - 1, -1, -1))  # newest first: plain ones first

    def _has_lines(self, index: int) -> bool:
        """Whether link ``index`` holds a line (read up to its first byte of text:
        an archive's first block, not all of it; never a line through)."""
        reader = self.reader(index)
        if reader is None:
            return False
        try:
            return reader.has_lines()
        except ArchiveError:
            return False

    def _more_after(self, place: Place) -> bool:
        return self._norm(place) < self._norm(self.last())


def _after(lines: Lines, offset: int) -> Lines | None:
    """The lines of ``lines`` ending after ``offset``."""
    i = 0
    while i < len(lines.ends) and lines.ends[i] <= offset:
        i += 1
    return Lines(lines.texts[i:], lines.ends[i:]) if i < len(lines.ends) else None

