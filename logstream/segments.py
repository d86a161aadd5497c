"""segments: a followed file's history, as the tailer publishes it and every
reader of it (topics, followers, the agent) walks it. A ``Segment`` is a stretch
of one inode's bytes between two changes; a ``Cursor`` a place in that history;
a ``Batch`` complete lines of a segment, shared by every subscriber; a ``Change``
a control event that moves a reader from one place to another. Plain records:
no I/O, no gevent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .lines import Lines


@dataclass(frozen=True, order=True)
class Cursor:
    """A place in the file's history: segment number, offset, and whether the
    segment's file is gone. Ordered, so a client can tell old news from a gap."""

    seq: int
    offset: int
    gone: bool = False


@dataclass(eq=False)
class Batch:
    """Complete lines [start, end) of segment ``seq``. Shared by every subscriber;
    ``encoded`` caches the bytes per (filter, format, ...) so each is made once."""

    seq: int
    ino: int
    start: int
    end: int
    lines: Lines
    encoded: dict = field(default_factory=dict)
    born: float = field(default_factory=time.monotonic)  # when it was read: delivery latency

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(eq=False)
class Change:
    """``rotate`` / ``truncate`` / ``deleted`` / ``error`` / ``eof``: moves a client
    from ``before`` to ``after`` (``error`` and ``eof`` stay where they are)."""

    kind: str
    before: Cursor
    after: Cursor
    ino: int  # the inode ``after`` points into (for the event id)
    info: dict = field(default_factory=dict)
    size: int = 0


@dataclass(eq=False)
class Segment:
    """A stretch of one inode's bytes between two changes."""

    seq: int
    ino: int
    dev: int
    fd: int | None
    end: int | None = None  # None while current
    changes: list[Change] = field(default_factory=list)
    late: int = 0  # bytes written to it after it was closed, already reported
