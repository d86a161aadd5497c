"""redis_stream: one client's event stream on a scale-out web node, over one or
more files' Redis streams. The same HTTP contract as the local ``Stream`` (its
loop, heartbeats, shutdown and hang-up detection are inherited), with Redis entry
ids as event ids, so a client may reconnect to any node and resume exactly.

Owns the client's cursor in each stream (the id of the last entry it was sent)
and the three ways entries reach it: the backlog (``XREVRANGE``), a resume or a
catch-up after a gap (``XRANGE`` from the exclusive start ``(id``), and the
reader's live batches, encoded once per batch and filter for every client.
Everything is filtered through the cursor, so each line arrives exactly once;
where Redis no longer has the entries after the cursor (trimmed by ``--maxlen``,
or lost in a restart) the client gets a ``reset`` saying so, never silence.
Never reads Redis in a loop without yielding; never holds more than a page of
entries beyond its bounded queue.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import gevent
import redis

from . import sse
from .errors import Unavailable
from .lines import Lines
from .redis_schema import ZERO, EntryId, format_entry_id, parse_entry_id
from .redis_source import Entries, Lost, to_entries
from .stream import _GAP, Stream  # the local stream's loop and its "gap" marker

PAGE = 1000  # entries per XRANGE while catching up
MAX_FILTER_SCAN = 100_000  # entries read backwards for a filtered backlog, at most


class RedisStream(Stream):
    """``Stream`` over Redis: ``topics`` is the node's ``RedisSource``."""

    # -- where each file starts --------------------------------------------------------------------------
    def _start(self) -> None:
        try:
            self._start_files()
        except _RedisGone:
            for fs in self.files:  # the constructor fails: release what it took, nothing else
                self.topics.unsubscribe(fs.topic, self.sub)
            self.files = []
            raise

    def _start_files(self) -> None:
        heads = [fs.topic.last for fs in self.files]  # before any I/O: the live batches continue these
        for fs, head in zip(self.files, heads, strict=True):
            fs.cursor, fs.backlog = head, []
        positions: list[EntryId | None] = [None] * len(self.files)
        reason = None
        if self.last_id is not None:
            parts = self.last_id.strip().split(",")
            parsed = [parse_entry_id(p) for p in parts]
            if len(self.last_id) > 4096 or len(parts) != len(self.files):
                reason = f"event id names {len(parts)} file(s), the stream has {len(self.files)}"
            elif None in parsed:
                reason = f"malformed event id {self.last_id[:80]!r}"
            else:
                positions = parsed
        for fs, position in zip(self.files, positions, strict=True):
            if position is not None:
                problem = self._resume(fs, position)
                if problem is None:
                    continue
                reason, extra = problem
            else:
                extra = {}
            if reason is not None:
                fs.notices.append(self._event("reset", fs, {"reason": reason, "id": self.last_id[:200], **extra}))
            self._backlog(fs)

    def _resume(self, fs, position: EntryId) -> tuple[str, dict] | None:
        """Continue after ``position`` if it names an entry Redis still has."""
        if position == ZERO:  # the client had seen nothing of this file
            fs.cursor = ZERO
            return None
        key = fs.topic.stream_key
        text = format_entry_id(position)
        if self._redis(lambda r: r.xrange(key, text, text, count=1)):
            fs.cursor = position
            return None
        first = self._redis(lambda r: r.xrange(key, count=1))
        first_id = parse_entry_id(first[0][0]) if first else None
        if first_id is not None and position > first_id:
            return "the id names no entry of this file's stream", {}
        # Everything after the id that Redis still has follows the reset.
        fs.cursor = ZERO
        lost = {"lost_ms": first_id[0] - position[0] if first_id else None}
        fs.notices.append(self._event("reset", fs, {
            "reason": "lines after this id were trimmed from Redis (--maxlen) or lost in a Redis restart",
            "id": self.last_id[:200], **lost}))
        return None

    def _backlog(self, fs) -> None:
        """The last ``lines`` entries up to the cursor (that match the filter)."""
        if self.lines <= 0 or fs.cursor == ZERO:
            return
        key, top = fs.topic.stream_key, format_entry_id(fs.cursor)
        found: list = []
        scanned = 0
        while len(found) < self.lines and scanned < MAX_FILTER_SCAN:
            count = self.lines if self.filter is None else PAGE
            page = self._redis(lambda r, top=top, count=count: r.xrevrange(key, top, "-", count=count))
            if not page:
                break
            scanned += len(page)
            for entry in page:
                if "k" in entry[1] or self.filter is None or self.filter.match(entry[1].get("l", "")):
                    found.append(entry)
            if self.filter is None or len(page) < count:
                break
            top = "(" + page[-1][0]
        found = found[: self.lines]
        found.reverse()
        fs.backlog = found

    # -- the loop's parts ---------------------------------------------------------------------------------
    def _run(self) -> Iterator[bytes]:
        for fs in self.files:
            if fs.backlog:
                fs.notices.append(self._encode(fs, to_entries(ZERO, fs.backlog).fields,
                                               [parse_entry_id(i) for i, _ in fs.backlog]))
                fs.backlog = []
        yield from super()._run()

    def _apply(self, fs, item: Entries | Lost):
        if isinstance(item, Lost):
            fs.cursor = ZERO
            return self._event("reset", fs, {"reason": item.reason, "id": format_entry_id(item.before)})
        if item.prev == fs.cursor:
            return self._encode_batch(fs, item)
        if item.last <= fs.cursor:
            return None  # the client has these already
        if item.prev < fs.cursor:
            keep = [n for n, i in enumerate(item.ids) if i > fs.cursor]
            return self._encode(fs, [item.fields[n] for n in keep], [item.ids[n] for n in keep])
        return _GAP

    def _catch_up(self, fs) -> Iterator[bytes]:
        """Bring the cursor up to what the reader has published, from Redis."""
        key = fs.topic.stream_key
        target = fs.topic.last
        if fs.cursor < target and fs.cursor != ZERO:
            text = format_entry_id(fs.cursor)
            if not self._redis(lambda r: r.xrange(key, text, text, count=1)):
                first = self._redis(lambda r: r.xrange(key, count=1))
                lost_ms = parse_entry_id(first[0][0])[0] - fs.cursor[0] if first else None
                yield self._event("reset", fs, {"reason": "lines after this position were trimmed from Redis "
                                                "before they could be sent", "id": text, "lost_ms": lost_ms})
                fs.cursor = ZERO
        while fs.cursor < target:
            start = "(" + format_entry_id(fs.cursor) if fs.cursor != ZERO else "-"
            page = self._redis(lambda r, start=start: r.xrange(key, start, format_entry_id(target), count=PAGE))
            if not page:
                return
            ids = [parse_entry_id(i) for i, _ in page]
            chunk = self._encode(fs, [f for _, f in page], ids)
            if chunk:
                yield chunk
            gevent.sleep(0)  # a long catch-up must not starve the other clients

    def _redis(self, call):
        """One read; a Redis outage ends this stream (the client reconnects by
        id, to this node or another) instead of hanging it."""
        try:
            return call(self.topics.redis)
        except redis.RedisError as exc:
            self.end_reason = "redis_unavailable"
            raise _RedisGone(str(exc.__class__.__name__)) from None

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from super().__iter__()  # the local stream's bookkeeping around _run
        except _RedisGone:
            if not self.text:
                yield sse.comment("Redis is unavailable; reconnect with your last event id")

    # -- encoding ------------------------------------------------------------------------------------------
    def _id_parts(self, fs) -> tuple[str, str]:
        if not self.merged:
            return "", ""
        parts = [format_entry_id(f.cursor) for f in self.files]
        left = "".join(p + "," for p in parts[: fs.index])
        right = "".join("," + p for p in parts[fs.index + 1 :])
        return left, right

    def _encode_batch(self, fs, batch: Entries) -> bytes:
        left, right = self._id_parts(fs)
        key = (self._fkey, self.text, left, right, fs.rel if self.merged else None)
        chunk = batch.encoded.get(key)
        if chunk is None:
            chunk = batch.encoded[key] = self._encode(fs, batch.fields, batch.ids, left, right)
            if self.metrics is not None:
                self.metrics.encodings.inc()
        else:
            fs.cursor = batch.last
            if self.metrics is not None:
                self.metrics.lines_sent.inc(len(batch.ids))
        return chunk

    def _encode(self, fs, fields: list[dict], ids: list[EntryId], left: str | None = None,
                right: str | None = None) -> bytes:
        """Entries as events (runs of lines in one ``lines_block``); moves the cursor."""
        if not ids:
            return b""
        if left is None:
            left, right = self._id_parts(fs)
        out: list[str] = []
        texts: list[str] = []
        ends: list[str] = []
        run_last = None

        def flush_run():
            nonlocal texts, ends, run_last
            if run_last is None:
                return
            out.append(self._lines(fs, texts, ends, run_last, left, right))
            texts, ends, run_last = [], [], None

        for entry_id, f in zip(ids, fields, strict=True):
            text_id = format_entry_id(entry_id)
            if "k" in f:
                flush_run()
                if not self.text:
                    try:
                        info = json.loads(f.get("j") or "{}")
                    except ValueError:
                        info = {}
                    data = json.dumps({"path": fs.rel, **info}, ensure_ascii=False)
                    out.append(sse.event_text(data, f"{left}{text_id}{right}", f["k"]))
                continue
            texts.append(f.get("l", ""))
            ends.append(text_id)
            run_last = text_id
        flush_run()
        fs.cursor = ids[-1]
        if self.metrics is not None:
            self.metrics.lines_sent.inc(len(ids))
        if not out and not self.text:
            # Only lines the filter dropped: still move the client's id past them.
            out.append(f"id: {left}{format_entry_id(ids[-1])}{right}\n\n")
        return "".join(out).encode("utf-8")

    def _lines(self, fs, texts: list[str], ends: list[str], last: str, left: str, right: str) -> str:
        if self.filter is not None:
            keep = self.filter.select(Lines(texts, []))
            if len(keep) != len(texts):
                texts = [texts[i] for i in keep]
                ends = [ends[i] for i in keep]
        if self.text:
            prefix = fs.rel + ": " if self.merged else ""
            return "".join([f"{prefix}{t}\n" for t in texts])
        out = sse.lines_block(left, texts, ends, right, fs.rel if self.merged else None)
        if not ends or ends[-1] != last:
            out += f"id: {left}{last}{right}\n\n"
        return out

    def _event(self, kind: str, fs, info: dict, at=None) -> bytes:
        if self.text:
            return b""
        return sse.event(json.dumps({"path": fs.rel, **info}, ensure_ascii=False), None, kind)


class _RedisGone(Unavailable):
    """Redis did not answer: a 503 before the stream starts, its end after."""

    def __init__(self, what: str) -> None:
        super().__init__(f"Redis is unavailable ({what}); try again", headers={"Retry-After": "2"})
