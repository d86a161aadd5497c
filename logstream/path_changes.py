"""path_changes: what happens to a followed path itself, for the ``Tailer``: the
path names another inode (rotation: read the old file to its end, and any
rotated file in between, then start the new one at 0), the file shrank
(truncation, also when hidden by regrowth: ``_rewritten``), the file is gone
(deletion; re-creation within ``MOVE_GRACE`` is a move), late writes to a
rotated file (``rotation.RotationWait``), and the keeping of closed segments for
lagging clients. A mixin: the tailer's state is its own (``tailer.py``), these
are the methods that change it when the path changes. Opens files only through
``paths``.
"""

from __future__ import annotations

import logging
import os
import time

from . import paths
from .errors import LogstreamError
from .lines import LineSplitter
from .segments import Change, Cursor, Segment

log = logging.getLogger("logstream.tailer")

KEEP_CLOSED = 4  # rotated-away segments kept readable for lagging clients
MOVE_GRACE = 2.0  # seconds a moved-away file waits for its replacement
TAIL = 32  # bytes remembered before the read offset (see PathChanges._rewritten)


class PathChanges:
    """The tailer's handling of rotation, truncation and deletion (see the
    module's docstring); used only as ``Tailer``'s base."""

    def _check(self) -> None:
        if self._stopped:
            return
        try:
            # The joined path, stat()ed directly: the full confinement check runs on
            # every (re)open, and a symlink retargeted outside shows up here as a new
            # inode that the reopen then refuses.
            st = os.stat(self._path) if self._path else paths.stat_file(self.root, self.rel)
            self.error = None
        except (FileNotFoundError, NotADirectoryError):
            st = None
        except OSError as exc:  # the path cannot be examined (EACCES, EIO, ...)
            if self.current is not None:
                self._read_available()  # the open descriptor may still read
            self._report(f"cannot check {self.rel}: {exc.strerror or exc}")
            return
        cur = self.current
        if cur is None:
            if st is not None:
                self._reopen("recreated")
            return
        if st is not None and (st.st_ino, st.st_dev) == (cur.ino, cur.dev):
            if st.st_size < self._read_pos or self._rewritten():
                self._truncated()
            self._read_available(turn=True)
            self._missing_since = None
            self._rotation.clear()
            if self.closed and self._rotation.late_check_due():
                self._check_late()
            return
        if st is not None:
            # Another file now: run the full confinement check before following it.
            try:
                paths.stat_file(self.root, self.rel)
            except paths.OutsideRoot as exc:
                st, self.error = None, str(exc)  # stop following: never read outside
            except OSError:
                pass  # examined again on the next check
        # The path is gone or names another file: finish the old one first.
        self._read_available()
        if st is None:
            try:
                moved = os.fstat(cur.fd).st_nlink > 0
            except OSError:
                moved = False
            now = time.monotonic()
            if moved and self.error is None:
                self._missing_since = self._missing_since or now
                if now - self._missing_since < MOVE_GRACE:
                    return  # logrotate's mv; the new file is about to appear
            self._close_current("deleted", {"reason": self.error or ("moved away" if moved else "deleted")})
            return
        if self.error is None and self._rotation.waiting(self._read_pos, st.st_size):
            return
        self._reopen("rotated")

    def _check_late(self) -> None:
        """Bytes written to a renamed file after the rotation wait ended are not
        delivered: say so, once per growth, never silently (promise: never silent)."""
        for seg, late in self._rotation.late_writes(self.closed):
            here = self.head
            self._publish(Change("late", here, here, self.current.ino, {
                "lost_bytes": late, "rotated_ino": f"{seg.ino:x}",
                "reason": "lines were written to the rotated file after --rotate-wait ended; "
                          "they are not delivered"}))

    def _report(self, reason: str) -> None:
        """Tell clients once that the file cannot be read right now (promise: an
        error event, never a silently dead stream). The position does not move;
        reading goes on when the file can be read again."""
        self.error = reason
        if self._reported == reason:
            return
        self._reported = reason
        here = self.head
        ino = self.current.ino if self.current is not None else self.closed[-1].ino
        self._publish(Change("error", here, here, ino, {"reason": reason}))

    def _rewritten(self) -> bool:
        """The bytes we read last are no longer there: the file was truncated and
        grew back past our offset between two checks (copytruncate under a busy
        writer). Costs one small pread per check, not per line."""
        if not self._tail:
            return False
        try:
            now = os.pread(self.current.fd, len(self._tail), self._read_pos - len(self._tail))
        except OSError:
            return False
        return now != self._tail

    def _begin(self, fd: int, st: os.stat_result, start: int) -> None:
        """A new segment: this descriptor, read from the line boundary ``start``."""
        self._seq += 1
        self.current = Segment(self._seq, st.st_ino, st.st_dev, fd)
        self._splitter = LineSplitter(start, self.max_line)
        self._read_pos = start
        self._rotation.clear()
        # What a truncation check compares with (_rewritten): the bytes before start.
        self._tail = os.pread(fd, min(TAIL, start), start - min(TAIL, start)) if start else b""
        self._missing_since = None

    def _reopen(self, reason: str) -> None:
        try:
            fd, st = paths.open_file(self.root, self.rel)
        except (OSError, LogstreamError) as exc:
            self.error = str(exc)
            return
        if self.current is not None:
            old_ino = self.current.ino
            self._close_current(None, {})
            old = self.closed[-1]
            before = self._read_between(old_ino, st.st_ino, Cursor(old.seq, old.end))
        else:
            before = self.head  # the file had been deleted: clients wait at its end
        self._begin(fd, st, 0)
        change = Change("rotate", before, Cursor(self.current.seq, 0), st.st_ino, {"reason": reason})
        self.closed[-1].changes.append(change)
        self._publish(change)
        self._read_available()

    def _read_between(self, old_ino: int, new_ino: int, before: Cursor) -> Cursor:
        """The path was rotated more than once between two checks (app.log became
        app.log.2 and the app.log.1 in between was never followed): read every
        rotation of the chain between the old file and the new one, in order, each
        as a segment of its own announced by ``rotate`` (promise: no line lost).
        Returns where the new file's ``rotate`` starts."""
        try:
            chain = paths.rotation_chain(self.root, self.rel)
        except LogstreamError:
            return before
        links = paths.chain_from(chain, old_ino, {new_ino}) or []
        for link in links[1:]:  # the first is the old file, read to its end already
            if self._stopped or link.compressed is not None:
                continue
            try:
                fd, st = paths.open_file(self.root, link.rel)
            except LogstreamError:
                continue
            if st.st_ino != link.ino:
                close_fd(fd)
                continue
            self._begin(fd, st, 0)
            change = Change("rotate", before, Cursor(self.current.seq, 0), st.st_ino, {"reason": "rotated"})
            self.closed[-1].changes.append(change)
            self._publish(change)
            self._read_available()
            if self.current is None:
                break
            self._close_current(None, {})
            seg = self.closed[-1]
            before = Cursor(seg.seq, seg.end)
        return before

    def _truncated(self) -> None:
        cur = self.current
        self._flush()
        end = self._read_pos
        old = Segment(cur.seq, cur.ino, cur.dev, None, end)  # its bytes are gone
        self._seq += 1
        self.current = Segment(self._seq, cur.ino, cur.dev, cur.fd)
        change = Change("truncate", Cursor(old.seq, end), Cursor(self.current.seq, 0), cur.ino, {})
        old.changes.append(change)
        self._keep(old)
        self._splitter = LineSplitter(0, self.max_line)
        self._read_pos = 0
        self._tail = b""
        self._publish(change)

    def _close_current(self, kind: str | None, info: dict) -> None:
        """End the current segment (its file was replaced or is gone)."""
        cur = self.current
        self._flush()
        cur.end = self._read_pos
        self.current = None
        if kind == "deleted":
            close_fd(cur.fd)  # do not pin a deleted file's disk space
            cur.fd = None
        self._keep(cur)
        if kind is not None:
            change = Change(kind, Cursor(cur.seq, cur.end), Cursor(cur.seq, cur.end, True), cur.ino, info)
            cur.changes.append(change)
            self._publish(change)

    def _keep(self, seg: Segment) -> None:
        self.closed.append(seg)
        while len(self.closed) > KEEP_CLOSED:
            old = self.closed.pop(0)
            if old.fd is not None and (self.current is None or old.fd != self.current.fd):
                close_fd(old.fd)
            old.fd = None


def close_fd(fd: int | None) -> None:
    """Close ``fd`` if there is one; a descriptor already gone is no error."""
    if fd is None:
        return
    try:
        os.close(fd)
    except OSError:
        pass
