"""api.params: a request's query string parsed once into a frozen dataclass.

Owns the names, defaults, bounds and error messages of query parameters; nothing
else reads ``request.args`` for them. Never touches a file.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..encode import FORMATS
from ..errors import BadRequest
from ..query import Query
from ..timestamps import parse_time

MAX_MERGED = 32  # files in one merged stream


def int_arg(args, name: str, default: int, low: int, high: int) -> int:
    """Query parameter ``name`` as a whole number in ``[low, high]``, or
    ``default`` if absent or empty. Raises ``BadRequest``."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name}: expected a whole number, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name}: must be between {low} and {high}")
    return value


def bool_arg(args, name: str) -> bool:
    """``1``, ``true``, ``yes`` or ``on`` (any case) is true; anything else false."""
    return args.get(name, "").lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class StreamParams:
    """What a client asks of a stream: ``paths`` (one, or several merged, in its
    order), ``lines`` of backlog, ``format`` (``sse``, ``text`` or ``ndjson``),
    its ``query`` (``filter``, ``invert``, ``where``; None for every line), the
    ``last_id`` to resume after (or None), ``group`` (multi-line events) and
    ``since`` (epoch seconds: start at the first line stamped then or later,
    instead of the backlog; a resume by id wins)."""

    paths: tuple[str, ...]
    lines: int
    format: str
    query: Query | None
    last_id: str | None
    group: bool = False
    since: float | None = None

    @classmethod
    def parse(cls, paths: list[str], args, headers, config) -> StreamParams:
        """From the request's query ``args`` and ``headers`` (``Last-Event-ID``
        wins over ``last_event_id``). Raises ``BadRequest``."""
        if not paths:
            raise BadRequest("give at least one ?path=")
        if len(paths) > MAX_MERGED:
            raise BadRequest(f"at most {MAX_MERGED} files in one merged stream")
        if len(paths) > 1 and any("\n" in p or "\r" in p for p in paths):
            raise BadRequest("a merged stream cannot carry a path with a line break")
        lines = int_arg(args, "lines", config.backlog, 0, config.max_backlog)
        fmt = args.get("format", "sse")
        if fmt not in FORMATS:
            raise BadRequest("format: expected " + " or ".join(FORMATS))
        query = Query.build(args.get("filter", ""), bool_arg(args, "invert"), args.getlist("where"))
        last_id = headers.get("Last-Event-ID") or args.get("last_event_id") or None
        return cls(tuple(paths), lines, fmt, query, last_id, bool_arg(args, "group"), time_arg(args, "since"))


def time_arg(args, name: str) -> float | None:
    """Query parameter ``name`` as a time (``timestamps.parse_time``: RFC 3339 or
    relative, ``90s``, ``15m``, ``2h``, ``3d``), epoch seconds; None if absent or
    empty. Raises ``BadRequest``."""
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_time(raw)
    except ValueError as exc:
        raise BadRequest(f"{name}: {exc}") from None


def time_range(args) -> tuple[float | None, float | None]:
    """``since`` and ``until`` (``time_arg``), either maybe None. Raises
    ``BadRequest``, also for an ``until`` earlier than ``since`` (no line is
    both: an empty answer would look like a quiet log)."""
    since, until = time_arg(args, "since"), time_arg(args, "until")
    if since is not None and until is not None and until < since:
        raise BadRequest("until: earlier than since (no line can be both at or after since and at or before until)")
    return since, until


DEFAULT_PAGE = 200  # lines of a /api/lines page when no limit= is given


@dataclass(frozen=True)
class LinesParams:
    """What a client asks of a path's history (``/api/lines``): at most one
    anchor, ``before``/``after``/``around`` (an id) or ``since`` (epoch seconds);
    ``until`` (epoch seconds) bounds the page; ``limit`` lines (default 200, at
    most ``--max-backlog``); the stream's ``query`` (``filter``, ``invert``,
    ``where``); ``group``: never start a page inside a multi-line event."""

    before: str | None
    after: str | None
    around: str | None
    since: float | None
    until: float | None
    limit: int
    query: Query | None
    group: bool = False

    @classmethod
    def parse(cls, args, config) -> LinesParams:
        """From the request's query ``args``. Raises ``BadRequest``."""
        anchors = [name for name in ("before", "after", "around", "since") if args.get(name)]
        if len(anchors) > 1:
            raise BadRequest(f"give at most one of before, after, around and since (got {', '.join(anchors)})")
        limit = int_arg(args, "limit", min(DEFAULT_PAGE, config.max_backlog), 1, config.max_backlog)
        query = Query.build(args.get("filter", ""), bool_arg(args, "invert"), args.getlist("where"))
        since, until = time_range(args)
        if until is not None and args.get("around"):
            raise BadRequest("until: not with around (a page around a line is not bounded by time)")
        return cls(args.get("before") or None, args.get("after") or None, args.get("around") or None,
                   since, until, limit, query, bool_arg(args, "group"))


MAX_LISTED = 1_000_000  # `limit` of the file list at most (file_index.LIMIT)


@dataclass(frozen=True)
class FileListParams:
    """What a client asks of the file list: ``prefix`` (names starting with it:
    ``DIR/`` for a directory's tree), ``q`` (names containing it, any case) and
    ``limit`` (at most that many entries; None: all)."""

    prefix: str
    q: str
    limit: int | None

    @classmethod
    def parse(cls, args) -> FileListParams:
        """From the request's query ``args``. Raises ``BadRequest``."""
        q = args.get("q", "")
        if len(q) > 256:
            raise BadRequest("q: at most 256 characters")
        limit = int_arg(args, "limit", 0, 1, MAX_LISTED) if args.get("limit") else None
        return cls(args.get("prefix", ""), q, limit)
