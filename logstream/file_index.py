"""file_index: the file list of the tree, kept in memory and kept current from the
watcher's events, so that ``/api/files`` and the file-events snapshot never walk
the tree.

Owns one entry per regular file (its public name and its listing entry already
encoded as JSON), the names in sorted order, the encoded list (cached until the
next change), the server-side filters (``prefix``, ``q``, ``limit``) and the walk
that (re)builds it: at start, after an inotify queue overflow and as a periodic
safety net, yielding to other greenlets between directories. Never reads file
contents; confines like ``paths.describe`` (a symlink is listed only if it leads
to a regular file inside the root; symlinked directories are not descended).
"""

from __future__ import annotations

import bisect
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import gevent
import gevent.event

from . import paths, scopes

LIMIT = 1_000_000  # files indexed at most (~0.6 KB of RSS each, bench/files_index.py); a walk stops there


@dataclass(frozen=True)
class Listing:
    """One answer of the file list: ``files`` is the JSON text of the array of
    entries (``{"path", "size", "mtime"[, "readable"]}``, sorted by path), ``total``
    how many entries matched the filters, ``truncated`` whether ``limit`` cut it."""

    files: str
    total: int
    truncated: bool

    @cached_property
    def data(self) -> bytes:
        """``files`` in UTF-8, encoded once per listing (the unfiltered one is cached
        until the next change)."""
        return self.files.encode()


def encode(entry: dict) -> str:
    """One entry as compact JSON text (UTF-8 names stay themselves)."""
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


def select(names: list[str], prefix: str = "", q: str = "") -> Iterable[str]:
    """The sorted ``names`` under ``prefix`` (a plain string prefix: ``DIR/`` for a
    directory) whose text contains ``q``, case-insensitively. A prefix is a binary
    search (names are sorted), ``q`` a scan of what is left."""
    if prefix:
        lo = bisect.bisect_left(names, prefix)
        hi = lo
        while hi < len(names) and names[hi].startswith(prefix):
            hi += 1  # cheaper than a second search with a sentinel past every character
        names = names[lo:hi]
    if q:
        needle = q.casefold()
        return [n for n in names if needle in n.casefold()]
    return names


def listing(names: list[str], fragments: dict[str, str], prefix: str = "", q: str = "",
            limit: int | None = None, visible: Callable[[str], bool] | None = None) -> Listing:
    """The ``Listing`` of sorted ``names`` whose encoded entries are ``fragments``,
    filtered by ``select`` and by ``visible`` (the caller's scope, issue 19: a
    file outside it is not listed, nor counted in ``total``), and cut at
    ``limit`` entries (None: all)."""
    chosen = select(names, prefix, q)
    if visible is not None:
        chosen = [n for n in chosen if visible(n)]
    total = len(chosen)
    if limit is not None and total > limit:
        chosen = chosen[:limit]
    return Listing("[" + ",".join(map(fragments.__getitem__, chosen)) + "]", total,
                   limit is not None and total > limit)


class FileIndex:
    """The regular files under ``root``: public name → encoded entry.

    Updated by ``update(full)`` (a file was created, changed or moved in: its entry
    is read again, or dropped if it is not a listable file any more), ``drop(full)``
    and ``drop_tree(full_dir)``; rebuilt by ``rescan()``. ``listing()`` answers
    from memory; the unfiltered list is encoded once per change. ``version``
    counts changes. Runs in the hub only (no locks): a rescan yields between
    directories and re-reads, when it ends, every path an event touched meanwhile.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fragments: dict[str, str] = {}
        self.names: list[str] = []  # sorted public names
        self.version = 0
        self.ready = gevent.event.Event()  # the first walk is done
        self._cached: tuple[int, Listing] | None = None
        self._touched: set[str] | None = None  # paths events touched during a rescan

    def __len__(self) -> int:
        return len(self.fragments)

    # -- reads -----------------------------------------------------------------------------
    def listing(self, prefix: str = "", q: str = "", limit: int | None = None) -> Listing:
        """The files under ``prefix`` containing ``q`` (see ``select``), at most ``limit``."""
        scope = scopes.current()
        if scope is not None:  # never the cached unscoped list; a symlink in scope to a file out of it is not there
            return listing(self.names, self.fragments, prefix, q, limit,
                           lambda n: scope.allows(n) and paths.reachable(self.root, n))
        if prefix or q or limit is not None:
            return listing(self.names, self.fragments, prefix, q, limit)
        if self._cached is None or self._cached[0] != self.version:
            self._cached = (self.version, listing(self.names, self.fragments))
        return self._cached[1]

    # -- updates from events ---------------------------------------------------------------
    def update(self, full: str) -> dict | None:
        """Read the entry of the absolute path ``full`` again. Returns the entry if
        it is a listable file (added or replaced), None if not (dropped if it was)."""
        if self._touched is not None:
            self._touched.add(full)
        info = paths.describe(self.root, full)
        if info is None:
            self.drop(full)
            return None
        entry = info.as_json()
        self._put(info.path, encode(entry))
        return entry

    def drop(self, full: str) -> str | None:
        """Forget the file at ``full``; returns its public name if it was listed."""
        if self._touched is not None:
            self._touched.add(full)
        name = self._public(full)
        if name is None or self.fragments.pop(name, None) is None:
            return None
        del self.names[bisect.bisect_left(self.names, name)]
        self.version += 1
        return name

    def drop_tree(self, full_dir: str) -> int:
        """Forget every file under the directory ``full_dir``; returns how many."""
        if self._touched is not None:
            self._touched.add(full_dir)
        name = self._public(full_dir)
        if name is None:
            return 0
        prefix = name + "/"
        lo = bisect.bisect_left(self.names, prefix)
        hi = lo
        while hi < len(self.names) and self.names[hi].startswith(prefix):
            self.fragments.pop(self.names[hi], None)
            hi += 1
        del self.names[lo:hi]
        if hi > lo:
            self.version += 1
        return hi - lo

    def add_tree(self, full_dir: str) -> list[str]:
        """Add every file under ``full_dir`` (a directory created or moved in);
        returns the directories found, ``full_dir`` included."""
        dirs = []
        for kind, full, entry in walk(self.root, full_dir):
            if kind == "dir":
                dirs.append(full)
            else:
                self._put(entry.path, encode(entry.as_json()))
        return dirs

    # -- rebuild -------------------------------------------------------------------------------
    def rescan(self) -> tuple[bool, list[str]]:
        """Walk the whole tree again (yielding between directories) and replace the
        index with what is there. Returns (whether the list changed, every
        directory found)."""
        fragments: dict[str, str] = {}
        dirs: list[str] = []
        self._touched = set()
        try:
            for n, (kind, full, entry) in enumerate(walk(self.root, str(self.root))):
                if kind == "dir":
                    dirs.append(full)
                    if n:
                        gevent.sleep(0)  # events and clients run between directories
                elif len(fragments) < LIMIT:
                    fragments[entry.path] = encode(entry.as_json())
            touched, self._touched = self._touched, None
        finally:
            self._touched = None
        changed = fragments != self.fragments
        if changed:
            self.fragments = fragments
            self.names = sorted(fragments)
            self.version += 1
        for full in touched:  # what events said meanwhile is newer than the walk
            if os.path.isdir(full) and not os.path.islink(full):
                self.drop_tree(full)
                dirs.extend(self.add_tree(full))
            else:
                self.update(full)
        self.ready.set()
        return changed, dirs

    # -- inside ----------------------------------------------------------------------------
    def _put(self, name: str, fragment: str) -> None:
        old = self.fragments.get(name)
        if old == fragment:
            return
        if old is None:
            if len(self.fragments) >= LIMIT:
                return
            bisect.insort(self.names, name)
        self.fragments[name] = fragment
        self.version += 1

    def _public(self, full: str) -> str | None:
        rel = os.path.relpath(full, self.root)
        if rel == "." or rel.startswith(".."):
            return None
        return paths.public_name(rel)


def walk(root: Path, top: str) -> Iterator[tuple[str, str, paths.FileInfo | None]]:
    """``("dir", path, None)`` for every directory under ``top`` (itself first) and
    ``("file", path, FileInfo)`` for every listable file, without following
    symlinked directories. One ``stat`` per plain file (from ``scandir``'s entry);
    a symlink takes ``paths.describe``'s full confinement check."""
    stack = [top]
    while stack:
        d = stack.pop()
        yield "dir", d, None
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        rel_dir = os.path.relpath(d, root)
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                if entry.is_symlink():
                    info = paths.describe(root, entry.path)
                else:
                    st = entry.stat(follow_symlinks=False)
                    if not stat.S_ISREG(st.st_mode):
                        continue
                    rel = entry.name if rel_dir == "." else os.path.join(rel_dir, entry.name)
                    info = paths.FileInfo(paths.public_name(rel), st.st_size, st.st_mtime,
                                          os.access(entry.path, os.R_OK))
            except OSError:
                continue
            if info is not None:
                yield "file", entry.path, info
