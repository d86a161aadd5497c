"""paths: the one gate between a client's path and the file system.

Promise: nothing outside the served directory is listed, streamed or read. Every
route and the tailer open files only through ``open_file``; nothing else in the
package calls ``open`` on a client-supplied path. werkzeug's ``safe_join`` is the
first gate (``..``, absolute paths, NUL); then the real path must stay under the
root (a symlink inside the root may point at a file inside it, never outside);
then the opened descriptor must be a regular file (FIFOs, devices and sockets are
refused without blocking: the open is non-blocking and checked with fstat).

Also owns the names clients see (``public_name``): one stable, reversible text
for every name under the root, whatever its bytes, that JSON, URLs, headers and
SSE can carry. Every function here takes and returns public names.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import safe_join

from . import scopes
from .errors import NotFound, PathRejected

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)

# A name on disk is bytes; Python reads the bytes that are not UTF-8 as lone
# surrogates (U+DC80-U+DCFF, "surrogateescape"), which UTF-8 JSON cannot carry
# (that broke /api/files/events for every client). A client sees instead: such a
# byte, a control character (a newline would split an SSE line or a merged label)
# and DEL as %XX, and a % that would read as one of those escapes as %25. So
# b"caf\xe9.log" is "caf%E9.log", b"a\nb" is "a%0Ab", "100%.log" stays itself.
_ESCAPED = re.compile(r"[\x00-\x1f\x7f\udc80-\udcff]|%(?=[0-9A-Fa-f]{2})")
_ESCAPE = re.compile(r"%(25|[01][0-9A-Fa-f]|7[Ff]|[89A-Fa-f][0-9A-Fa-f])")


def public_name(name: str) -> str:
    """What clients see for ``name``, a path as ``os`` functions give it."""
    if name.isascii() and name.isprintable() and "%" not in name:
        return name  # most names: nothing to escape
    return _ESCAPED.sub(_escape, name)


def _escape(match: re.Match) -> str:
    char = match.group()
    if char == "%":
        return "%25"
    code = ord(char)
    return f"%{code - 0xDC00 if code >= 0xDC80 else code:02X}"


def _unescape(match: re.Match) -> str:
    code = int(match.group(1), 16)
    return chr(0xDC00 + code if code >= 0x80 else code)


def fs_name(name: str) -> str:
    """The path ``os`` functions take for ``name``, a public name (the inverse of
    ``public_name``; other %XX stay as they are). Raises ``PathRejected``."""
    if "%" in name:
        name = _ESCAPE.sub(_unescape, name)
    try:  # one spelling per file: an escaped UTF-8 sequence is the character itself
        return os.fsdecode(os.fsencode(name))
    except UnicodeError:
        raise PathRejected("path is not allowed") from None


def _inside(root: str, real: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def resolve(root: Path, rel: str) -> str:
    """The absolute path for ``rel`` under ``root``, or ``PathRejected``; ``NotFound``
    (as for a missing file) if it, or the file a symlink there leads to, is outside
    the current request's scope (``scopes``)."""
    if not isinstance(rel, str) or not rel or len(rel) > 4096:
        raise PathRejected("path is not allowed")
    public, rel = rel, fs_name(rel)
    if "\0" in rel:
        raise PathRejected("path is not allowed")
    joined = safe_join(str(root), rel)
    if joined is None:
        raise PathRejected("path leads outside the log directory")
    # The caller's scope (scopes.py): a path outside it does not exist for them,
    # whatever is there (checked before anything about the file is looked at).
    if not scopes.allows(public):
        raise NotFound(f"no such file: {public}")
    real = os.path.realpath(joined)
    if not _inside(str(root), real):
        raise PathRejected("path leads outside the log directory")
    if real != joined and not scopes.allows(public_name(os.path.relpath(real, root))):
        raise NotFound(f"no such file: {public}")  # a symlink in scope to a file outside it
    return joined


def reachable(root: Path, rel: str) -> bool:
    """Whether the listed file ``rel`` passes the gate for the current request (a
    symlink's target is in its scope too); one ``lstat`` unless it is a symlink."""
    try:
        if os.path.islink(os.path.join(root, fs_name(rel))):
            resolve(root, rel)
    except (NotFound, PathRejected):
        return False
    return True


def open_file(root: Path, rel: str) -> tuple[int, os.stat_result]:
    """Open ``rel`` for reading: (descriptor, stat). Raises ``NotFound`` or
    ``PathRejected``; never hangs on a FIFO."""
    path = resolve(root, rel)
    try:
        fd = os.open(path, _FLAGS)
    except FileNotFoundError:
        raise NotFound(f"no such file: {rel}") from None
    except NotADirectoryError:
        raise NotFound(f"no such file: {rel}") from None
    except PermissionError:
        raise PathRejected(f"not readable: {rel}") from None
    except OSError as exc:
        raise PathRejected(f"cannot open {rel}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PathRejected(f"not a regular file: {rel}")
        # The path was checked before the open; a symlink swapped in between is
        # caught here, on what was really opened.
        real = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else os.path.realpath(path)
        if not _inside(str(root), real):
            raise PathRejected("path leads outside the log directory")
    except BaseException:
        os.close(fd)
        raise
    os.set_blocking(fd, True)
    return fd, st


class OutsideRoot(PermissionError):
    """The path now leads outside the root (e.g. a symlink was retargeted)."""


def stat_file(root: Path, rel: str) -> os.stat_result:
    """stat() of ``rel`` (following an inside symlink); ``FileNotFoundError`` if gone,
    ``OutsideRoot`` if it now leads outside the root."""
    try:
        path = resolve(root, rel)
    except PathRejected as exc:
        raise OutsideRoot(exc.message) from None
    return os.stat(path)


@dataclass
class FileInfo:
    path: str
    size: int
    mtime: float
    readable: bool = True

    def as_json(self) -> dict:
        out = {"path": self.path, "size": self.size, "mtime": round(self.mtime, 3)}
        if not self.readable:
            out["readable"] = False  # listed so the user is told, not left wondering
        return out


def describe(root: Path, full: str) -> FileInfo | None:
    """A listing entry for an absolute path under ``root``, or None if it is not
    a regular file inside the root. Unreadable files are listed as such."""
    rel = os.path.relpath(full, root)
    if rel.startswith("..") or os.sep != "/" and "\\" in rel:
        return None
    try:
        if not _inside(str(root), os.path.realpath(full)):
            return None
        st = os.stat(full)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return FileInfo(public_name(rel), st.st_size, st.st_mtime, os.access(full, os.R_OK))


def list_files(root: Path, limit: int = 100_000) -> list[FileInfo]:
    """Every regular file under ``root``, recursively, sorted by path.
    Symlinked directories are not descended (no loops, no escapes)."""
    out: list[FileInfo] = []
    stack = [str(root)]
    while stack and len(out) < limit:
        top = stack.pop()
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
            except OSError:
                continue
            info = describe(root, entry.path)
            if info is not None:
                out.append(info)
    out.sort(key=lambda f: f.path)
    return out


def sibling_named_by(root: Path, rel: str, ino: int) -> str | None:
    """The path (relative to the root) of the regular file with inode ``ino`` in
    the directory of ``rel``, or None: what an event id of another file names."""
    rel_dir = os.path.dirname(rel)
    try:
        entries = list(os.scandir(os.path.join(root, fs_name(rel_dir))))
    except OSError:
        return None
    for entry in entries:
        try:
            if entry.inode() == ino and entry.is_file(follow_symlinks=False):
                found = os.path.join(rel_dir, public_name(entry.name))
                return found if scopes.allows(found) else None  # never names a file out of scope
        except OSError:
            continue
    return None


# A rotated sibling of NAME: NAME.1, NAME.2.gz (logrotate's default numbering),
# NAME-20261129, NAME-20261129.gz, NAME-2026-11-29, NAME-20261129-1732879200,
# NAME.20261129 (dateext and its formats). Compressed with gz, bz2, xz or zst.
_ROTATED = r"(?:\.(?P<n>\d{1,6})|[.-](?P<date>\d{4}-?\d{2}-?\d{2}(?:[-_T]?\d{2,10})?))(?:\.(?P<z>gz|bz2|xz|zst))?"
COMPRESSED = (".gz", ".bz2", ".xz", ".zst")


@dataclass(frozen=True)
class Link:
    """One file of a path's rotation chain: ``rel`` (relative to the root), its
    inode ``ino``, ``size`` and ``mtime`` when listed, and ``compressed`` (``gz``,
    ``bz2``, ``xz``, ``zst``) or None for plain text."""

    rel: str
    ino: int
    size: int
    mtime: float
    compressed: str | None = None


def rotation_chain(root: Path, rel: str) -> list[Link]:
    """The history of the path ``rel``: its rotated siblings in the same directory,
    oldest first, then the file itself if it exists (``app.log.2.gz``,
    ``app.log.1``, ``app.log``). The one definition of a rotation chain: resuming
    by id, and the agent catching up, walk it.

    Siblings are regular files (never symlinks) named as logrotate names them
    (``NAME.N``, ``NAME-DATE``, each maybe ``.gz``/``.bz2``/``.xz``/``.zst``),
    oldest first: by number (``.2`` before ``.1``), by date, or, where the names
    mix both schemes, by modification time. The directory is reached through the
    gate (``resolve``): raises ``PathRejected`` for a path outside the root."""
    path = resolve(root, rel)
    directory, name = os.path.split(path)
    rel_dir = os.path.dirname(rel)
    pattern = re.compile(re.escape(name) + _ROTATED)
    found: list[tuple[tuple, Link]] = []
    current: Link | None = None
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        m = None
        if entry.name != name:
            m = pattern.fullmatch(entry.name)
            if m is None:
                continue
        try:
            st = entry.stat(follow_symlinks=entry.name == name)  # the path itself may be a symlink inside
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or (m is not None and entry.is_symlink()):
            continue
        link = Link(os.path.join(rel_dir, public_name(entry.name)), st.st_ino, st.st_size, st.st_mtime,
                    m.group("z") if m is not None else None)
        if m is None:
            current = link
            continue
        number = m.group("n")
        found.append(((-int(number) if number is not None else None,
                       re.sub(r"\D", "", m.group("date")) if number is None else None), link))
    # Oldest first. The names are the truth when they agree on a scheme (app.log.2
    # is older than app.log.1 even if a late write touched it after app.log.1 was
    # created); where they mix schemes, modification time decides.
    if all(key[0] is not None for key, _ in found):
        found.sort(key=lambda pair: pair[0][0])
    elif all(key[1] is not None for key, _ in found):
        found.sort(key=lambda pair: (pair[0][1], pair[1].mtime))
    else:
        found.sort(key=lambda pair: (pair[1].mtime, pair[1].rel))
    chain = [link for _, link in found]
    if current is not None:
        chain.append(current)
    return chain


def chain_from(chain: list[Link], ino: int, known: set[int]) -> list[Link] | None:
    """The links of ``chain`` a reader must still read after a position in the
    plain file with inode ``ino``: that file, then every later link up to (not
    including) the first whose inode is in ``known`` (the files the reader follows
    already). None if no plain link of the chain has inode ``ino``."""
    at = next((i for i, link in enumerate(chain) if link.ino == ino and link.compressed is None), None)
    if at is None:
        return None
    links = [chain[at]]
    for link in chain[at + 1:]:
        if link.ino in known:
            break
        links.append(link)
    return links
