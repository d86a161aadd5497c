"""sources.redis_search: ``/api/search`` on a scale-out web node: a file's
retained entries in Redis scanned for the lines a ``Query`` keeps, newest or
oldest first, with context lines, as the same series of ``search.Step``s the
file search gives, so the route sends both alike.

Owns how a search reads a stream: pages of entries through
``RedisHistory.walk`` (``XREVRANGE``/``XRANGE``, resuming past the last entry,
never the whole stream in memory), sized to stay under ``BATCH_BYTES``; one RE2
pass over each page's lines joined by LF (the stream filter's pattern as
``LineFilter.block_regex`` compiles it for the file search, each candidate then
checked with ``Query.match``, so a hit is exactly a line the stream's filter
sends); the context lines around each hit; when to stop (``limit``). Ids are the
entries' own ids, the ids ``/api/lines`` and the node's streams give.

Progress counts entries, not bytes: ``scanned`` the entries read (lines and
control entries), ``total`` the entries the stream held when the search began
(``XLEN``); a bounded or limited search ends below it. Redis keeps no count of
the entries between two ids, nor their bytes, without reading them.

Runs in the hub, not a thread: redis-py's sockets are gevent's, so every page
read lets the live streams run, and a page's CPU is bounded (a few ms). Never
scans past the stream's end as it was when the search began: a busy stream
cannot make a search endless.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..query import Query
from ..redis_schema import ZERO, EntryId, format_entry_id
from ..search import Step
from .redis_history import PAGE, RedisHistory

MIN_BATCH = 100  # entries in the first page: the first hits come at once
BATCH_BYTES = 1024 * 1024  # text a page holds at most, about (pages shrink to MIN_COUNT for long lines)
MIN_COUNT = 16  # entries a page holds at least


@dataclass
class EntryHit:
    """A matching line: its entry's ``id``, its ``text``, and up to C lines of
    context each side as ``{"id", "text"}``, in stream order."""

    id: str
    text: str
    before: list[dict] = field(default_factory=list)
    after: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"id": self.id, "text": self.text, "context_before": self.before, "context_after": self.after}


def matching(query: Query, texts: list[str]) -> list[int]:
    """Indexes of the ``texts`` (one line each, no LF) ``query`` keeps, in order:
    one RE2 pass over the texts joined by LF finds the candidate lines (a line
    the filter matches holds a match of ``block_regex``: ``(?m)``, no match
    across an LF), and ``query.match`` decides each. Where the block pattern
    could miss a line (inverted, ``\\A``/``\\z``, ``where=`` alone, a text holding
    an LF), every line is checked on its own, as the stream does."""
    lf = query.line_filter
    regex = lf.block_regex() if lf is not None else None
    joined = "\n".join(texts)
    if regex is None or joined.count("\n") != len(texts) - 1:
        return query.select(texts)
    data = joined.encode()
    keep = []
    pos = index = 0  # data[pos] starts line ``index``
    end = len(data)
    while pos < end:
        m = regex.search(data, pos, end)
        if m is None:
            break
        index += data.count(b"\n", pos, m.start())
        if query.match(texts[index]):
            keep.append(index)
        nl = data.find(b"\n", m.end())
        if nl < 0:
            break
        pos, index = nl + 1, index + 1
    return keep


class RedisSearch:
    """Scans ``history``'s entries after ``low`` up to ``high`` (inclusive) for
    the lines ``query`` keeps; ``steps()`` yields a ``Step`` per page, newest first
    unless ``oldest_first``. At most ``limit`` hits; ``context`` lines each side
    (from the whole stream up to ``top``, the end when the search began)."""

    unit = "entries"

    def __init__(self, history: RedisHistory, query: Query, *, limit: int, context: int, oldest_first: bool,
                 low: EntryId, high: EntryId, top: EntryId, total: int, oldest: EntryId | None = None) -> None:
        self.history = history
        self.query = query
        self.remaining = limit
        self.context = context
        self.oldest_first = oldest_first
        self.low, self.high, self.top = low, high, top
        self.total = total
        self.first_file = history.rel
        self.scanned = 0
        self.found = 0
        self.complete = True  # False once the limit stopped the scan
        self.skipped: list[str] = []
        self.count = MIN_BATCH
        self.oldest = oldest  # the stream's first entry when the search began

    def steps(self) -> Iterator[Step]:
        if self.high <= self.low:
            return
        reached = None  # the oldest entry read
        for page in self.history.walk(self.low, self.high, not self.oldest_first, lambda: self.count):
            self.scanned += len(page)
            reached = min(reached or page[0][0], page[0][0], page[-1][0])
            if not self.oldest_first:
                page.reverse()  # stream order: context and matching read it forward
            lines = [(e, f["l"]) for e, f in page if "l" in f and "k" not in f]
            texts = [t for _, t in lines]
            self._resize(len(page), sum(map(len, texts)))
            keep = matching(self.query, texts)
            if not self.oldest_first:
                keep.reverse()
            del keep[self.remaining:]
            hits = [self._hit(lines, i) for i in keep]
            self.remaining -= len(hits)
            self.found += len(hits)
            yield Step(hits, self.scanned, self.history.rel)
            if self.remaining <= 0:
                self.complete = False  # the limit ended it: older (newer) entries were not looked at
                return
        oldest = self.oldest
        if oldest is not None and self.low < oldest <= self.high and (reached is None or reached > oldest):
            # Never silent: Redis trimmed (--maxlen) the oldest entries before a
            # newest-first scan reached them; done names the file in "skipped".
            self.skipped.append(self.history.rel)

    def _resize(self, entries: int, chars: int) -> None:
        """The next page: twice this one, at most ``PAGE`` entries and about ``BATCH_BYTES`` of text."""
        fit = BATCH_BYTES * entries // max(1, chars)
        self.count = max(MIN_COUNT, min(PAGE, self.count * 2, fit))

    def _hit(self, lines: list[tuple[EntryId, str]], i: int) -> EntryHit:
        entry, text = lines[i]
        hit = EntryHit(format_entry_id(entry), text)
        c = self.context
        if c:
            before = lines[max(0, i - c):i]
            if len(before) < c:
                before = self._lines_before(lines[0][0], c - len(before)) + before
            after = lines[i + 1:i + 1 + c]
            if len(after) < c:
                after = after + self._lines_after(lines[-1][0], c - len(after))
            hit.before = [{"id": format_entry_id(e), "text": t} for e, t in before]
            hit.after = [{"id": format_entry_id(e), "text": t} for e, t in after]
        return hit

    def _lines_before(self, entry: EntryId, count: int) -> list[tuple[EntryId, str]]:
        """Up to ``count`` lines of the stream before ``entry``, in stream order."""
        out = self._lines(ZERO, self.history.line_start(entry), True, count)
        out.reverse()
        return out

    def _lines_after(self, entry: EntryId, count: int) -> list[tuple[EntryId, str]]:
        """Up to ``count`` lines of the stream after ``entry``, up to ``top``."""
        return self._lines(entry, self.top, False, count) if entry < self.top else []

    def _lines(self, low: EntryId, high: EntryId, newest_first: bool, count: int) -> list[tuple[EntryId, str]]:
        if high <= low:
            return []
        out = []
        for page in self.history.walk(low, high, newest_first, lambda: count + 1):
            out.extend((e, f["l"]) for e, f in page if "l" in f and "k" not in f)
            if len(out) >= count:
                break
        return out[:count]


def open_search(history: RedisHistory, query: Query, *, limit: int, context: int, oldest_first: bool,
                before: str | None = None, after: str | None = None, since: float | None = None,
                until: float | None = None) -> RedisSearch:
    """The search of ``history`` the request asks for: bounded by the ids
    ``before``/``after`` (as ``/api/lines`` reads them: ``BadRequest`` malformed,
    ``NotFound`` trimmed or of no entry) and the times ``since``/``until``
    (epoch seconds, by the entries' ids, as ``RedisHistory.seek``), and by the
    stream's end now."""
    top = history.last()
    low, high = ZERO, top
    if after:
        low = max(low, history.locate(after))
    if since is not None:
        low = max(low, history.seek(since))
    if before:
        high = min(high, history.line_start(history.locate(before)))
    if until is not None:
        high = min(high, history.seek(until, strict=True))
    total = history.length()
    first = next(history.walk(ZERO, count=lambda: 1), None)
    return RedisSearch(history, query, limit=limit, context=context, oldest_first=oldest_first, low=low,
                       high=high, top=top, total=total, oldest=first[0][0] if first else None)
