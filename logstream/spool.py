"""spool: standard input (``logstream -``) written into a spool file that is served
like any log file, so ids, resume, backlog and everything else work unchanged.

Reads standard input in blocks without blocking the hub (gevent's non-blocking
reads, a yield after each block) and appends whole lines to ``DIR/NAME``; the
unfinished last line is held until its newline (or until it is longer than
``HOLD``), so the file only ever breaks between lines. Bounded on disk: past half
of ``max_bytes`` the file rotates as logrotate's default does (``NAME`` becomes
``NAME.1``, the previous ``NAME.1`` is removed), so the spool never holds more than
``max_bytes``. At the end of the input, a last line without a newline gets one
(the input is finished, so that line is complete), and ``run`` returns the inode
and size the file ended with: the server then tells its streams (``eof``). Never
touches the server; never reads a file.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from pathlib import Path

import gevent
import gevent.os

log = logging.getLogger(__name__)

READ = 64 * 1024  # bytes asked of standard input at a time
HOLD = 64 * 1024  # longest unfinished line held back; a longer one is written in pieces


class Spool:
    """Standard input (descriptor ``fd``) into ``directory/name``, at most
    ``max_bytes`` on disk (``keep`` rotated files beside the current one)."""

    def __init__(self, fd: int, directory: Path, name: str, max_bytes: int, keep: int = 1) -> None:
        self.fd = fd
        self.path = Path(directory) / name
        self.keep = keep
        self.share = max_bytes // (keep + 1)  # bytes per file: all of them together stay within max_bytes
        self.pending = b""  # the unfinished last line
        self.size = 0  # bytes in the current file
        self.rotations = 0
        self.out = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)

    def run(self) -> tuple[int, int]:
        """Copy standard input until it ends; returns the (inode, size) the spool
        file ended with. Raises ``OSError`` when the spool cannot be written."""
        flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        gevent.os.make_nonblocking(self.fd)
        try:
            while True:
                try:
                    data = gevent.os.nb_read(self.fd, READ)
                except OSError as exc:
                    if exc.errno == errno.EINTR:
                        continue
                    log.error("cannot read standard input: %s; treating it as ended", exc.strerror or exc)
                    data = b""
                if not data:
                    break
                self.feed(data)
                gevent.sleep(0)  # a producer faster than us must not starve the streams
        finally:
            try:
                fcntl.fcntl(self.fd, fcntl.F_SETFL, flags)  # a terminal's descriptor is shared with the shell
            except OSError:
                pass
        return self.finish()

    def feed(self, data: bytes) -> None:
        """Append ``data``'s complete lines; hold its unfinished last line."""
        data = self.pending + data
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) <= HOLD:
            self.pending = data
            return
        if cut == 0:
            cut = len(data)  # a line longer than HOLD: its pieces go out as they come
        self.pending = data[cut:]
        self._write(data[:cut])

    def finish(self) -> tuple[int, int]:
        """The input ended: write the held line, completed with a newline."""
        if self.pending:
            rest, self.pending = self.pending + b"\n", b""
            self._write(rest)
        st = os.fstat(self.out)
        return st.st_ino, st.st_size

    def close(self) -> None:
        if self.out is not None:
            os.close(self.out)
            self.out = None

    def _write(self, data: bytes) -> None:
        while data:
            room = self.share - self.size
            if len(data) <= room:
                self._append(data)
                return
            cut = data.rfind(b"\n", 0, room) + 1  # the file ends between two lines
            if cut == 0 and self.size == 0:
                cut = room  # a single line longer than a file's share: the only kind ever split
            self._append(data[:cut])
            data = data[cut:]
            self._rotate()

    def _append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.out, view)
            view = view[written:]
        self.size += len(data)

    def _rotate(self) -> None:
        """logrotate's default (create): NAME.k is removed, NAME.i becomes NAME.i+1,
        NAME becomes NAME.1, and a new NAME starts."""
        base = str(self.path)
        try:
            os.unlink(f"{base}.{self.keep}")
        except FileNotFoundError:
            pass
        for i in range(self.keep - 1, 0, -1):
            try:
                os.replace(f"{base}.{i}", f"{base}.{i + 1}")
            except FileNotFoundError:
                pass
        os.replace(base, f"{base}.1")
        os.close(self.out)
        self.out = None
        self.out = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self.size = 0
        self.rotations += 1
