"""sources.local: the directory on this machine as a source. Topics over tailers
(one tailer per followed file, started by its first subscriber), the one watcher
of the tree, and the file follower: a client's cursor in one file's history.

The follower's three ways of delivering lines (the backlog, a resume by id, a
catch-up after its queue overflowed or after a rotation it missed) and the live
batches all advance the same cursor and skip what it already sent, so the client
gets each line exactly once (promise: no line lost, none repeated), and is told by
an event whenever lines are gone for good. Never holds more than one read block
per client beyond its bounded queue; opens files only through ``paths``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import gevent

from .. import paths
from ..lines import backlog_start, is_line_boundary, read_lines
from ..position import Position, parse_position
from ..tailer import Batch, Change, Cursor, Segment, Tailer
from ..topic import Topic, Topics
from ..watcher import WakeIndex, Watcher
from .base import GAP, Follower

FOREIGN = 0  # segment number of a rotated file found on disk by a resumed id


class FileTopic(Topic):
    """One followed file: its subscribers and its tailer."""

    def __init__(self, topics: FileTopics, key: str) -> None:
        super().__init__(key)
        self.tailer = Tailer(topics.root, key, topics.max_line, topics.poll_interval, self.publish, pace=self.pace)

    def pace(self) -> float:
        """Least seconds between two reads of the file: more subscribers, fewer and
        fuller batches (one socket write carries many lines), at most 4 ms of added
        latency. With one subscriber, 20 µs: every line at once."""
        return min(0.004, 20e-6 * len(self.subscribers))


class FileTopics(Topics):
    """Path → topic; the first subscriber starts the file's tailer, the last
    one leaving stops it. File-system events wake the tailers of their directory."""

    def __init__(self, root, max_line: int, poll_interval: float) -> None:
        super().__init__()
        self.root = root
        self.max_line = max_line
        self.poll_interval = poll_interval
        self.index = WakeIndex(root)

    def open_topic(self, key: str) -> FileTopic:
        topic = FileTopic(self, key)
        topic.tailer.start()  # NotFound / PathRejected: nobody subscribes
        self.index.add(key, topic.tailer)
        return topic

    def close_topic(self, topic: FileTopic) -> None:
        self.index.discard(topic.key, topic.tailer)
        topic.tailer.stop()

    def touched(self, path: str) -> None:
        """A file-system event at ``path`` (the watcher calls this)."""
        self.index.touched(path)

    def wake_all(self) -> None:
        """File-system events were lost (the watcher calls this)."""
        self.index.wake_all()


class LocalSource:
    """The directory ``config.root``: see ``sources.base.Source``."""

    kind = "inotify"

    def __init__(self, config) -> None:
        self.config = config
        self.name = paths.public_name(config.root.name)
        self.topics = FileTopics(config.root, config.max_line, config.poll_interval)
        self.watcher = Watcher(config.root, self.topics)

    @property
    def alive(self) -> bool:
        return self.watcher.alive

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.topics.close()
        self.watcher.stop()

    def list_files(self) -> list[dict]:
        return [f.as_json() for f in paths.list_files(self.config.root)]

    def add_listener(self, listener) -> None:
        self.watcher.listeners.add(listener)

    def remove_listener(self, listener) -> None:
        self.watcher.listeners.discard(listener)

    def follower(self, stream, rel: str, index: int) -> FileFollower:
        key = os.path.normpath(rel)
        topic = self.topics.subscribe(key, stream.sub, index)
        return FileFollower(stream, rel, index, self.topics, topic)

    def open_file(self, rel: str) -> tuple[int, os.stat_result]:
        return paths.open_file(self.config.root, rel)


class FileFollower(Follower):
    """A client's place in one file's history: ``cursor`` (segment, offset) and
    ``ino``, the inode its ids name. ``foreign`` is a rotated file found on disk by
    a resumed id (after a restart), read before the tailer's own segments."""

    def __init__(self, stream, rel: str, index: int, topics: FileTopics, topic: FileTopic) -> None:
        super().__init__(stream, rel, index, topics, topic)
        self.tailer: Tailer = topic.tailer
        self.cursor = Cursor(0, 0)
        self.ino = 0
        self.foreign: Segment | None = None

    def parse_position(self, part: str) -> Position | None:
        return parse_position(part)

    def token(self) -> str:
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
        found = paths.find_sibling(self.topics.root, self.rel, pos.ino)
        if found is None:
            return {"reason": "the file this id names is gone (rotated away and removed, or another file)"}
        fd, st = found
        size = st.st_size
        if pos.offset > size or not is_line_boundary(fd, pos.offset):
            os.close(fd)
            return {"reason": "the id does not point at a line of the rotated file"}
        first = tailer.closed[0] if tailer.closed and tailer.closed[0].fd is not None else tailer.current
        if first is None:
            first = tailer.closed[-1]
        change = Change("rotate", Cursor(FOREIGN, size), Cursor(first.seq, 0), first.ino, {"reason": "rotated"})
        self.foreign = Segment(FOREIGN, pos.ino, 0, fd, size, [change])
        self.cursor, self.ino = Cursor(FOREIGN, pos.offset), pos.ino
        return None

    def backlog(self) -> None:
        tailer = self.tailer
        seg = tailer.current
        if seg is None:
            self.cursor, self.ino = tailer.head, tailer.closed[-1].ino
            return
        line_filter = self.encoder.filter
        start = backlog_start(seg.fd, tailer.offset, self.stream.lines, self.stream.config.max_line,
                              line_filter.match if line_filter else None)
        self.cursor, self.ino = Cursor(seg.seq, start), seg.ino

    # -- live items ------------------------------------------------------------------------------
    def apply(self, item: Batch | Change):
        if isinstance(item, Batch):
            if self.cursor == Cursor(item.seq, item.start):
                chunk = self._encode_batch(item)
                self.delivered(item, time.monotonic())
                return chunk
            if Cursor(item.seq, item.end) <= self.cursor:
                return None
            return GAP
        if item.before == self.cursor:
            return self._apply_change(item)
        if item.before < self.cursor:
            return None
        return GAP

    def live_chunk(self, item: Batch | Change) -> bytes | None:
        if not isinstance(item, Batch):
            return None
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
            seg = self.foreign if self.cursor.seq == FOREIGN else tailer.segment(self.cursor.seq)
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
                return
            for change in seg.changes:
                if change.before == self.cursor:
                    yield self._apply_change(change, lost)
                    lost = 0
            if self.cursor.seq == seg.seq:
                return  # nothing further yet (the file is gone and not back)

    def close(self) -> None:
        super().close()
        if self.foreign is not None and self.foreign.fd is not None:
            os.close(self.foreign.fd)
            self.foreign.fd = None

    # -- encoding ------------------------------------------------------------------------------------
    def _encode_batch(self, batch: Batch) -> bytes:
        lines, prefix, label = batch.lines, f"{batch.ino:x}-", self.label
        return self.encode_shared(batch, lambda left, right: self.encoder.lines(
            lines.texts, lines.ends, prefix=prefix, left=left, right=right, label=label))

    def _apply_change(self, change: Change, lost: int = 0) -> bytes:
        info = dict(change.info)
        if change.kind == "truncate" or lost:
            info["lost_bytes"] = lost
        self.cursor = change.after
        self.ino = change.ino
        with_id = change.kind in ("rotate", "truncate")
        return self.event(change.kind, info, self.event_id(self.token()) if with_id else None)


def _earliest(tailer: Tailer) -> Cursor:
    for seg in tailer.closed:
        if seg.fd is not None:
            return Cursor(seg.seq, 0)
    if tailer.current is not None:
        return Cursor(tailer.current.seq, 0)
    return tailer.head
