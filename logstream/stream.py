"""stream: one client's event stream over one or more files.

Owns the client's cursor in each file and the three ways lines reach it: from the
file (the backlog, a resume by id, a catch-up after its queue overflowed or after
a rotation it missed) and from the topic's live batches. Every way advances the
same cursor and skips what it already sent, so the client gets each line exactly
once (promise: no line lost, none repeated), and is told by an event whenever
lines are gone for good. Never holds more than one read block per client beyond
its bounded queue; releases its subscriptions in ``close()``, which the WSGI
server calls when the client goes away (also before the first chunk was sent).
"""

from __future__ import annotations

import json
import logging
import os
import select
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import gevent
import re2

from . import sse
from .errors import BadEventId, BadRequest
from .lines import Lines, backlog_start, is_line_boundary, read_lines
from .position import Position, parse_id
from .tailer import Batch, Change, Cursor, Segment
from .topic import Subscriber, Topic, Topics

log = logging.getLogger(__name__)

FOREIGN = 0  # segment number of a rotated file found on disk by a resumed id
_GAP = object()
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


class LineFilter:
    """A client's regex, in linear time (RE2): a hostile pattern cannot hang us."""

    def __init__(self, pattern: str, invert: bool = False) -> None:
        if len(pattern) > 1000:
            raise BadRequest("filter: pattern longer than 1000 characters")
        try:
            self._regex = re2.compile(pattern, _RE2_OPTIONS)
        except re2.error as exc:
            reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise BadRequest(f"filter: invalid regular expression: {reason}") from None
        self.invert = invert
        self.key = (pattern, invert)

    def match(self, text: str) -> bool:
        return (self._regex.search(text) is None) == self.invert

    def select(self, lines: Lines) -> list[int]:
        search, invert = self._regex.search, self.invert
        return [i for i, text in enumerate(lines.texts) if (search(text) is None) == invert]


@dataclass
class FileState:
    index: int
    rel: str
    topic: Topic
    cursor: Cursor = Cursor(0, 0)
    ino: int = 0
    foreign: Segment | None = None
    notices: list[bytes] = field(default_factory=list)


class Stream:
    """An iterable of response chunks. ``close()`` releases everything."""

    def __init__(self, topics: Topics, rels: list[str], *, config, line_filter: LineFilter | None,
                 text: bool, lines: int, last_id: str | None, environ: dict | None = None,
                 shutdown=None, metrics=None, on_close=None, pinger=None) -> None:
        self.topics = topics
        self.config = config
        self.filter = line_filter
        self.text = text
        self.lines = lines
        self.last_id = last_id
        self.environ = environ if environ is not None else {}
        self.sock: socket.socket | None = self.environ.get("logstream.socket")
        self.on_close = on_close
        self.end_reason = "client_gone"
        self.shutdown = shutdown
        self.metrics = metrics
        self.merged = len(rels) > 1
        self.sub = Subscriber(config.queue_bytes, merged=self.merged)
        self.pinger = pinger
        self._rest = b""  # the part of a direct write the socket did not take
        self._handler = self.environ.get("logstream.handler")
        if self._handler is not None and self.sock is not None and hasattr(self.sock, "_sock") \
                and not isinstance(self.sock, ssl.SSLSocket):
            self._raw = self.sock._sock  # the non-blocking OS socket under gevent's
            self.sub.direct = self._send_direct
        self.files: list[FileState] = []
        self._closed = False
        self._fkey = line_filter.key if line_filter else None
        try:
            for index, rel in enumerate(rels):
                topic = topics.subscribe(rel, self.sub, index)
                self.files.append(FileState(index, rel, topic))
            self._start()
        except BaseException:
            # Never opened: let go of the subscriptions only. The caller undoes its
            # own admission, and no stream was counted as open.
            self.on_close = self.metrics = None
            self.close()
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.pinger is not None:
            self.pinger.discard(self.sub)
        for fs in self.files:
            self.topics.unsubscribe(fs.topic, self.sub)
            if fs.foreign is not None and fs.foreign.fd is not None:
                os.close(fs.foreign.fd)
                fs.foreign.fd = None
        if self.on_close is not None:
            self.on_close()
        if self.metrics is not None:
            self.metrics.stream_closed(self.environ.get("logstream.disconnect", self.end_reason))

    def __iter__(self) -> Iterator[bytes]:
        if self.pinger is not None:
            self.pinger.add(self.sub)
        sent = self.metrics.bytes_sent if self.metrics is not None else None
        sub = self.sub
        for chunk in self._run():
            sub.last_sent = time.monotonic()
            if sent is not None:
                sent.value += len(chunk)
            yield chunk

    # -- where each file starts ------------------------------------------------------
    def _start(self) -> None:
        positions: list[Position | None] = [None] * len(self.files)
        reason = None
        if self.last_id is not None:
            try:
                positions = parse_id(self.last_id, len(self.files))
            except BadEventId as exc:
                reason = exc.message
        for fs, position in zip(self.files, positions, strict=False):
            if position is not None:
                reason = self._resume(fs, position)
                if reason is None:
                    continue
            if reason is not None:
                fs.notices.append(self._event("reset", fs, {"reason": reason, "id": self.last_id[:200]}))
            self._backlog(fs)

    def _resume(self, fs: FileState, pos: Position) -> str | None:
        tailer = fs.topic.tailer
        seg = tailer.segment_by_ino(pos.ino)
        if seg is not None:
            end = tailer.offset if seg is tailer.current else seg.end
            if pos.offset > end:
                return "the id points past the end of the file (it was truncated or rewritten)"
            if not is_line_boundary(seg.fd, pos.offset):
                return "the id does not point at a line boundary (the file was rewritten)"
            fs.cursor, fs.ino = Cursor(seg.seq, pos.offset), seg.ino
            return None
        foreign = self._find_rotated(fs, pos.ino)
        if foreign is None:
            return "the file this id names is gone (rotated away and removed, or another file)"
        fd, size = foreign
        if pos.offset > size or not is_line_boundary(fd, pos.offset):
            os.close(fd)
            return "the id does not point at a line of the rotated file"
        first = tailer.closed[0] if tailer.closed and tailer.closed[0].fd is not None else tailer.current
        if first is None:
            first = tailer.closed[-1]
        after = Cursor(first.seq, 0)
        change = Change("rotate", Cursor(FOREIGN, size), after, first.ino, {"reason": "rotated"})
        fs.foreign = Segment(FOREIGN, pos.ino, 0, fd, size, [change])
        fs.cursor, fs.ino = Cursor(FOREIGN, pos.offset), pos.ino
        return None

    def _find_rotated(self, fs: FileState, ino: int) -> tuple[int, int] | None:
        """A regular file with inode ``ino`` beside the followed one (``app.log.1``)."""
        from . import paths

        rel_dir = os.path.dirname(fs.rel)
        try:
            entries = list(os.scandir(os.path.join(self.topics.root, rel_dir)))
        except OSError:
            return None
        for entry in entries:
            try:
                if entry.inode() != ino or not entry.is_file(follow_symlinks=False):
                    continue
                fd, st = paths.open_file(self.topics.root, os.path.join(rel_dir, entry.name))
            except Exception:
                continue
            if st.st_ino == ino:
                return fd, st.st_size
            os.close(fd)
        return None

    def _backlog(self, fs: FileState) -> None:
        tailer = fs.topic.tailer
        seg = tailer.current
        if seg is None:
            fs.cursor, fs.ino = tailer.head, tailer.closed[-1].ino
            return
        end = tailer.offset
        match = self.filter.match if self.filter else None
        start = backlog_start(seg.fd, end, self.lines, self.config.max_line, match)
        fs.cursor, fs.ino = Cursor(seg.seq, start), seg.ino

    # -- the loop --------------------------------------------------------------------------
    def _run(self) -> Iterator[bytes]:
        if not self.text:
            yield sse.retry(self.config.retry)
        for fs in self.files:
            if fs.notices:
                yield b"".join(fs.notices)
                fs.notices.clear()
        for fs in self.files:
            yield from self._catch_up(fs)
        heartbeat = self.config.heartbeat or None
        sub = self.sub
        while True:
            if self._rest:
                rest, self._rest = self._rest, b""
                try:
                    self.sock.sendall(rest)  # under the handler's write timeout
                except OSError as exc:
                    timed_out = isinstance(exc, TimeoutError)
                    self.environ["logstream.disconnect"] = "write_timeout" if timed_out else "client_gone"
                    return
            if sub.closed or self.shutdown is not None and self.shutdown.is_set():
                self.end_reason = "shutdown"
                if not self.text:
                    yield sse.comment("server shutting down; reconnect with your last event id")
                return
            if sub.overflowed:
                sub.overflowed = False
                if self.metrics is not None:
                    self.metrics.catchup()
                for fs in self.files:
                    yield from self._catch_up(fs)
                continue
            if not sub.queue:
                if sub.ping_due:
                    sub.ping_due = False
                    if self._peer_gone():
                        return
                    if not self.text:
                        yield sse.comment("ping")
                    continue
                sub.wakeup.clear()  # it may still be set by an overflow; nothing can run in between
                if self.pinger is not None:
                    sub.parked = True  # from now on the publisher may write for us
                    try:
                        sub.wakeup.wait()  # the pinger wakes us once per heartbeat
                    finally:
                        sub.parked = False
                elif not sub.wakeup.wait(heartbeat):
                    sub.ping_due = True
                continue
            out: list[bytes] = []
            for index, item in sub.take():
                fs = self.files[index]
                chunk = self._apply(fs, item)
                if chunk is _GAP:
                    if out:
                        yield b"".join(out)
                        out = []
                    yield from self._catch_up(fs)
                elif chunk:
                    out.append(chunk)
            if out:
                yield b"".join(out)

    def _apply(self, fs: FileState, item: Batch | Change):
        """A live item: deliver it if it continues the cursor, skip it if the
        client has it already, or report a gap to be filled from the file."""
        if isinstance(item, Batch):
            if fs.cursor == Cursor(item.seq, item.start):
                chunk = self._encode_batch(fs, item)
                self._delivered(fs, item, time.monotonic())
                return chunk
            if Cursor(item.seq, item.end) <= fs.cursor:
                return None
            return _GAP
        if item.before == fs.cursor:
            return self._apply_change(fs, item)
        if item.before < fs.cursor:
            return None
        return _GAP

    def _send_direct(self, index: int, item: Batch | Change) -> bool:
        """Deliver a live batch from the publishing greenlet, while this client's
        own greenlet stays parked: one non-blocking send of the shared bytes, no
        greenlet switch, no WSGI layers (the fan-out's main cost). Anything else,
        or a socket that would block, goes the normal way (False)."""
        handler = self._handler
        if self._rest or not isinstance(item, Batch) or not handler.headers_sent:
            return False
        fs = self.files[index]
        cursor = fs.cursor
        if cursor.seq != item.seq or cursor.offset != item.start or cursor.gone:
            return False
        chunk = self._encode_batch(fs, item)
        sent = 0
        if chunk:
            # The shared bytes with the chunk framing beside them: no copy per client.
            parts = (b"%x\r\n" % len(chunk), chunk, b"\r\n") if handler.response_use_chunked else (chunk,)
            try:
                sent = self._raw.sendmsg(parts)
            except OSError:  # would block, or the client is gone: the greenlet finds out
                return False
            handler.response_length += sent
            if sent < sum(map(len, parts)):
                self._rest = b"".join(parts)[sent:]
                self.sub.wakeup.set()
        self.sub.last_sent = time.monotonic()
        self._delivered(fs, item, self.sub.last_sent)
        if self.metrics is not None:
            self.metrics.bytes_sent.inc(sent)
        return True

    def _delivered(self, fs: FileState, item: Batch, now: float) -> None:
        """A live batch reached the client (by its greenlet or directly)."""
        fs.cursor, fs.ino = Cursor(item.seq, item.end), item.ino
        if self.metrics is not None:
            self.metrics.latency.observe(now - item.born)
            self.metrics.lines_sent.inc(len(item.lines))

    def _catch_up(self, fs: FileState) -> Iterator[bytes]:
        """Bring ``fs.cursor`` up to what the tailer has published, from the file."""
        tailer = fs.topic.tailer
        for _ in range(1000):  # segments are few; this bound only guards against a bug
            seg = fs.foreign if fs.cursor.seq == FOREIGN else tailer.segment(fs.cursor.seq)
            if seg is None:
                after = self._earliest(tailer)
                yield self._event("reset", fs, {"reason": "lines after this position were rotated away "
                                                "before they could be sent"}, after)
                fs.cursor = after
                continue
            current = seg is tailer.current
            end = tailer.offset if current else seg.end
            lost = 0
            if fs.cursor.offset < end and not fs.cursor.gone:
                if seg.fd is None:
                    lost = end - fs.cursor.offset
                    fs.cursor = Cursor(seg.seq, end)
                else:
                    for lines in read_lines(seg.fd, fs.cursor.offset, end, self.config.max_line, final=not current):
                        chunk = self._encode_lines(fs, lines, seg.ino)
                        fs.cursor, fs.ino = Cursor(seg.seq, lines.ends[-1]), seg.ino
                        if self.metrics is not None:
                            self.metrics.lines_sent.inc(len(lines))
                        if chunk:
                            yield chunk
                        gevent.sleep(0)  # a long catch-up must not starve the other clients
                    if fs.cursor.offset < end:
                        if current:
                            return  # the file shrank under us; the tailer will announce it
                        lost = end - fs.cursor.offset
                        fs.cursor = Cursor(seg.seq, end)
            if current:
                return
            for change in seg.changes:
                if change.before == fs.cursor:
                    yield self._apply_change(fs, change, lost)
                    lost = 0
            if fs.cursor.seq == seg.seq:
                return  # nothing further yet (the file is gone and not back)

    def _earliest(self, tailer) -> Cursor:
        for seg in tailer.closed:
            if seg.fd is not None:
                return Cursor(seg.seq, 0)
        if tailer.current is not None:
            return Cursor(tailer.current.seq, 0)
        return tailer.head

    # -- encoding ----------------------------------------------------------------------------
    def _id(self, fs: FileState, ino: int, offset: int) -> str:
        if not self.merged:
            return f"{ino:x}-{offset}"
        parts = [f"{f.ino:x}-{f.cursor.offset}" for f in self.files]
        parts[fs.index] = f"{ino:x}-{offset}"
        return ",".join(parts)

    def _id_parts(self, fs: FileState) -> tuple[str, str]:
        if not self.merged:
            return "", ""
        parts = [f"{f.ino:x}-{f.cursor.offset}" for f in self.files]
        left = "".join(p + "," for p in parts[: fs.index])
        right = "".join("," + p for p in parts[fs.index + 1 :])
        return left, right

    def _encode_batch(self, fs: FileState, batch: Batch) -> bytes:
        left, right = self._id_parts(fs)
        key = (self._fkey, self.text, left, right, fs.rel if self.merged else None)
        chunk = batch.encoded.get(key)
        if chunk is None:
            chunk = batch.encoded[key] = self._encode_lines(fs, batch.lines, batch.ino, left, right)
            if self.metrics is not None:
                self.metrics.encodings.inc()
        return chunk

    def _encode_lines(self, fs: FileState, lines: Lines, ino: int, left: str | None = None,
                      right: str | None = None) -> bytes:
        if left is None:
            left, right = self._id_parts(fs)
        texts, ends = lines.texts, lines.ends
        last_end = ends[-1]
        if self.filter is not None:
            keep = self.filter.select(lines)
            if len(keep) != len(texts):
                texts = [texts[i] for i in keep]
                ends = [ends[i] for i in keep]
        if self.text:
            prefix = fs.rel + ": " if self.merged else ""
            return "".join([f"{prefix}{t}\n" for t in texts]).encode("utf-8", "surrogateescape")
        label = fs.rel if self.merged else None
        out = sse.lines_block(f"{left}{ino:x}-", texts, ends, right, label)
        if not ends or ends[-1] != last_end:
            # Move the client's id past lines the filter dropped, so a reconnect
            # does not read them again.
            return out.encode("utf-8") + sse.id_only(f"{left}{ino:x}-{last_end}{right}")
        return out.encode("utf-8")

    def _apply_change(self, fs: FileState, change: Change, lost: int = 0) -> bytes:
        info = dict(change.info)
        if change.kind == "truncate":
            info["lost_bytes"] = lost
        elif lost:
            info["lost_bytes"] = lost
        fs.cursor = change.after
        fs.ino = change.ino
        with_id = change.kind in ("rotate", "truncate")
        return self._event(change.kind, fs, info, change.after if with_id else None)

    def _event(self, kind: str, fs: FileState, info: dict, at: Cursor | None = None) -> bytes:
        if self.text:
            return b""
        data = json.dumps({"path": fs.rel, **info}, ensure_ascii=False)
        event_id = self._id(fs, fs.ino, at.offset) if at is not None else None
        return sse.event(data, event_id, kind)

    def _peer_gone(self) -> bool:
        """An idle client that hung up (no write has failed yet to tell us)."""
        if self.sock is None:
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
            return bool(readable) and self.sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True
