"""sse: Server-Sent Events framing, as pure functions from values to bytes, and a
parser that follows the WHATWG "server-sent events" section to the letter.

This module owns the wire format and nothing else: no I/O, no Flask, no gevent.
It must never produce bytes that a spec-faithful parser would read differently from
what was meant (a CR or LF inside a value would start a new field; a NUL in an id
makes the browser ignore the id).

DO NOT 'fix' these deliberate choices:
- Log lines reach ``lines_block`` already split on LF, with a trailing CR removed.
  Any other CR is turned into a data line break by ``event``, which is what the
  browser would do with it anyway; a bare CR in a ``data:`` line would otherwise
  end the field early and shift every later field.
- An event may carry an ``id`` and no ``data``. Browsers then update
  ``lastEventId`` without firing ``message`` (the id is taken before the empty-data
  check when the event is dispatched). We use that to move a filtered client's
  resume position past lines that did not match.
- Heartbeats are comments (``: ping``), which every client ignores.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def retry(milliseconds: int) -> bytes:
    """The reconnection delay a client should use, in milliseconds."""
    return b"retry: %d\n\n" % milliseconds


def comment(text: str = "") -> bytes:
    """A comment line (ignored by clients): keeps idle connections alive."""
    lines = _LINE_BREAK.split(text) if text else [""]
    return "".join(f": {line}\n" for line in lines).encode() + b"\n"


def event(data: str, id: str | None = None, event: str | None = None) -> bytes:
    """One event. ``data`` may hold any text: each line break becomes a new
    ``data:`` line, which the client joins back with LF."""
    return event_text(data, id, event).encode("utf-8")


def event_text(data: str, id: str | None = None, event: str | None = None) -> str:
    parts = []
    if event is not None:
        parts.append(f"event: {_field_value(event)}\n")
    if id is not None:
        parts.append(f"id: {_field_value(id)}\n")
    parts.extend(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    parts.append("\n")
    return "".join(parts)


def json_event_parts(json_text: bytes, event: str) -> tuple[bytes, bytes, bytes]:
    """One event whose data is ``json_text`` (UTF-8 JSON, which escapes every line
    break), as three parts to write one after the other: the big text itself is
    neither split nor copied (a file list of 100,000 entries is 7 MB)."""
    return f"event: {_field_value(event)}\ndata: ".encode(), json_text, b"\n\n"


def id_only(id: str) -> bytes:
    """Move the client's last event id without dispatching an event."""
    return f"id: {_field_value(id)}\n\n".encode()


def lines_block(id_prefix: str, texts: Sequence[str], ends: Sequence[int | str], id_suffix: str = "",
                label: str | None = None) -> str:
    """Many log lines as events, the i-th with id ``id_prefix + ends[i] + id_suffix``
    and data ``texts[i]`` (or ``label`` LF ``texts[i]`` for a merged stream).
    ``ends`` are byte offsets (a local file) or Redis entry ids (a web node).

    The fast path of the fan-out: one string for a whole batch. ``texts`` hold no
    LF; a CR anywhere sends the batch through ``event_text`` instead."""
    if label is None:
        out = "".join([f"id: {id_prefix}{end}{id_suffix}\ndata: {text}\n\n"
                       for text, end in zip(texts, ends, strict=True)])
    else:
        out = "".join([f"id: {id_prefix}{end}{id_suffix}\ndata: {label}\ndata: {text}\n\n"
                       for text, end in zip(texts, ends, strict=False)])
    if "\r" in out:
        out = "".join(event_text(text if label is None else f"{label}\n{text}", f"{id_prefix}{end}{id_suffix}")
                      for text, end in zip(texts, ends, strict=False))
    return out


def _field_value(value: str) -> str:
    if "\n" in value or "\r" in value or "\0" in value:
        raise ValueError(f"SSE field value may not contain CR, LF or NUL: {value!r}")
    return value


@dataclass
class Event:
    """An event as a browser's EventSource would dispatch it."""

    data: str
    type: str = "message"
    last_event_id: str = ""


class Parser:
    """Incremental, spec-faithful SSE parser (the WHATWG "event stream
    interpretation" algorithm), for the tests and the benchmark's clients."""

    def __init__(self) -> None:
        self._buffer = ""
        self._decoder_pending = b""
        self._first = True
        self._pending_cr = False
        self._data: list[str] = []
        self._type = ""
        self._id_buffer = ""
        self.last_event_id = ""
        self.retry: int | None = None
        self.comments: list[str] = []

    def feed(self, chunk: bytes) -> list[Event]:
        data = self._decoder_pending + chunk
        try:
            text = data.decode("utf-8")
            self._decoder_pending = b""
        except UnicodeDecodeError as exc:
            if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
                text = data[: exc.start].decode("utf-8", "replace")
                self._decoder_pending = data[exc.start :]
            else:
                text = data.decode("utf-8", "replace")
                self._decoder_pending = b""
        if self._first and text:
            self._first = False
            if text.startswith("\ufeff"):
                text = text[1:]
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]
        self._pending_cr = False
        buffer = self._buffer + text
        events: list[Event] = []
        pos = 0
        for match in _LINE_BREAK.finditer(buffer):  # one pass: linear in the chunk
            if match.group() == "\r" and match.end() == len(buffer):
                # A CR at the end of what we have: an LF may follow in the next chunk.
                self._pending_cr = True
            event = self._line(buffer[pos : match.start()])
            pos = match.end()
            if event is not None:
                events.append(event)
        self._buffer = buffer[pos:]
        return events

    def _line(self, line: str) -> Event | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            self.comments.append(line[1:].removeprefix(" "))
            return None
        field, colon, value = line.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if field == "event":
            self._type = value
        elif field == "data":
            self._data.append(value)
        elif field == "id":
            if "\0" not in value:
                self._id_buffer = value
        elif field == "retry":
            if value.isascii() and value.isdigit():
                self.retry = int(value)
        return None

    def _dispatch(self) -> Event | None:
        self.last_event_id = self._id_buffer
        if not self._data:
            self._type = ""
            return None
        event = Event("\n".join(self._data), self._type or "message", self.last_event_id)
        self._data = []
        self._type = ""
        return event
