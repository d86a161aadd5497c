"""sources.base: what a source of log files is (``Source``) and what follows one
file of one client's stream over it (``Follower``).

A source lists files, tells file-list clients what changes, and hands out a
follower per file per stream. A follower owns the client's cursor in its file and
the three ways lines reach the client: where the file starts (a backlog or a
resume by id), live items from the source's topic, and catching up from the
source's durable history (the file itself, or the Redis stream) after a gap.
Followers encode through the stream's one ``Encoder``. Never does socket work
(the server's handler does); never blocks the hub without yielding.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Protocol

from ..grouping import Grouper

GAP = object()  # Follower.apply: the item does not continue the cursor; catch up first
GROUP_HOLD = 0.1  # seconds an open group waits for more continuation lines on a quiet file (issue 14)


def backlog_bound(found: int, requested: int, filtered: bool, **scanned) -> dict:
    """The details of a ``backlog`` event: the backlog stopped looking back at a
    bound (``scanned_bytes`` of a file, ``scanned_entries`` of a Redis stream)
    before it found the ``requested`` lines; older lines were not looked at."""
    amount = (f"{scanned['scanned_bytes'] / 1048576:g} MiB" if "scanned_bytes" in scanned
              else f"{scanned['scanned_entries']:,} entries")
    what = "matching lines" if filtered else "lines"
    return {"complete": False, "found": found, "requested": requested, **scanned,
            "reason": f"found {found:,} of {requested:,} {what} in the last {amount}; older lines were not searched"}


class Source(Protocol):
    """One implementation per place files live: ``LocalSource``, ``RedisSource``.

    - ``name``: what ``/api/files`` shows as the root; ``kind``: what ``/healthz``
      shows as the watcher (``inotify``, ``redis``); ``alive``: it is watching.
    - ``start()`` on first use (each gunicorn worker starts its own), ``stop()`` at
      shutdown: every subscriber and file-list listener is woken to say goodbye.
    - ``list_files(prefix="", q="", limit=None)``: a ``file_index.Listing``, the
      JSON of ``[{"path", "size", "mtime", ...}]`` sorted by path, filtered.
    - ``add_listener(l)`` / ``remove_listener(l)``: a ``watcher.FileListener`` that
      receives ``created``/``changed``/``deleted``/``moved`` or a new snapshot.
    - ``follower(stream, rel, index)``: a ``Follower`` subscribed to ``rel`` as file
      ``index`` of ``stream``; raises ``NotFound``, ``PathRejected``, ``Unavailable``.
    - ``open_file(rel)``: ``(descriptor, stat)`` for a download; ``NotFound`` where
      the files do not live on this machine.
    - ``history(rel)``: ``rel``'s history for ``/api/lines`` (``history.History``: a
      context manager with ``locate``/``first``/``last``/``before``/``after``/
      ``around``/``forward``/``backward``/``id_of``); raises ``NotFound``,
      ``PathRejected``, ``Unsupported``.
    - ``topics``: the ``topic.Topics`` registry (``/metrics`` and ``/healthz`` read it).
    """

    name: str
    kind: str

    @property
    def alive(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def list_files(self, prefix: str = "", q: str = "", limit: int | None = None): ...

    def add_listener(self, listener) -> None: ...

    def remove_listener(self, listener) -> None: ...

    def follower(self, stream, rel: str, index: int) -> Follower: ...

    def open_file(self, rel: str) -> tuple[int, os.stat_result]: ...

    def history(self, rel: str): ...


class Follower:
    """One file of one client's stream. The stream drives it through these public
    methods, in this order:

    1. ``prepare()`` for every file of the stream, before any I/O;
    2. ``parse_position(part)`` for the file's part of the client's Last-Event-ID;
    3. ``start(position, reason, last_id)``: resume there, or fall back to the backlog;
    4. ``notices()`` once, then ``catch_up()``;
    5. for each live item, ``apply(item)``; after a ``GAP`` or an overflow, ``catch_up()``;
       the direct path asks ``live_chunk(item)`` and reports ``delivered(item, now)``;
    6. ``close()``.

    A source implements ``parse_position``, ``resume``, ``backlog``, ``token``,
    ``apply`` and ``catch_up`` (and may extend ``prepare``, ``notices``,
    ``live_chunk``, ``delivered``, ``close``); the rest is shared. The ``stream`` it
    serves gives ``encoder``, ``metrics``, ``config``, ``lines`` (the backlog asked
    for), ``id_parts(index)`` and ``end_reason``.
    """

    def __init__(self, stream, rel: str, index: int, topics, topic) -> None:
        self.stream = stream
        self.rel = rel
        self.index = index
        self.topics = topics
        self.topic = topic
        self.encoder = stream.encoder
        self.label = rel if stream.encoder.merged else None
        # A single file's id parts never change, nor so its cache key: computed once,
        # off the fan-out path (it runs for every client of every batch).
        self._fixed_key = None if stream.encoder.merged else stream.encoder.cache_key("", "", None)
        self._notices: list[bytes] = []
        self.hold_until: float | None = None  # group=1: when the open group must be sent (monotonic)
        self.grouper: Grouper | None = None  # group=1: the lines read but held in an open group
        self._group_prefix = ""  # the id prefix of the open group's lines (a file's ``<inode>-``)
        self._shown: bool | None = None  # group=1: whether the last group passed the query
        self._held: str | None = None  # group=1: this file's id part before its open group

    # -- what a source implements --------------------------------------------------------------
    def parse_position(self, part: str):
        """This file's part of an event id as a position of this source, or None."""
        raise NotImplementedError

    def resume(self, position) -> dict | None:
        """Place the cursor just after ``position``: None if done, else the
        ``reset`` event's details (``{"reason": ...}``) saying why it cannot be."""
        raise NotImplementedError

    def backlog(self) -> None:
        """Place the cursor so that catching up sends the last ``stream.lines``
        lines (that the filter keeps)."""
        raise NotImplementedError

    def cursor_token(self) -> str:
        """The cursor as this file's part of an event id."""
        raise NotImplementedError

    def seed_grouper(self) -> Grouper:
        """group=1: a new ``Grouper`` for lines read from the cursor on: whether the
        cursor may be inside a group (``continuing``) and how many head lines before
        it carry a timestamp (``stamps``/``heads``), as far as the source can tell."""
        raise NotImplementedError

    def apply(self, item) -> bytes | None | object:
        """A live item: its bytes if it continues the cursor (the cursor moves),
        None if the client has it already, ``GAP`` if lines are missing before it."""
        raise NotImplementedError

    def catch_up(self) -> Iterator[bytes]:
        """Bring the cursor up to what the topic has published, from the source's
        history, yielding between blocks so other clients are not starved."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Note where the live feed stands, before any I/O of any file."""

    def start(self, position, reason: str | None, last_id: str | None) -> None:
        """Where the file starts for this client: after ``position`` if it can be
        honoured; else a ``reset`` event (with ``reason``) and the backlog."""
        if position is not None:
            problem = self.resume(position)
            if problem is None:
                return
        else:
            problem = {"reason": reason} if reason is not None else None
        if problem is not None:
            self.notice(self.event("reset", {"reason": problem["reason"], "id": (last_id or "")[:200],
                                             **{k: v for k, v in problem.items() if k != "reason"}}))
        self.backlog()

    def notice(self, chunk: bytes) -> None:
        """Queue ``chunk`` to be sent before anything else (``notices()``)."""
        if chunk:
            self._notices.append(chunk)

    def notices(self) -> bytes:
        """What was decided at start (resets, and whatever a source queued), once."""
        out = b"".join(self._notices)
        self._notices.clear()
        return out

    def live_chunk(self, item) -> bytes | None:
        """For the direct path: the bytes of a live item that continues the cursor
        exactly, or None to leave it to the client's own greenlet (``apply``)."""
        return None

    def delivered(self, item, now: float) -> None:
        """The bytes ``live_chunk`` gave reached the client's socket: move the cursor."""

    def token(self) -> str:
        """This file's part of an event id: the cursor, or with group=1 the place
        just before an open group (the lines it holds are not sent yet, so an id
        that another file's event carries in a merged stream must not pass them)."""
        return self._held if self._held is not None else self.cursor_token()

    # -- multi-line events (group=1) -------------------------------------------------------------
    def group_lines(self, texts: list[str], ends: list, prefix: str, before: str | None = None) -> bytes:
        """Lines read (the caller then moves the cursor past them) as the events of
        the groups they complete; the last group stays open for ``GROUP_HOLD``
        after its last line. ``prefix`` goes before each end in an id (a file's
        ``<inode>-``): a new prefix (a rotation) first sends the open group, never
        one event across two files."""
        grouper = self.grouper
        if grouper is None:
            grouper = self.grouper = self.seed_grouper()
        chunk = b""
        if prefix != self._group_prefix:
            if self._group_prefix:  # another file (a rotation): never one event across two files
                chunk = self.boundary()
            self._group_prefix = prefix
        # ``before``: this file's id part just before these lines (the caller knows it
        # when its cursor has not moved yet past earlier lines or control entries).
        before = (before if before is not None else self.cursor_token()) if not grouper.open else None
        groups = grouper.feed(texts, ends)
        if groups:
            chunk += self._encode_groups(groups)
        if not grouper.open:
            self._held = None
        elif groups:
            self._held = f"{prefix}{groups[-1].end}"
        elif before is not None:
            self._held = before
        self.hold_until = time.monotonic() + GROUP_HOLD if grouper.open else None
        return chunk

    def expire(self, now: float | None = None) -> bytes:
        """group=1: the open group's bytes (all of it when ``now`` is None, else
        once its hold has passed); ``b""`` when nothing is held. Continuation lines
        read later go out as ``continuation`` events."""
        if self.grouper is None or not self.grouper.open:
            return b""
        if now is not None and (self.hold_until is None or now < self.hold_until):
            return b""
        self.hold_until = None
        self._held = None
        return self._encode_groups(self.grouper.flush())

    def boundary(self) -> bytes:
        """group=1: the file ends or changes (rotation, truncation, a control entry):
        its open group is complete, and what comes next never continues it."""
        chunk = self.expire()
        if self.grouper is not None:
            self.grouper.continuing = False
        return chunk

    def _encode_groups(self, groups) -> bytes:
        left, right = self.stream.id_parts(self.index)
        chunk, self._shown = self.encoder.groups(groups, prefix=self._group_prefix, shown=self._shown,
                                                 left=left, right=right, label=self.label)
        return chunk

    def close(self) -> None:
        """Leave the topic (its last subscriber stops following the file)."""
        self.topics.unsubscribe(self.topic, self.stream.sub)

    def event(self, kind: str, info: dict, event_id: str | None = None) -> bytes:
        """A control event about this file."""
        return self.encoder.event(kind, self.rel, info, event_id)

    def event_id(self, token: str) -> str:
        """The whole event id with this file at ``token`` (the others where they are)."""
        left, right = self.stream.id_parts(self.index)
        return f"{left}{token}{right}"

    def encode_shared(self, item, build) -> bytes:
        """The bytes of a shared live item for this client, made once per distinct
        (filter, format, id parts, label) by ``build(item, left, right)`` and cached
        on the item for every other client alike (encode once, promise 2: live)."""
        key = self._fixed_key
        if key is not None:
            chunk = item.encoded.get(key)
            if chunk is not None:
                return chunk  # the common case: another client encoded it already
            left = right = ""
        else:
            left, right = self.stream.id_parts(self.index)
            key = self.encoder.cache_key(left, right, self.label)
            chunk = item.encoded.get(key)
        if chunk is None:
            chunk = item.encoded[key] = build(item, left, right)
            metrics = self.stream.metrics
            if metrics is not None:
                metrics.encodings.inc()
        return chunk
