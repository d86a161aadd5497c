"""sources.redis_follower: a client's cursor in one file's Redis stream, on a
scale-out web node. The same contract as the file follower, with Redis entry ids
as event ids, so a client may reconnect to any node and resume exactly.

Owns the client's cursor (the id of the last entry it was sent) and the three ways
entries reach it: the backlog (``XREVRANGE``), a resume or a catch-up after a gap
(``XRANGE`` from the exclusive start ``(id``), and the reader's live batches,
encoded once per batch and filter for every client. Everything is filtered through
the cursor, so each line arrives exactly once; where Redis no longer has the
entries after the cursor (trimmed by ``--maxlen``, or lost in a restart) the client
gets a ``reset`` saying so, never silence. Where the agent then shipped the lost
lines again and its ``reset`` entry says they end with the very entry this client
had last (``replaces``), the client skips the lines it had and goes on exactly
(after a Redis restart, a FLUSHALL, a deleted stream).
Never reads Redis in a loop without yielding; never holds more than a page of
entries beyond its bounded queue.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import gevent
import redis

from ..errors import SourceGone
from ..grouping import Grouper, group_start
from ..redis_schema import ZERO, EntryId, format_entry_id, parse_entry_id
from .base import GAP, Follower, backlog_bound
from .redis import Entries, Lost

PAGE = 1000  # entries per XRANGE while catching up
SEED_ENTRIES = 200  # group=1: entries before the cursor read to learn whether the file is timestamped
MAX_FILTER_SCAN = 100_000  # entries read backwards for a filtered backlog, at most


class RedisFollower(Follower):
    """``cursor``: the id of the last entry sent (``ZERO``: nothing yet)."""

    def __init__(self, stream, rel: str, index: int, topics, topic) -> None:
        super().__init__(stream, rel, index, topics, topic)
        self.cursor: EntryId = ZERO
        self._backlog: list = []
        # After a reset for lost history: the id this client had last (until the
        # next entry is seen); after an agent's reset entry naming the id this
        # client had just before it: the file position (inode, offset) up to which
        # the lines shipped again are ones it has.
        self._lost_at: EntryId | None = None
        self._skip: tuple[str, int] | None = None
        self._redis_client = topics.source.redis
        self._key = topic.stream_key

    def parse_position(self, part: str) -> EntryId | None:
        return parse_entry_id(part)

    def cursor_token(self) -> str:
        return format_entry_id(self.cursor)

    def seed_grouper(self) -> Grouper:
        """group=1: seeded from up to ``SEED_ENTRIES`` entries before the cursor."""
        grouper = Grouper(continuing=self.cursor != ZERO)
        if self.cursor != ZERO:
            top = format_entry_id(self.cursor)
            page = self._redis(lambda r: r.xrevrange(self._key, top, "-", count=SEED_ENTRIES))
            texts = [f.get("l", "") for _, f in reversed(page) if "k" not in f]
            if texts:
                probe = Grouper()
                probe.feed(texts, range(len(texts)))
                grouper.stamps, grouper.heads = probe.stamps, probe.heads
        return grouper

    # -- where the file starts ---------------------------------------------------------------------
    def prepare(self) -> None:
        self.cursor = self.topic.last  # the live batches continue from here

    def resume(self, position: EntryId) -> dict | None:
        """Continue after ``position`` if it names an entry Redis still has."""
        if position == ZERO:  # the client had seen nothing of this file
            self.cursor = ZERO
            return None
        key, text = self._key, format_entry_id(position)
        if self._redis(lambda r: r.xrange(key, text, text, count=1)):
            self.cursor = position
            return None
        first = self._redis(lambda r: r.xrange(key, count=1))
        first_id = parse_entry_id(first[0][0]) if first else None
        if first_id is not None and position > first_id:
            return {"reason": "the id names no entry of this file's stream"}
        # Everything after the id that Redis still has follows the reset.
        self.cursor, self._lost_at = ZERO, position
        lost = {"lost_ms": first_id[0] - position[0] if first_id else None}
        self.notice(self.event("reset", {
            "reason": "lines after this id were trimmed from Redis (--maxlen) or lost in a Redis restart",
            "id": self.stream.last_id[:200], **lost}))
        return None

    def backlog(self) -> None:
        """The last ``lines`` entries up to the cursor (that match the filter); with
        ``since=``, every entry from the first received at or after it (by the
        entries' ids: ``redis_history``), sent by catching up."""
        if self.stream.since is not None:
            ms = max(1, math.ceil(self.stream.since * 1000))
            page = self._redis(lambda r: r.xrevrange(self._key, f"({ms}-0", "-", count=1))
            self.cursor = min(parse_entry_id(page[0][0]) if page else ZERO, self.cursor)
            return
        lines, line_filter = self.stream.lines, self.encoder.query
        if lines <= 0 or self.cursor == ZERO:
            return
        key, top = self._key, format_entry_id(self.cursor)
        found: list = []
        scanned = 0
        while len(found) < lines and scanned < MAX_FILTER_SCAN:
            count = lines if line_filter is None else PAGE
            page = self._redis(lambda r, top=top, count=count: r.xrevrange(key, top, "-", count=count))
            if not page:
                break
            scanned += len(page)
            for entry in page:
                if "k" in entry[1] or line_filter is None or line_filter.match(entry[1].get("l", "")):
                    found.append(entry)
            if line_filter is None or len(page) < count:
                break
            top = "(" + page[-1][0]
        if len(found) < lines and scanned >= MAX_FILTER_SCAN:
            # Never silent: older entries were not looked at.
            self.notice(self.event("backlog", backlog_bound(len(found), lines, line_filter is not None,
                                                            scanned_entries=scanned)))
        found = found[:lines]
        found.reverse()
        if found and self.encoder.group:
            if line_filter is not None:
                # The filter applies to whole events: every entry from the oldest match on.
                found = self._redis(lambda r: r.xrange(key, found[0][0], format_entry_id(self.cursor)))
            found = self._from_trace_head(found)
        self._backlog = found
        if found:
            # Until the backlog is sent, this file's part of any id is the place before it.
            prev = self._redis(lambda r: r.xrevrange(key, "(" + found[0][0], "-", count=1))
            self.cursor = parse_entry_id(prev[0][0]) if prev else ZERO

    def _from_trace_head(self, found: list) -> list:
        """group=1: the backlog ``found`` (entries, oldest first) preceded by the
        entries of the group its first line is in (at most ``PAGE`` back): a
        backlog never starts in the middle of a trace."""
        top = "(" + found[0][0]
        page = self._redis(lambda r: r.xrevrange(self._key, top, "-", count=PAGE))
        before = []
        for entry in page:  # newest first; a control entry (a rotation, a reset) ends every group
            if "k" in entry[1]:
                break
            before.append(entry)
        before.reverse()
        if not before or "k" in found[0][1]:
            return found
        head = group_start([f.get("l", "") for _, f in before] + [found[0][1].get("l", "")])
        return before[head:] + found

    def notices(self) -> bytes:
        """The resets, then the backlog, encoded now that every file of the stream
        has its starting cursor (a merged id names them all)."""
        out = super().notices()
        if self._backlog:
            backlog, self._backlog = self._backlog, []
            out += self._encode([f for _, f in backlog], [parse_entry_id(i) for i, _ in backlog])
            self.cursor = parse_entry_id(backlog[-1][0])
            self._count(len(backlog))
        return out

    # -- live items and catching up --------------------------------------------------------------
    def apply(self, item: Entries | Lost):
        if isinstance(item, Lost):
            self.cursor, self._lost_at = ZERO, self.cursor if self.cursor != ZERO else None
            return self.event("reset", {"reason": item.reason, "id": format_entry_id(item.before)})
        if item.prev == self.cursor and (self._lost_at or self._skip or item.resets or self.encoder.group):
            # This client's own: it may skip lines it has, or hold a group.
            chunk = self._encode(item.fields, item.ids)
            self.cursor = item.last
            self._count(len(item.ids))
            return chunk
        if item.prev == self.cursor:
            chunk = self.encode_shared(item, lambda item, left, right: self._encode(item.fields, item.ids, left, right))
            self.cursor = item.last
            self._count(len(item.ids))
            return chunk
        if item.last <= self.cursor:
            return None  # the client has these already
        if item.prev < self.cursor:
            keep = [n for n, i in enumerate(item.ids) if i > self.cursor]
            chunk = self._encode([item.fields[n] for n in keep], [item.ids[n] for n in keep])
            self.cursor = item.last
            self._count(len(keep))
            return chunk
        return GAP

    def live_chunk(self, item) -> bytes | None:
        """For the direct path (``Follower.live_chunk``): ``apply``'s shared case,
        entries that continue the cursor exactly with nothing of this client's own
        (no lines to skip, no reset to read, no group held); else None. Without it
        every batch woke a parked stream's greenlet again (``parking``)."""
        if (not isinstance(item, Entries) or item.prev != self.cursor or self._lost_at or self._skip
                or item.resets or self.encoder.group):
            return None
        return self.encode_shared(item, lambda item, left, right: self._encode(item.fields, item.ids, left, right))

    def delivered(self, item: Entries, now: float) -> None:
        self.cursor = item.last
        self._count(len(item.ids))

    def catch_up(self) -> Iterator[bytes]:
        """Bring the cursor up to what the reader has published, from Redis."""
        key = self._key
        target = self.topic.last
        if self.cursor < target and self.cursor != ZERO:
            text = format_entry_id(self.cursor)
            if not self._redis(lambda r: r.xrange(key, text, text, count=1)):
                first = self._redis(lambda r: r.xrange(key, count=1))
                lost_ms = parse_entry_id(first[0][0])[0] - self.cursor[0] if first else None
                yield self.event("reset", {"reason": "lines after this position were trimmed from Redis "
                                           "before they could be sent", "id": text, "lost_ms": lost_ms})
                self.cursor, self._lost_at = ZERO, self.cursor
        while self.cursor < target:
            start = "(" + format_entry_id(self.cursor) if self.cursor != ZERO else "-"
            page = self._redis(lambda r, start=start: r.xrange(key, start, format_entry_id(target), count=PAGE))
            if not page:
                return
            chunk = self._encode([f for _, f in page], [parse_entry_id(i) for i, _ in page])
            self.cursor = parse_entry_id(page[-1][0])
            self._count(len(page))
            if chunk:
                yield chunk
            gevent.sleep(0)  # a long catch-up must not starve the other clients

    def _redis(self, call):
        """One read; a Redis outage ends this stream (the client reconnects by
        id, to this node or another) instead of hanging it."""
        try:
            return call(self._redis_client)
        except redis.RedisError as exc:
            raise SourceGone(f"Redis is unavailable ({exc.__class__.__name__}); try again",
                             reason="redis_unavailable",
                             farewell="Redis is unavailable; reconnect with your last event id") from None

    # -- encoding ------------------------------------------------------------------------------------------
    def _encode(self, fields: list[dict], ids: list[EntryId], left: str | None = None,
                right: str | None = None) -> bytes:
        """Entries as events: runs of lines through the encoder, control entries
        as their events, each with its entry id."""
        if not ids:
            return b""
        if left is None:
            left, right = self.stream.id_parts(self.index)
        encoder = self.encoder
        out: list[bytes] = []
        texts: list[str] = []
        ends: list[str] = []
        prev = self._lost_at or self.cursor  # the last entry this client got before these
        self._lost_at = None
        run_before = prev  # the entry just before the current run of lines
        for entry_id, f in zip(ids, fields, strict=True):
            has = (self._skip is not None or "k" in f) and self._has_already(f, prev)
            if not texts:
                run_before = prev
            prev = entry_id
            if has:
                continue
            text_id = format_entry_id(entry_id)
            if "k" in f:
                if texts:
                    out.append(self._lines(texts, ends, left, right, run_before))
                    texts, ends = [], []
                out.append(self.boundary())  # a control entry (a rotation, a reset) ends the open group
                try:
                    info = json.loads(f.get("j") or "{}")
                except ValueError:
                    info = {}
                out.append(encoder.event(f["k"], self.rel, info, f"{left}{text_id}{right}"))
                continue
            texts.append(f.get("l", ""))
            ends.append(text_id)
        if texts:
            out.append(self._lines(texts, ends, left, right, run_before))
        return b"".join(out)

    def _lines(self, texts: list[str], ends: list[str], left: str, right: str, before: EntryId = ZERO) -> bytes:
        if self.encoder.group:
            return self.group_lines(texts, ends, "", format_entry_id(before))
        return self.encoder.lines(texts, ends, left=left, right=right, label=self.label)

    def _has_already(self, f: dict, prev: EntryId) -> bool:
        """Whether this entry is one the client has (promise: none repeated): the
        agent's ``reset`` entry naming ``prev``, the entry this client got just
        before it (the client lost nothing, or was told already), then the lines
        it shipped again up to that entry's position."""
        if f.get("k") == "reset":
            self._skip = None
            try:
                if json.loads(f.get("j") or "{}").get("replaces") == format_entry_id(prev):
                    self._skip = (f["i"], int(f["o"]))
                    return True
            except (ValueError, KeyError, TypeError, AttributeError):
                pass
            return False
        if self._skip is None:
            return False
        ino, end = self._skip
        try:
            if "k" not in f and f["i"] == ino and int(f["o"]) <= end:
                if int(f["o"]) == end:
                    self._skip = None  # the last line it had: what follows is new to it
                return True
        except (ValueError, KeyError):
            pass
        self._skip = None  # anything else ends the lines shipped again
        return False

    def _count(self, entries: int) -> None:
        metrics = self.stream.metrics
        if metrics is not None:
            metrics.lines_sent.inc(entries)
