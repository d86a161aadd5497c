"""encode: the one encoder of a client's stream. Turns lines with their ids, and
control events, into the bytes of the format the client asked for: SSE events
(``sse`` frames them), plain text lines (``format=text``, for ``curl``), or one
JSON object per line (``format=ndjson``, for scripts: ``id``, ``text`` and the
parsed ``fields``).

Both sources (local files and Redis) encode through here, so a line, an id and an
event look the same whichever one serves them. Owns the client's query (filter and field clauses) applied to
a run of lines, the merged stream's labels, and the id-only event that moves a
filtered client past lines it did not want (promise: a reconnect never reads them
again). Pure: no I/O, no gevent, no Flask; the bytes it returns for a shared batch
are cached by the caller under ``cache_key`` and handed to every client alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from . import fields, sse
from .grouping import Group
from .query import Query

FORMATS = ("sse", "text", "ndjson")


class Encoder:
    """One client's output: its ``format`` (one of ``FORMATS``), its ``query``
    (``query.Query``, or None for every line), and ``merged`` (several files:
    lines carry their file's path)."""

    __slots__ = ("format", "text", "query", "merged", "group", "_fkey")

    def __init__(self, *, format: str, query: Query | None, merged: bool, group: bool = False) -> None:
        self.format = format
        self.text = format != "sse"  # no SSE framing: no retry, comments or id-only events
        self.query = query
        self.merged = merged
        self.group = group  # multi-line events (``group=1``): see ``groups``
        self._fkey = query.key if query is not None else None

    def cache_key(self, left: str, right: str, label: str | None) -> tuple:
        """What makes two clients' bytes for one shared batch the same: filter,
        format, grouping, the other files' id parts (merged streams) and the label."""
        return (self._fkey, self.format, self.group, left, right, label)

    def opening(self, retry_ms: int) -> bytes:
        """The first bytes of a stream: SSE's ``retry:``; nothing for text or NDJSON."""
        return b"" if self.text else sse.retry(retry_ms)

    def comment(self, text: str) -> bytes:
        """A heartbeat or a farewell: an SSE comment; nothing for text or NDJSON."""
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
        if self.query is not None:
            keep = self.query.select(texts)
            if len(keep) != len(texts):
                texts = [texts[i] for i in keep]
                ends = [ends[i] for i in keep]
        if self.format == "ndjson":
            return _ndjson_lines(texts, ends, left + prefix, right, label)
        if self.text:
            head = label + ": " if label is not None else ""
            return "".join([f"{head}{t}\n" for t in texts]).encode("utf-8", "surrogateescape")
        out = sse.lines_block(left + prefix, texts, ends, right, label).encode("utf-8")
        if not ends or ends[-1] != last_end:
            return out + sse.id_only(f"{left}{prefix}{last_end}{right}")
        return out

    def groups(self, groups: Sequence[Group], *, prefix: str, shown: bool | None, left: str = "",
               right: str = "", label: str | None = None) -> tuple[bytes, bool | None]:
        """Multi-line events (``grouping.Group``): one event per group, its data the
        lines joined by LF, its id ``left + prefix + group.end + right``; a ``late``
        group is an ``event: continuation`` the client appends to the event before it
        (of the same file, ``label``, in a merged stream). The query applies to the
        whole event (the filter to the joined text, ``where`` to the head line's
        fields); a late group is shown if the group it continues was (``shown``;
        returned for the next call). If the last group is dropped, an id-only event
        moves the client past it."""
        out: list[bytes] = []
        dropped_last = False
        for group in groups:
            text = "\n".join(group.texts)
            keep = shown if group.late and shown is not None else self.keeps(group.texts)
            shown = keep
            dropped_last = not keep
            if not keep:
                continue
            event_id = f"{left}{prefix}{group.end}{right}"
            if self.format == "ndjson":
                record = {"id": event_id, "text": text}
                if label is not None:
                    record["path"] = label
                if group.late:
                    record["continuation"] = True
                parsed = fields.parse(group.texts[0])
                if parsed is not None and not group.late:
                    record["fields"] = parsed.values
                out.append((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape"))
            elif self.text:
                head = label + ": " if label is not None else ""
                out.append("".join([f"{head}{t}\n" for t in group.texts]).encode("utf-8", "surrogateescape"))
            else:
                data = text if label is None else f"{label}\n{text}"
                out.append(sse.event(data, event_id, "continuation" if group.late else None))
        if dropped_last and not self.text:
            out.append(sse.id_only(f"{left}{prefix}{groups[-1].end}{right}"))
        return b"".join(out), shown

    def keeps(self, texts: Sequence[str]) -> bool:
        """Whether the query keeps the event of these lines (the filter on the
        joined text, ``where`` on the head line's fields)."""
        query = self.query
        if query is None:
            return True
        return (query.line_filter is None or bool(query.line_filter.match("\n".join(texts)))) and (
            not query.clauses or all(c.holds(fields.parse(texts[0])) for c in query.clauses))

    def event(self, kind: str, path: str, info: dict, event_id: str | None = None) -> bytes:
        """A control event (``rotate``, ``truncate``, ``deleted``, ``reset``,
        ``error``): JSON data that always names the file's ``path``. Text clients
        get nothing: their format carries lines only; NDJSON clients get an object
        with ``event``, ``id`` (where the event moves the client), ``path`` and the details."""
        if self.format == "ndjson":
            record = {"event": kind, **({"id": event_id} if event_id is not None else {}), "path": path, **info}
            return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape")
        if self.text:
            return b""
        data = json.dumps({"path": path, **info}, ensure_ascii=False)
        return sse.event(data, event_id, kind)


def _ndjson_lines(texts: list[str], ends: Sequence[int | str], id_prefix: str, id_suffix: str,
                  label: str | None) -> bytes:
    out = []
    for text, end in zip(texts, ends, strict=True):
        record = {"id": f"{id_prefix}{end}{id_suffix}", "text": text}
        if label is not None:
            record["path"] = label
        parsed = fields.parse(text)
        if parsed is not None:
            record["fields"] = parsed.values
        out.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(out) + "\n").encode("utf-8", "surrogateescape") if out else b""
