"""sources.file_follower: a client's cursor in one local file's history. Its three
ways of delivering lines (the backlog, a resume by id, a catch-up after its queue
overflowed or after a rotation it missed) and the live batches all advance the
same cursor and skip what it already sent, so the client gets each line exactly
once (promise: no line lost, none repeated), and is told by an event whenever
lines are gone for good. A resume walks the path's rotation chain; with
``group=1`` lines are joined into multi-line events here, per client. Never
holds more than one read block per client beyond its bounded queue; opens files
only through ``paths``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import gevent

from .. import paths
from ..errors import LogstreamError
from ..grouping import Grouper, group_start
from ..history import History, Place
from ..lines import backlog_scan, is_line_boundary, read_lines, split_complete
from ..position import Position, parse_position
from ..segments import Batch, Change, Cursor, Segment
from ..tailer import Tailer
from ..timeline import seek_time
from .base import GAP, Follower, backlog_bound

if TYPE_CHECKING:
    from .local import FileTopic, FileTopics

GROUP_LOOKBACK = 1024 * 1024  # bytes a grouped backlog reads back to start at its trace's head
GROUP_LOOKBACK_LINES = 1000
FOREIGN = 0  # segment number of the newest rotated file found on disk by a resumed id (older ones: -1, -2, ...)


class FileFollower(Follower):
    """A client's place in one file's history: ``cursor`` (segment, offset) and
    ``ino``, the inode its ids name. ``foreign`` holds the rotated files a resumed
    id led to on disk (the links of the rotation chain the tailer never saw, after
    a restart or while nobody followed the path), read before the tailer's own
    segments."""

    def __init__(self, stream, rel: str, index: int, topics: FileTopics, topic: FileTopic) -> None:
        super().__init__(stream, rel, index, topics, topic)
        self.tailer: Tailer = topic.tailer
        self.cursor = Cursor(0, 0)
        self.ino = 0
        self.foreign: dict[int, Segment] = {}  # seq (<= FOREIGN) → a rotated file read from disk

    def parse_position(self, part: str) -> Position | None:
        return parse_position(part)

    def cursor_token(self) -> str:
        return f"{self.ino:x}-{self.cursor.offset}"

    # -- where the file starts ---------------------------------------------------------------
    def resume(self, pos: Position) -> dict | None:
        tailer = self.tailer
        seg = tailer.segment_by_ino(pos.ino)
        if seg is not None:
            end = tailer.offset if seg is tailer.current else seg.end
            if pos.offset > end:
                return {"reason": "the id points past the end of the file (it was truncated or rewritten)"}
            if not is_line_boundary(seg.fd, pos.offset):
                return {"reason": "the id does not point at a line boundary (the file was rewritten)"}
            self.cursor, self.ino = Cursor(seg.seq, pos.offset), seg.ino
            return None
        return self._resume_in_chain(pos)

    def _resume_in_chain(self, pos: Position) -> dict | None:
        """An id naming a file the tailer does not know (rotated away while nobody
        followed this path, or before a restart): walk the rotation chain from that
        file to the ones the tailer follows, every link in order, the id's file from
        its offset and each later one from its start (promise: no line lost)."""
        tailer = self.tailer
        try:
            chain = paths.rotation_chain(self.topics.root, self.rel)
        except LogstreamError:
            chain = []
        known = {seg.ino for seg in [*tailer.closed, tailer.current] if seg is not None}
        links = paths.chain_from(chain, pos.ino, known)
        if links is None:
            other = paths.sibling_named_by(self.topics.root, self.rel, pos.ino)
            if other is not None:
                return {"reason": f"the id is not this file's: it names {other}, not {self.rel} or one of "
                                  "its rotations"}
            return {"reason": "the file this id names is gone (rotated away and removed, or another file)"}
        opened: list[tuple[paths.Link, int, int]] = []  # link, descriptor, size
        skipped: list[str] = []
        problem = None
        for n, link in enumerate(links):
            fd = _open_link(self.topics.root, link) if link.compressed is None else None
            if fd is None:
                if n == 0:
                    problem = {"reason": "the file this id names is gone (rotated away and removed)"}
                    break
                skipped.append(link.rel)  # compressed, or gone meanwhile: said in the next rotate
                continue
            opened.append((link, fd, os.fstat(fd).st_size))
            if n == 0 and (pos.offset > opened[0][2] or not is_line_boundary(fd, pos.offset)):
                problem = {"reason": "the id does not point at a line of the rotated file"}
                break
        if problem is not None:
            for _, fd, _ in opened:
                os.close(fd)
            return problem
        first = tailer.closed[0] if tailer.closed else tailer.current
        seqs = range(FOREIGN - len(opened) + 1, FOREIGN + 1)  # ordered before every tailer segment
        self.foreign = {}
        for n, ((link, fd, size), seq) in enumerate(zip(opened, seqs, strict=True)):
            nxt_seq, nxt_ino = (seqs[n + 1], opened[n + 1][0].ino) if n + 1 < len(opened) else (first.seq, first.ino)
            info = {"reason": "rotated"}
            between = [rel for rel in skipped if _between(chain, link, nxt_ino, rel)]
            if between:
                info["skipped"] = between  # never silent: these lines are not replayed
            change = Change("rotate", Cursor(seq, size), Cursor(nxt_seq, 0), nxt_ino, info)
            self.foreign[seq] = Segment(seq, link.ino, 0, fd, size, [change])
        self.cursor, self.ino = Cursor(seqs[0], pos.offset), pos.ino
        return None

    def backlog(self) -> None:
        if self.stream.since is not None and self._start_since(self.stream.since):
            return
        tailer = self.tailer
        seg = tailer.current
        if seg is None:
            self.cursor, self.ino = tailer.head, tailer.closed[-1].ino
            return
        query = self.encoder.query
        scan = backlog_scan(seg.fd, tailer.offset, self.stream.lines, self.stream.config.max_line,
                            query.match if query else None)
        offset = scan.offset
        if self.encoder.group:
            offset = _trace_head(seg.fd, offset, tailer.offset, self.stream.config.max_line)
        self.cursor, self.ino = Cursor(seg.seq, offset), seg.ino
        if not scan.complete:
            # Never silent: an empty or short backlog must not read as "nothing there".
            self.notice(self.event("backlog", backlog_bound(scan.found, self.stream.lines, query is not None,
                                                            scanned_bytes=scan.scanned)))

    def _start_since(self, since: float) -> bool:
        """``since=``: place the cursor before the first line stamped at or after
        ``since`` in the path's history (``timeline``), walking the rotation chain
        from there as a resume does. A compressed sibling's lines are not streamed
        (a ``backlog`` event names it: ``/api/lines`` reads it). Raises
        ``BadRequest`` when no timestamp can be found; False if the place cannot
        be resumed (the file changed meanwhile): the backlog then."""
        with History(self.topics.root, self.rel, self.stream.config.max_line, pause=gevent.sleep) as history:
            place = seek_time(history, since)
            skipped = []
            while history.chain[place.link].compressed is not None and place.link + 1 < len(history.chain):
                skipped.append(history.chain[place.link].rel)
                place = Place(place.link + 1, 0)
            pos = Position(history.chain[place.link].ino, place.offset)
        current = self.tailer.current
        if current is not None and pos.ino == current.ino:
            pos = Position(pos.ino, min(pos.offset, self.tailer.offset))  # the tailer reads the rest live
        if self.resume(pos) is not None:
            return False
        if skipped:
            self.notice(self.event("backlog", {"complete": False, "skipped": skipped, "reason": (
                f"lines since the time asked for are in {', '.join(skipped)} (compressed): a stream carries "
                "no archive; /api/lines reads it")}))
        return True

    # -- live items ------------------------------------------------------------------------------
    def apply(self, item: Batch | Change):
        if isinstance(item, Batch):
            if self.cursor == Cursor(item.seq, item.start):
                chunk = self.group_lines(item.lines.texts, item.lines.ends, f"{item.ino:x}-") if self.encoder.group \
                    else self._encode_batch(item)
                self.delivered(item, time.monotonic())
                return chunk
            if Cursor(item.seq, item.end) <= self.cursor:
                return None
            return GAP
        if item.before == self.cursor:
            held = self.boundary()  # the file ends or changes: its open group is complete
            return held + (self._eof() if item.kind == "eof" else self._apply_change(item))
        if item.before < self.cursor:
            return None
        return GAP

    def live_chunk(self, item: Batch | Change) -> bytes | None:
        if not isinstance(item, Batch) or self.encoder.group:
            return None  # group=1: lines may be held, which only the client's own greenlet does
        cursor = self.cursor
        if cursor.seq != item.seq or cursor.offset != item.start or cursor.gone:
            return None
        return self._encode_batch(item)

    def delivered(self, item: Batch, now: float) -> None:
        self.cursor, self.ino = Cursor(item.seq, item.end), item.ino
        metrics = self.stream.metrics
        if metrics is not None:
            metrics.latency.observe(now - item.born)
            metrics.lines_sent.inc(len(item.lines))

    # -- catching up from the file ---------------------------------------------------------------
    def catch_up(self) -> Iterator[bytes]:
        tailer = self.tailer
        max_line = self.stream.config.max_line
        metrics = self.stream.metrics
        for _ in range(1000):  # segments are few; this bound only guards against a bug
            seq = self.cursor.seq
            seg = self.foreign.get(seq) if seq <= FOREIGN else tailer.segment(seq)
            if seg is None:
                after = _earliest(tailer)
                yield self.event("reset", {"reason": "lines after this position were rotated away "
                                           "before they could be sent"}, self.event_id(f"{self.ino:x}-{after.offset}"))
                self.cursor = after
                continue
            current = seg is tailer.current
            end = tailer.offset if current else seg.end
            lost = 0
            if self.cursor.offset < end and not self.cursor.gone:
                if seg.fd is None:
                    lost = end - self.cursor.offset
                    self.cursor = Cursor(seg.seq, end)
                else:
                    for lines in read_lines(seg.fd, self.cursor.offset, end, max_line, final=not current):
                        if self.encoder.group:
                            chunk = self.group_lines(lines.texts, lines.ends, f"{seg.ino:x}-")
                        else:
                            left, right = self.stream.id_parts(self.index)
                            chunk = self.encoder.lines(lines.texts, lines.ends, prefix=f"{seg.ino:x}-", left=left,
                                                       right=right, label=self.label)
                        self.cursor, self.ino = Cursor(seg.seq, lines.ends[-1]), seg.ino
                        if metrics is not None:
                            metrics.lines_sent.inc(len(lines))
                        if chunk:
                            yield chunk
                        gevent.sleep(0)  # a long catch-up must not starve the other clients
                    if self.cursor.offset < end:
                        if current:
                            return  # the file shrank under us; the tailer will announce it
                        lost = end - self.cursor.offset
                        self.cursor = Cursor(seg.seq, end)
            if current:
                ended = tailer.ended
                if ended is not None and ended.before == self.cursor:
                    eof = self.expire() + self._eof()
                    if eof:
                        yield eof
                return
            held = self.boundary()  # the segment is complete: so is its open group
            if held:
                yield held
            for change in seg.changes:
                if change.before == self.cursor:
                    yield self._apply_change(change, lost)
                    lost = 0
            if self.cursor.seq == seg.seq:
                return  # nothing further yet (the file is gone and not back)

    def close(self) -> None:
        super().close()
        self.topic.told_eof.discard(self.stream.sub)
        for seg in self.foreign.values():
            if seg.fd is not None:
                os.close(seg.fd)
                seg.fd = None

    # -- multi-line events (group=1) ------------------------------------------------------------
    def seed_grouper(self) -> Grouper:
        """A grouper that knows whether the file is mostly timestamped (from up to
        64 KiB before the cursor) and whether the cursor may be inside a group."""
        grouper = Grouper(continuing=self.cursor.offset > 0)
        seg = self.tailer.segment(self.cursor.seq) if self.cursor.seq > FOREIGN else self.foreign.get(self.cursor.seq)
        if seg is not None and seg.fd is not None and self.cursor.offset > 0:
            start = max(0, self.cursor.offset - 64 * 1024)
            data = os.pread(seg.fd, self.cursor.offset - start, start)
            if start > 0:
                data = data[data.find(b"\n") + 1:]
            probe = Grouper()
            lines = split_complete(data, 0, self.stream.config.max_line) if data.endswith(b"\n") else None
            if lines:
                probe.feed(lines.texts, lines.ends)
                grouper.stamps, grouper.heads = probe.stamps, probe.heads
                # A resume inside a group: its rest is shown if the part sent was.
                self._shown = self.encoder.keeps(lines.texts[group_start(lines.texts):])
        return grouper

    # -- encoding ------------------------------------------------------------------------------------
    def _encode_batch(self, batch: Batch) -> bytes:
        return self.encode_shared(batch, self._build_batch)

    def _build_batch(self, batch: Batch, left: str, right: str) -> bytes:
        lines = batch.lines
        return self.encoder.lines(lines.texts, lines.ends, prefix=f"{batch.ino:x}-", left=left, right=right,
                                  label=self.label)

    def _eof(self) -> bytes:
        """The ``eof`` event, once per stream: every line of the file was sent and
        its writer is done (standard input ended)."""
        if self.stream.sub in self.topic.told_eof:
            return b""
        self.topic.told_eof.add(self.stream.sub)
        return self.event("eof", dict(self.tailer.ended.info))

    def _apply_change(self, change: Change, lost: int = 0) -> bytes:
        info = dict(change.info)
        if change.kind == "truncate" or lost:
            info["lost_bytes"] = lost
        self.cursor = change.after
        self.ino = change.ino
        with_id = change.kind in ("rotate", "truncate")
        return self.event(change.kind, info, self.event_id(self.token()) if with_id else None)


def _open_link(root, link: paths.Link) -> int | None:
    """A descriptor on the chain link ``link`` (through the gate), or None if it
    is gone or is another file by now."""
    try:
        fd, st = paths.open_file(root, link.rel)
    except LogstreamError:
        return None
    if st.st_ino != link.ino:
        os.close(fd)
        return None
    return fd


def _between(chain: list[paths.Link], link: paths.Link, next_ino: int, rel: str) -> bool:
    """Whether the chain link named ``rel`` lies after ``link`` and before the one
    with inode ``next_ino``."""
    names = [item.rel for item in chain]
    inos = [item.ino for item in chain]
    start = names.index(link.rel)
    end = inos.index(next_ino) if next_ino in inos else len(chain)
    return rel in names[start + 1:end]


def _earliest(tailer: Tailer) -> Cursor:
    for seg in tailer.closed:
        if seg.fd is not None:
            return Cursor(seg.seq, 0)
    if tailer.current is not None:
        return Cursor(tailer.current.seq, 0)
    return tailer.head


def _trace_head(fd: int, offset: int, end: int, max_line: int) -> int:
    """Where the group holding the line at ``offset`` begins (group=1: a backlog
    never starts in the middle of a trace): the lines before it are grouped as the
    stream groups them, at most ``GROUP_LOOKBACK`` bytes and
    ``GROUP_LOOKBACK_LINES`` lines back."""
    if offset <= 0 or offset >= end:
        return offset
    first = next(read_lines(fd, offset, min(end, offset + max_line + 1), max_line), None)
    start = max(0, offset - GROUP_LOOKBACK)
    data = os.pread(fd, offset - start, start)
    if start > 0:
        cut = data.find(b"\n") + 1
        data, start = data[cut:], start + cut
    if first is None or not data:
        return offset
    lines = split_complete(data, start, max_line)
    starts = [start, *lines.ends[:-1]][-GROUP_LOOKBACK_LINES:]
    head = group_start([*lines.texts[-GROUP_LOOKBACK_LINES:], first.texts[0]])
    return starts[head] if head < len(starts) else offset
