"""scopes: which paths one caller may read. A ``Scope`` is a list of glob patterns
relative to the root (``nginx/*.log``, ``billing/**``; on a scale-out web node
``HOST/...``); a path outside it does not exist for that caller.

The request's scope is carried in a context variable (``bind`` at the start of each
request, ``current`` anywhere in that request's greenlet, including while its
streamed body is sent) and checked beside the one path gate: ``paths.resolve``,
``paths.sibling_named_by``, the Redis source's ``stream_key``, and the file lists.
A greenlet the request did not run in (a tailer, the watcher) starts with an empty
context: no scope, as it serves every client of a shared file alike.

Pattern language (the shell's, with ``**`` as in git and globstar): ``*`` any
characters but ``/``, ``?`` one character but ``/``, ``**`` as a whole segment any
number of directories (``**/x.log`` includes ``x.log`` itself, ``a/**`` everything
under ``a``); every other character stands for itself. A pattern that grants a file
grants its rotated siblings too (``app.log`` grants ``app.log.1`` and
``app.log-20261129.gz``, as ``paths.rotation_chain`` names them): a log's history
belongs to the log.
"""

from __future__ import annotations

import contextvars
import os
import re
from dataclasses import dataclass

from .errors import ConfigError

_current: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("logstream_scope", default=None)

# The suffix a rotation adds (paths._ROTATED without its named groups): a scope's
# one regex is (pattern|pattern...)(suffix)?, so a log's rotations come with it.
_ROTATED = r"(?:\.\d{1,6}|[.-]\d{4}-?\d{2}-?\d{2}(?:[-_T]?\d{2,10})?)(?:\.(?:gz|bz2|xz|zst))?"


def _translate(pattern: str) -> str:
    """The regular expression for one glob ``pattern`` (already checked)."""
    out = []
    segments = pattern.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == "**":
            out.append(".*" if last else "(?:[^/]*/)*")
            continue
        part = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in seg)
        out.append(part if last else part + "/")
    return "".join(out)


def check_pattern(pattern: object) -> str:
    """``pattern`` normalised (a leading ``./`` dropped), or ``ValueError`` if it is
    no relative glob: empty, absolute, holding a ``..`` or ``.`` segment or NUL."""
    if not isinstance(pattern, str) or not pattern or len(pattern) > 1024 or "\0" in pattern:
        raise ValueError(f"not a path pattern: {pattern!r}")
    while pattern.startswith("./"):
        pattern = pattern[2:]
    segments = pattern.split("/")
    if pattern.startswith("/") or any(s in ("", ".", "..") for s in segments):
        raise ValueError(f"a path pattern is relative to the root, without . or .. or //: {pattern!r}")
    return pattern


@dataclass(frozen=True)
class Scope:
    """The paths one caller may read: ``patterns`` (globs, see the module). An
    empty list allows nothing. Raises ``ValueError`` for a bad pattern."""

    patterns: tuple[str, ...]

    def __post_init__(self) -> None:
        patterns = tuple(check_pattern(p) for p in self.patterns)
        object.__setattr__(self, "patterns", patterns)
        regex = "|".join(f"(?:{_translate(p)})" for p in patterns) or "(?!)"
        object.__setattr__(self, "_regex", re.compile(f"(?:{regex})(?:{_ROTATED})?", re.S))

    def allows(self, rel: str) -> bool:
        """Whether the path ``rel`` (a public name relative to the root) is in scope:
        a pattern matches it, or the name it was rotated from."""
        if not rel:
            return False
        if "//" in rel or "/." in rel or rel[0] in "./" or rel[-1] == "/":  # else normal already (most)
            rel = os.path.normpath(rel)
        if rel == ".." or rel.startswith(("../", "/")) or rel == ".":
            return False
        return self._regex.fullmatch(rel) is not None


def scope_from_claim(value: object) -> Scope:
    """A token's ``logstream_paths`` claim as a ``Scope``; ``ValueError`` unless it
    is a list of patterns."""
    if not isinstance(value, list) or len(value) > 1000:
        raise ValueError("logstream_paths must be a list of path patterns")
    return Scope(tuple(value))


def load_scopes_file(path: str) -> dict:
    """``--scopes FILE`` (TOML, read with ``tomllib``): ``{"default": Scope | None,
    "users": {name: Scope}, "groups": {name: Scope}}``. The file::

        default = ["public/**"]          # optional: anyone without an entry
        [users]
        alice = ["nginx/*.log"]
        [groups]
        billing = ["billing/**"]

    Raises ``ConfigError`` naming the file and what is wrong."""
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"--scopes: cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--scopes: {path} is not TOML: {exc}") from None
    unknown = set(data) - {"default", "users", "groups"}
    if unknown:
        raise ConfigError(f"--scopes: {path}: unknown key(s) {', '.join(sorted(unknown))} "
                          "(expected default, [users], [groups])")
    try:
        out = {"default": _entry(data["default"]) if "default" in data else None}
        for table in ("users", "groups"):
            entries = data.get(table, {})
            if not isinstance(entries, dict):
                raise ValueError(f"[{table}] must be a table of name = [patterns]")
            out[table] = {str(name): _entry(globs) for name, globs in entries.items()}
    except ValueError as exc:
        raise ConfigError(f"--scopes: {path}: {exc}") from None
    return out


def _entry(value: object) -> Scope:
    if not isinstance(value, list):
        raise ValueError(f"expected a list of path patterns, got {value!r}")
    return Scope(tuple(value))


def scope_for(scopes: dict, user: str, groups: list[str]) -> Scope | None:
    """The scope of a proxy's ``user`` in ``groups`` under ``load_scopes_file``'s
    mapping: the union of the user's entry and each group's; else the default;
    else None (the user is refused)."""
    found = [scopes["users"][user]] if user in scopes["users"] else []
    found += [scopes["groups"][g] for g in groups if g in scopes["groups"]]
    if not found:
        return scopes["default"]
    return Scope(tuple(p for s in found for p in s.patterns))


def bind(scope: Scope | None) -> None:
    """The scope of the request this greenlet now serves (None: everything). Called
    at the start of every request, so a kept-alive connection never keeps the last
    request's scope."""
    _current.set(scope)


def current() -> Scope | None:
    """The scope of the request being served here (None: everything)."""
    return _current.get()


def allows(rel: str) -> bool:
    """Whether the current request may see the path ``rel``."""
    scope = _current.get()
    return scope is None or scope.allows(rel)


def visible(files: list[dict]) -> list[dict]:
    """The entries of a file list (``{"path", ...}``) the current request may see."""
    scope = _current.get()
    return files if scope is None else [f for f in files if scope.allows(f["path"])]
