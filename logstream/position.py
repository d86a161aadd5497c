"""position: event ids. An id names a place in a file, not a message: the file's
identity (inode) and the byte offset just past the line. Resuming is then one seek,
as cheap in 10 GB as in 10 KB, and survives a server restart because nothing is
kept in memory (promise: no line lost, none repeated).

Single file: ``<inode hex>-<offset decimal>``, e.g. ``1a2b3c-4096``.
Merged stream: the positions of every file, comma-joined in request order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BadEventId

_ID = re.compile(r"([0-9a-f]{1,16})-([0-9]{1,19})")
MAX_ID_LENGTH = 4096


@dataclass(frozen=True)
class Position:
    ino: int
    offset: int

    def __str__(self) -> str:
        return f"{self.ino:x}-{self.offset}"


def format_id(positions: list[Position]) -> str:
    return ",".join(map(str, positions))


def split_id(text: str, count: int) -> list[str]:
    """An event id's parts, one per file of a stream of ``count`` files. Every
    source splits ids here, so a bad id gets the same message from a local server
    and a Redis web node. Raises ``BadEventId`` (too long, wrong number of parts)."""
    if len(text) > MAX_ID_LENGTH:
        raise BadEventId("event id is too long")
    parts = text.strip().split(",")
    if len(parts) != count:
        raise BadEventId(f"event id names {len(parts)} file(s), the stream has {count}")
    return parts


def malformed(text: str) -> BadEventId:
    """The error for an id whose part is not a position of its source."""
    return BadEventId(f"malformed event id {text[:80]!r}")


def parse_position(part: str) -> Position | None:
    """One file's part of an id, ``<inode hex>-<offset>``; None if it is not one."""
    m = _ID.fullmatch(part)
    return Position(int(m.group(1), 16), int(m.group(2))) if m else None


def parse_id(text: str, count: int = 1) -> list[Position]:
    """Positions from an id; ``count`` is how many files the stream has. Raises
    ``BadEventId``."""
    positions = []
    for part in split_id(text, count):
        position = parse_position(part)
        if position is None:
            raise malformed(text)
        positions.append(position)
    return positions
