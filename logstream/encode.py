"""encode: the one encoder of a client's stream. Turns lines with their ids, and
control events, into the bytes of the format the client asked for: SSE events
(``sse`` frames them) or plain text lines (``format=text``, for ``curl``).

Both sources (local files and Redis) encode through here, so a line, an id and an
event look the same whichever one serves them. Owns the client's filter applied to
a run of lines, the merged stream's labels, and the id-only event that moves a
filtered client past lines it did not want (promise: a reconnect never reads them
again). Pure: no I/O, no gevent, no Flask; the bytes it returns for a shared batch
are cached by the caller under ``cache_key`` and handed to every client alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from . import sse
from .query import LineFilter

FORMATS = ("sse", "text")


class Encoder:
    """One client's output: ``text`` (plain lines) or SSE, its ``line_filter``
    (or None), and ``merged`` (several files: lines carry their file's path)."""

    __slots__ = ("text", "filter", "merged", "_fkey")

    def __init__(self, *, text: bool, line_filter: LineFilter | None, merged: bool) -> None:
        self.text = text
        self.filter = line_filter
        self.merged = merged
        self._fkey = line_filter.key if line_filter is not None else None

    def cache_key(self, left: str, right: str, label: str | None) -> tuple:
        """What makes two clients' bytes for one shared batch the same: filter,
        format, the other files' id parts (merged streams) and the label."""
        return (self._fkey, self.text, left, right, label)

    def opening(self, retry_ms: int) -> bytes:
        """The first bytes of a stream: SSE's ``retry:``; nothing for text."""
        return b"" if self.text else sse.retry(retry_ms)

    def comment(self, text: str) -> bytes:
        """A heartbeat or a farewell: an SSE comment; nothing for text."""
        return b"" if self.text else sse.comment(text)

    def lines(self, texts: list[str], ends: Sequence[int | str], *, prefix: str = "", left: str = "",
              right: str = "", label: str | None = None) -> bytes:
        """A run of lines: line ``i`` has text ``texts[i]`` and id
        ``left + prefix + ends[i] + right`` (``ends`` are byte offsets for a local
        file, entry ids for Redis). Lines the filter drops are left out; if the
        run's last line is one of them, an id-only event follows so the client's
        id moves past it. ``label`` (merged streams) is the file's path."""
        if not texts:
            return b""
        last_end = ends[-1]
        if self.filter is not None:
            keep = self.filter.select(texts)
            if len(keep) != len(texts):
                texts = [texts[i] for i in keep]
                ends = [ends[i] for i in keep]
        if self.text:
            head = label + ": " if label is not None else ""
            return "".join([f"{head}{t}\n" for t in texts]).encode("utf-8", "surrogateescape")
        out = sse.lines_block(left + prefix, texts, ends, right, label).encode("utf-8")
        if not ends or ends[-1] != last_end:
            return out + sse.id_only(f"{left}{prefix}{last_end}{right}")
        return out

    def event(self, kind: str, path: str, info: dict, event_id: str | None = None) -> bytes:
        """A control event (``rotate``, ``truncate``, ``deleted``, ``reset``,
        ``error``): JSON data that always names the file's ``path``. Text clients
        get nothing: their format carries lines only."""
        if self.text:
            return b""
        data = json.dumps({"path": path, **info}, ensure_ascii=False)
        return sse.event(data, event_id, kind)
