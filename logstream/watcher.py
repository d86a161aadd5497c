"""watcher: the one watchdog observer of the process, one recursive inotify watch
of the root, turned into two things: wake-ups for the tailers of the directory an
event touched, and the live file list (created / deleted / moved / changed).

gevent runs watchdog's threads as greenlets here (see ``logstream/entry.py`` for
why and where that is decided), so handlers may set gevent events directly. One
observer for the whole process: inotify instances are few (128 per user) and a
tool that starts one per client falls back to slow polling past that. When the
kernel's event queue overflows (events were lost), every file-list client gets a
new snapshot and every tailer checks its file (promise: never silent). Never reads
file contents; never blocks the hub.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from pathlib import Path

import gevent
import gevent.event
from watchdog import events
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

try:
    from watchdog.observers.inotify import InotifyEmitter, InotifyObserver
except ImportError:  # not Linux: watchdog's own observer, which has no inotify queue
    InotifyEmitter = InotifyObserver = None

from . import paths, scopes

log = logging.getLogger(__name__)

CHANGED_EVERY = 1.0  # seconds: size/mtime updates are coalesced per file
LISTENER_LIMIT = 1000  # events queued for one file-list client before it gets a snapshot
# What the watcher asks the kernel for. Not IN_OPEN nor IN_CLOSE_NOWRITE: every
# reader of a log (our tailers and downloads, grep, backups) made two events per
# open, filling the inotify queue (16,384 events by default) for nothing, and a
# rescan after an overflow, opening every directory, could overflow it again.
EVENTS = [events.FileCreatedEvent, events.DirCreatedEvent, events.FileDeletedEvent, events.DirDeletedEvent,
          events.FileMovedEvent, events.DirMovedEvent, events.FileModifiedEvent, events.DirModifiedEvent,
          events.FileAttribEvent, events.DirAttribEvent, events.FileClosedEvent]


class QueueOverflowed(events.DirModifiedEvent):
    """The kernel's inotify queue overflowed: the events after it was full are
    lost (a burst of tens of thousands, or a process paused)."""

    event_type = "overflow"


if InotifyEmitter is not None:
    class _Emitter(InotifyEmitter):
        """watchdog 7 handles IN_Q_OVERFLOW itself (it rebuilds its recursive
        watches) and tells no handler: files created meanwhile were never announced.
        This emitter queues a ``QueueOverflowed`` after that rebuild, in order with
        the other events. (It reaches into watchdog's watch group, ``_inotify``:
        tests/test_overflow.py fails if an upgrade moves it.)"""

        def on_thread_start(self) -> None:
            super().on_thread_start()
            group = self._inotify
            rebuild = group.on_queue_overflow

            def on_queue_overflow() -> None:
                rebuild()
                self.queue_event(QueueOverflowed(self.watch.path))

            group.on_queue_overflow = on_queue_overflow

    class _Observer(InotifyObserver):
        def __init__(self) -> None:
            super().__init__()
            self._emitter_class = _Emitter


class FileListener:
    """One client of /api/files/events."""

    def __init__(self) -> None:
        self.queue: deque[tuple[str, dict]] = deque()
        self.needs_snapshot = True
        self.wakeup = gevent.event.Event()
        self.closed = False
        self.scope = scopes.current()  # the client's (None: every file); made in its request

    def offer(self, kind: str, data: dict) -> None:
        if self.needs_snapshot:
            return
        if self.scope is not None:
            data = _in_scope(self.scope, kind, data)
            if data is None:
                return
            kind = data.pop("kind", kind)
        if len(self.queue) >= LISTENER_LIMIT:
            self.queue.clear()
            self.needs_snapshot = True
        else:
            self.queue.append((kind, data))
        self.wakeup.set()

    def resync(self) -> None:
        self.queue.clear()
        self.needs_snapshot = True
        self.wakeup.set()

    def interrupt(self) -> None:
        self.closed = True
        self.wakeup.set()


def _in_scope(scope, kind: str, data: dict) -> dict | None:
    """A file-list event as a client with ``scope`` sees it (``kind`` in the
    returned ``"kind"`` if it changes), or None: a move out of the scope is a
    deletion, a move into it a creation, one outside it nothing at all."""
    was = scope.allows(data["path"])
    if kind != "moved":
        return data if was else None
    now = scope.allows(data["dest"])
    if was and now:
        return data
    if was:
        return {"kind": "deleted", "path": data["path"]}
    if now:
        return {"kind": "created", "path": data["dest"], "size": data["size"], "mtime": data["mtime"]}
    return None


class WakeIndex:
    """Directory → the tailers of the followed files in it. A file-system event
    wakes the tailers of its directory (and only those): one lookup per event,
    however many files are followed. A file is indexed under the directory of its
    path and that of its real path (a symlink inside the root)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._by_dir: dict[str, set] = {}

    def _dirs(self, rel: str) -> set[str]:
        full = os.path.join(self.root, paths.fs_name(rel))
        return {os.path.dirname(full), os.path.dirname(os.path.realpath(full))}

    def add(self, rel: str, tailer) -> None:
        for d in self._dirs(rel):
            self._by_dir.setdefault(d, set()).add(tailer)

    def discard(self, rel: str, tailer) -> None:
        for d in self._dirs(rel):
            group = self._by_dir.get(d)
            if group is not None:
                group.discard(tailer)
                if not group:
                    del self._by_dir[d]

    def touched(self, path: str) -> None:
        """A file-system event at the absolute ``path``: wake its directory's tailers."""
        for tailer in self._by_dir.get(os.path.dirname(path), ()):
            tailer.wake()

    def wake_all(self) -> None:
        """Events were lost: every tailer checks its file."""
        for group in self._by_dir.values():
            for tailer in group:
                tailer.wake()


class Watcher(FileSystemEventHandler):
    """The observer of ``root``. ``target.touched(path)`` is called for every
    event's path (a local source's topics, or the agent), from watchdog's greenlet,
    and ``target.wake_all()`` when events were lost."""

    def __init__(self, root: Path, target) -> None:
        self.root = root
        self.target = target
        self.listeners: set[FileListener] = set()
        self._changed: dict[str, None] = {}
        self._observer: Observer | None = None
        self._ticker: gevent.Greenlet | None = None

    def start(self) -> None:
        if self._observer is not None:
            return
        self._observer = Observer() if InotifyObserver is None else _Observer()
        self._observer.schedule(self, str(self.root), recursive=True, event_filter=EVENTS)
        self._observer.start()
        self._ticker = gevent.spawn(self._tick)
        log.info("watching %s (inotify, one recursive watch)", self.root)

    def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.kill(block=False)
        if self._observer is not None:
            # Stopping interrupts the emitter's read; watchdog then logs a harmless
            # "called when the thread is inactive" error. Shutdown is not an error.
            logging.getLogger("watchdog.observers.inotify").setLevel(logging.CRITICAL)
            self._observer.stop()
            self._observer = None
        for listener in list(self.listeners):
            listener.interrupt()

    @property
    def alive(self) -> bool:
        return self._observer is not None and self._observer.is_alive()

    # -- watchdog callback (runs in watchdog's greenlet) ----------------------------------
    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write", "overflow"):
            return
        src = _str(event.src_path)
        dest = _str(event.dest_path) if event.dest_path else ""
        self.target.touched(src)
        if dest:
            self.target.touched(dest)
        if event.event_type == "closed":
            return
        if event.is_directory:
            if event.event_type in ("deleted", "moved"):
                self._broadcast_snapshot()
            return
        kind = event.event_type
        if kind == "modified":
            self._changed[src] = None
        elif kind == "created":
            info = paths.describe(self.root, src)
            if info is not None:
                self._broadcast("created", info.as_json())
        elif kind == "deleted":
            self._changed.pop(src, None)
            self._broadcast("deleted", {"path": paths.public_name(os.path.relpath(src, self.root))})
        elif kind == "moved":
            self._changed.pop(src, None)
            info = paths.describe(self.root, dest)
            src_rel = paths.public_name(os.path.relpath(src, self.root))
            if info is None:
                self._broadcast("deleted", {"path": src_rel})
            else:
                self._broadcast("moved", {"path": src_rel, "dest": info.path, "size": info.size,
                                          "mtime": round(info.mtime, 3)})

    def on_overflow(self, event: QueueOverflowed) -> None:
        """What the lost events said is unknown: rescan (a new snapshot for every
        file-list client) and let every tailer look at its file."""
        log.warning("inotify queue overflowed (events were lost): a new file list for %d clients, "
                    "every followed file checked", len(self.listeners))
        self._broadcast_snapshot()
        self.target.wake_all()

    def _broadcast(self, kind: str, data: dict) -> None:
        if data.get("path", "").startswith(".."):
            return
        for listener in self.listeners:
            listener.offer(kind, data)

    def _broadcast_snapshot(self) -> None:
        for listener in self.listeners:
            listener.resync()

    def _tick(self) -> None:
        while True:
            gevent.sleep(CHANGED_EVERY)
            changed, self._changed = self._changed, {}
            if not self.listeners:
                continue
            for path in changed:
                info = paths.describe(self.root, path)
                if info is not None:
                    self._broadcast("changed", info.as_json())


def _str(path: str | bytes) -> str:
    return os.fsdecode(path)
