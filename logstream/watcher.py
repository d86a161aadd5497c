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
    from watchdog.observers.inotify_c import InotifyConstants
except ImportError:  # not Linux: watchdog's own observer, which has no inotify queue
    InotifyEmitter = InotifyObserver = None

from . import paths, scopes
from .appends import AppendWatch
from .file_index import FileIndex

log = logging.getLogger(__name__)

CHANGED_EVERY = 1.0  # seconds: size/mtime updates are coalesced per file
RESCAN_EVERY = 600.0  # seconds between two safety walks of the tree (the index's net under lost events)
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

        def get_event_mask_from_filter(self):
            """Appends (``IN_MODIFY``) are heard by ``appends.AppendWatch``, not here:
            through watchdog's threads each cost ~120 µs of CPU."""
            mask = super().get_event_mask_from_filter()
            return mask & ~InotifyConstants.IN_MODIFY if AppendWatch.available else mask

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
    """Directory → the tailers of the followed files in it, and file → its tailers.
    A file-system event wakes the tailers of its directory (a rename or a creation
    beside a file may be its rotation); an append wakes the tailers of that file
    only (10 followed files in one directory: one check per line, not 10). One
    lookup per event, however many files are followed. A file is indexed under
    its path and its real path (a symlink inside the root), and their directories."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._by_dir: dict[str, set] = {}
        self._by_file: dict[str, set] = {}

    def _keys(self, rel: str) -> list[tuple[dict, str]]:
        full = os.path.join(self.root, paths.fs_name(rel))
        files = {full, os.path.realpath(full)}
        return [(self._by_file, f) for f in files] + [(self._by_dir, d) for d in {os.path.dirname(f) for f in files}]

    def add(self, rel: str, tailer) -> None:
        for table, key in self._keys(rel):
            table.setdefault(key, set()).add(tailer)

    def discard(self, rel: str, tailer) -> None:
        for table, key in self._keys(rel):
            group = table.get(key)
            if group is not None:
                group.discard(tailer)
                if not group:
                    del table[key]

    def appended(self, path: str) -> None:
        """The file at the absolute ``path`` was written to: wake its tailers."""
        for tailer in self._by_file.get(path, ()):
            tailer.wake()

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
    ``target.appended(path)`` for every file written to, from the
    ``AppendWatch``'s, and ``target.wake_all()`` when events were lost. Keeps
    ``index`` (``file_index.FileIndex``) current from the same events, walks the
    tree again after an overflow and every ``RESCAN_EVERY`` seconds, and tells
    file-list clients what changed."""

    def __init__(self, root: Path, target) -> None:
        self.root = root
        self.target = target
        self.listeners: set[FileListener] = set()
        self.index = FileIndex(root)
        self.appends = AppendWatch(self._appended, self.on_overflow) if AppendWatch.available else None
        self._changed: dict[str, None] = {}
        self._observer: Observer | None = None
        self._greenlets: list[gevent.Greenlet] = []
        self._rescan = gevent.event.Event()  # set: walk the tree now
        self._resync_after_rescan = False

    def start(self) -> None:
        if self._observer is not None:
            return
        if self.appends is not None:
            self.appends.start()
        self._observer = Observer() if InotifyObserver is None else _Observer()
        self._observer.schedule(self, str(self.root), recursive=True, event_filter=EVENTS)
        self._observer.start()
        self._greenlets = [gevent.spawn(self._tick), gevent.spawn(self._rescans)]
        log.info("watching %s (inotify, one recursive watch%s)", self.root,
                 "; appends read by the hub" if self.appends is not None else "")

    def stop(self) -> None:
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        self._greenlets = []
        if self.appends is not None:
            self.appends.stop()
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
            self._directory_event(event.event_type, src, dest)
            return
        kind = event.event_type
        if kind in ("modified", "attrib"):  # modified: only where appends.AppendWatch is not available
            self._changed[src] = None
        elif kind == "created":
            entry = self.index.update(src)
            if entry is not None:
                self._broadcast("created", entry)
        elif kind == "deleted":
            self._changed.pop(src, None)
            self.index.drop(src)
            self._broadcast("deleted", {"path": paths.public_name(os.path.relpath(src, self.root))})
        elif kind == "moved":
            self._changed.pop(src, None)
            self.index.drop(src)
            entry = self.index.update(dest)
            src_rel = paths.public_name(os.path.relpath(src, self.root))
            if entry is None:
                self._broadcast("deleted", {"path": src_rel})
            else:
                self._broadcast("moved", {"path": src_rel, "dest": entry["path"], "size": entry["size"],
                                          "mtime": entry["mtime"]})

    def _directory_event(self, kind: str, src: str, dest: str) -> None:
        """A directory was created, deleted or moved: the index and the append
        watch follow; file-list clients get a new snapshot for a delete or move."""
        if kind == "created":
            self._watch_dirs(self.index.add_tree(src))
        elif kind in ("deleted", "moved"):
            self.index.drop_tree(src)
            if kind == "moved":
                if self.appends is not None:
                    self.appends.moved_dir(src, dest)
                if not os.path.relpath(dest, self.root).startswith(".."):
                    self._watch_dirs(self.index.add_tree(dest))
            self._broadcast_snapshot()

    def on_overflow(self, event: QueueOverflowed | None = None) -> None:
        """What the lost events said is unknown: walk the tree again (then a new
        snapshot for every file-list client) and let every tailer look at its file.
        Called for watchdog's queue (``event``) and the append watch's (None)."""
        log.warning("inotify queue overflowed (events were lost) in the %s watch: the tree is walked again, "
                    "a new file list for %d clients, every followed file checked",
                    "tree" if event else "appends", len(self.listeners))
        self.target.wake_all()
        self._resync_after_rescan = True
        self._rescan.set()

    # -- appends (runs in the AppendWatch's greenlet) --------------------------------------------
    def _appended(self, touched: set[str]) -> None:
        for path in touched:
            self.target.appended(path)
            self._changed[path] = None

    # -- the index's walks and the file list's clients -------------------------------------------
    def _rescans(self) -> None:
        while True:
            self._rescan.clear()
            resync, self._resync_after_rescan = self._resync_after_rescan, False
            first = not self.index.ready.is_set()  # clients wait for it: nothing to correct
            changed, dirs = self.index.rescan()
            self._watch_dirs(dirs)
            if changed and not first or resync:
                self._broadcast_snapshot()
            self._rescan.wait(RESCAN_EVERY)

    def _watch_dirs(self, dirs: list[str]) -> None:
        if self.appends is not None:
            for d in dirs:
                self.appends.add_dir(d)

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
            for path in changed:
                entry = self.index.update(path)
                if entry is not None and self.listeners:
                    self._broadcast("changed", entry)


def _str(path: str | bytes) -> str:
    return os.fsdecode(path)
