"""appends: the inotify watch that hears appends (``IN_MODIFY``), read by the gevent
hub itself, beside watchdog's observer, which hears everything else.

Why a second inotify instance: an append is one ``IN_MODIFY`` per ``write``, the
one event that comes at the rate lines do. Through watchdog it crossed three
threads (reader, emitter, dispatcher; greenlets under gevent) and two queues:
about 120 µs of CPU per event (``bench/watchdog_cost.py``), as much as frontail
spends per line in all. Here the hub wakes one greenlet when the descriptor is
readable; it reads every queued event in one ``read`` and reports each distinct
path once per read (a burst of appends to one file is one wake-up). watchdog
keeps learning the tree (created, deleted, moved files and directories) and
tells this watch which directories to hear (``add_dir``, ``moved_dir``); the
kernel drops a deleted directory's watch itself (``IN_IGNORED``).

Owns the inotify descriptor, its watch descriptors and their directories. Never
reads a file; never blocks the hub (non-blocking descriptor, one libev watcher).
Linux only: elsewhere ``AppendWatch.available`` is False and watchdog's own
modified events do the work.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable

import gevent

try:
    from inotify_simple import INotify, flags, parse_events
except ImportError:  # not Linux
    INotify = None

log = logging.getLogger(__name__)

READ_BYTES = 64 * 1024  # one read: up to ~2,000 events with short names
if INotify is not None:
    MASK = flags.MODIFY | flags.ONLYDIR | flags.DONT_FOLLOW | flags.EXCL_UNLINK
    OVERFLOW, IGNORED = flags.Q_OVERFLOW, flags.IGNORED


class AppendWatch:
    """``IN_MODIFY`` of the files in the directories it is given.

    ``modified(paths)`` is called from this watch's greenlet with the distinct
    absolute paths of one read (a set of ``str``); ``overflowed()`` when the
    kernel's queue overflowed (appends were missed: every follower should look).
    Raises nothing after ``start()``: a directory that cannot be watched (gone,
    or ``fs.inotify.max_user_watches`` reached) is logged once and left to the
    tailers' safety-net poll."""

    available = INotify is not None

    def __init__(self, modified: Callable[[set[str]], None], overflowed: Callable[[], None]) -> None:
        self.modified = modified
        self.overflowed = overflowed
        self._inotify = None
        self._dirs: dict[int, str] = {}  # watch descriptor → directory
        self._wds: dict[str, int] = {}  # directory → watch descriptor
        self._greenlet: gevent.Greenlet | None = None
        self._warned = False

    def start(self) -> None:
        self._inotify = INotify(nonblocking=True)
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill()  # its libev watcher is closed before the descriptor
            self._greenlet = None
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None

    def __len__(self) -> int:
        return len(self._dirs)

    def add_dir(self, path: str) -> None:
        """Hear appends to the files of the directory ``path`` (absolute). Adding
        one already heard only refreshes its name."""
        if self._inotify is None:
            return
        try:
            wd = self._inotify.add_watch(path, MASK)
        except OSError as exc:
            if exc.errno == errno.ENOSPC and not self._warned:
                self._warned = True
                log.warning("cannot watch more directories for appends (fs.inotify.max_user_watches); "
                            "files beyond %d directories are checked every --poll-interval", len(self._dirs))
            return
        old = self._dirs.get(wd)
        if old is not None and self._wds.get(old) == wd:
            del self._wds[old]
        self._dirs[wd] = path
        self._wds[path] = wd

    def moved_dir(self, src: str, dest: str) -> None:
        """The directory ``src`` is now ``dest``: its watches (and those of the
        directories under it) follow the inodes, so only their names change."""
        head = src + os.sep
        for path in [p for p in self._wds if p == src or p.startswith(head)]:
            wd = self._wds.pop(path)
            new = dest + path[len(src):]
            self._dirs[wd] = new
            self._wds[new] = wd

    def _run(self) -> None:
        fd = self._inotify.fileno()
        watcher = gevent.get_hub().loop.io(fd, 1)  # 1: EV_READ
        try:
            while True:
                gevent.get_hub().wait(watcher)
                self._read(fd)
        finally:
            watcher.close()

    def _read(self, fd: int) -> None:
        try:
            data = os.read(fd, READ_BYTES)
        except BlockingIOError:
            return
        touched: set[str] = set()
        lost = False
        for wd, mask, _cookie, name in parse_events(data):
            if mask & OVERFLOW:
                lost = True
            elif mask & IGNORED:  # the directory was deleted (or unmounted)
                path = self._dirs.pop(wd, None)
                if path is not None and self._wds.get(path) == wd:
                    del self._wds[path]
            elif name:
                d = self._dirs.get(wd)
                if d is not None:
                    touched.add(os.path.join(d, name))
        if touched:
            self.modified(touched)
        if lost:
            self.overflowed()
