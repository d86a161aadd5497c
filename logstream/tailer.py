"""tailer: one followed file. Owns its identity (device + inode), the offset of the
last complete line, the unfinished last line, and the history of what happened to
it: rotation (the path now names another inode: read the old one to its end, then
start the new one at 0), truncation (size below our offset: announce it, restart
at 0), deletion and re-creation, and the end of a file whose writer said it is
done (``end_of_input``: standard input's spool). The read loop and the
publishing are here; how rotation, truncation and deletion are told apart and
handled is ``path_changes.PathChanges``'s, its base.

Publishes ``Batch`` (lines with their offsets) and ``Change`` (a control event)
items, in file order, to one callback. Keeps closed segments' descriptors a while
so a lagging client can still catch up on a rotated file (promise: no line lost).
Never blocks the hub for long (reads in blocks, yields between them); never reads
a file from its start to find its end; opens files only through ``paths``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

import gevent
import gevent.event

from . import paths
from .lines import BLOCK, Lines, LineSplitter, last_line_end, next_data
from .path_changes import TAIL, PathChanges, close_fd
from .rotation import ROTATE_POLL, RotationWait
from .segments import Batch, Change, Cursor, Segment

log = logging.getLogger(__name__)

READ_PER_TURN = 4 * 1024 * 1024  # bytes read before letting other greenlets run


class Tailer(PathChanges):
    """One followed file: reads what is appended and publishes it (this module);
    what happens to the path itself (rotation, truncation, deletion) is
    ``PathChanges``'s."""

    def __init__(self, root, rel: str, max_line: int, poll_interval: float | None,
                 publish: Callable[[Batch | Change], None], pace: Callable[[], float] | None = None,
                 rotate_wait: float = 0.0) -> None:
        self.root = root
        self.rel = rel
        self._pace = pace
        self._last_check = 0.0
        self._path: str | None = None
        self._reported: str | None = None
        self.max_line = max_line
        self.poll_interval = poll_interval
        self._publish = publish
        self.current: Segment | None = None
        self.closed: list[Segment] = []
        self._seq = 0
        self._splitter: LineSplitter | None = None
        self._read_pos = 0
        self._tail = b""  # the last bytes read, to notice a truncation hidden by regrowth
        self._missing_since: float | None = None
        self._wake = gevent.event.Event()
        self._greenlet: gevent.Greenlet | None = None
        self._stopped = False
        # Rotation (the path names another file): keep reading the renamed one for
        # up to rotate_wait seconds, for a writer that has not reopened its log yet.
        self._rotation = RotationWait(rotate_wait)
        self.error: str | None = None
        self._input_end: tuple[int, int] | None = None  # (inode, size) its writer ended with
        self.ended: Change | None = None  # the ``eof`` published once every line up to there was

    # -- life cycle -------------------------------------------------------------------
    def start(self, at: Callable[[int, os.stat_result], int] | None = None) -> None:
        """Open the file (raising ``NotFound``/``PathRejected``) and follow it: from
        the end of its last complete line, or from the line boundary ``at(fd, st)``
        returns (the agent resuming where its stream ends)."""
        fd, st = paths.open_file(self.root, self.rel)
        try:
            start = last_line_end(fd, st.st_size) if at is None else at(fd, st)
            self._path = paths.resolve(self.root, self.rel)
        except BaseException:
            os.close(fd)
            raise
        self._begin(fd, st, start)
        if at is None:
            self._read_available(publish=False)  # past a partial last line: it is not ours
        else:
            self.wake()  # lines may already wait after the offset
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop following and close every descriptor. A check that was waiting at a
        yield (a long read lets other greenlets run) sees ``_stopped`` when it
        resumes and returns: it never reads a descriptor closed under it."""
        self._stopped = True
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None
        for seg in [*self.closed, self.current]:
            if seg is not None and seg.fd is not None:
                close_fd(seg.fd)
                seg.fd = None
        self.closed.clear()

    def wake(self) -> None:
        self._wake.set()

    def end_of_input(self, ino: int, size: int) -> None:
        """The file's writer is done: inode ``ino`` ends at ``size``, after a
        newline. Once every line up to there is published, an ``eof`` change
        follows them (and stays in ``ended`` for clients that come later)."""
        self._input_end = (ino, size)
        self.wake()

    @property
    def offset(self) -> int:
        """End of the last complete line published in the current segment."""
        return self._splitter.offset if self._splitter else 0

    @property
    def head(self) -> Cursor:
        """Where a client that has seen everything published stands."""
        if self.current is not None:
            return Cursor(self.current.seq, self.offset)
        last = self.closed[-1]
        return Cursor(last.seq, last.end, True)

    def segment(self, seq: int) -> Segment | None:
        if self.current is not None and self.current.seq == seq:
            return self.current
        for seg in self.closed:
            if seg.seq == seq:
                return seg
        return None

    def segment_by_ino(self, ino: int) -> Segment | None:
        if self.current is not None and self.current.ino == ino:
            return self.current
        for seg in reversed(self.closed):
            if seg.ino == ino and seg.fd is not None:
                return seg
        return None

    def _run(self) -> None:
        while not self._stopped:
            # poll_interval None: the owner wakes it on a schedule (no timer per wait).
            self._wake.wait(ROTATE_POLL if self._rotation.pending else self.poll_interval)
            if self._pace is not None:
                # Let a few more lines gather when many clients wait on this file:
                # one write per client then carries them all.
                rest = self._pace() - (time.monotonic() - self._last_check)
                if rest > 0:
                    gevent.sleep(rest)
            self._wake.clear()
            self._last_check = time.monotonic()
            try:
                self.check()
            except Exception:  # a tailer must outlive any one bad moment of its file
                log.exception("tailer %s: check failed", self.rel)

    # -- the work -----------------------------------------------------------------------
    def check(self) -> None:
        """Look at the file once: read what was appended, notice rotation,
        truncation, deletion, re-creation and the end of the input, and publish
        what happened."""
        self._check()
        if self._input_end is not None and self.ended is None and not self._stopped:
            self._check_ended()

    def _check_ended(self) -> None:
        cur = self.current
        ino, size = self._input_end
        if cur is not None and cur.ino == ino and self.offset >= size:
            here = self.head
            self.ended = Change("eof", here, here, ino, {"reason": "end of input"})
            self._publish(self.ended)

    def _flush(self) -> None:
        self._read_pos -= self._splitter.give_back_hole()  # trailing NULs are not part of the segment
        start = self._splitter.offset
        lines = self._splitter.flush()
        if lines:
            self._emit(start, lines)

    def _read_available(self, publish: bool = True, turn: bool = False) -> None:
        """Read and publish what the current segment holds past our offset, to an
        empty read. A ``turn`` of the live loop stops at the first short read instead:
        what was appended meanwhile (during the fan-out) has woken the tailer again
        and goes out on the next, paced, turn as one fuller batch. Finishing a file
        that is being replaced always reads to the end: no wake-up would follow."""
        cur = self.current
        read_this_turn = 0
        while True:
            if self._stopped:
                return  # stopped while publishing (an agent's XADD yields) or at the yield below
            try:
                if self._splitter.hole:  # in a hole: jump what the file system knows is one
                    ahead = next_data(cur.fd, self._read_pos, os.fstat(cur.fd).st_size)
                    self._splitter.skip_hole(ahead - self._read_pos)
                    self._read_pos = ahead
                data = os.pread(cur.fd, BLOCK, self._read_pos)
            except OSError as exc:
                self._report(f"cannot read {self.rel}: {exc.strerror or exc}")
                return
            if not data:
                self._reported = None
                self._give_back_hole()
                return
            self._read_pos += len(data)
            self._tail = (self._tail + data[-TAIL:])[-TAIL:]
            start = self._splitter.offset
            lines = self._splitter.feed(data)
            if lines and publish:
                self._emit(start, lines)
            if len(data) < BLOCK and self._splitter.hole:
                self._reported = None
                self._give_back_hole()
                return
            if turn and len(data) < BLOCK:
                self._reported = None  # the end as it was a moment ago
                return
            read_this_turn += len(data)
            if read_this_turn >= READ_PER_TURN:
                gevent.sleep(0)  # let writers drain; we carry on next turn
                read_this_turn = 0
                if self._stopped or self.current is not cur:
                    return

    def _give_back_hole(self) -> None:
        """The file ends in NULs where a line should start: leave them unread (lines
        skip a hole once text follows it). A preallocated or memory-mapped log
        (log4j's MemoryMappedFileAppender) overwrites those zeros in place, with no
        inotify event and behind any offset we had moved past them."""
        hole = self._splitter.give_back_hole()
        if hole:
            self._read_pos -= hole
            fd, keep = self.current.fd, min(TAIL, self._read_pos)
            self._tail = os.pread(fd, keep, self._read_pos - keep) if keep else b""

    def _emit(self, start: int, lines: Lines) -> None:
        seg = self.current
        self._publish(Batch(seg.seq, seg.ino, start, lines.ends[-1], lines))

