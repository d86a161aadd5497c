"""sources.redis_history: a file's history on a scale-out web node: the entries
its agent shipped that Redis still retains (``--maxlen``), paged with
``XREVRANGE``/``XRANGE``, the entries' own ids as ids (the ids the node's
streams give), so ``/api/lines`` and range downloads answer the same on every
node. The same interface as ``history.History`` (places are entry ids), so
routes never branch on where files live.

``since``/``until`` are resolved by the entries' ids: an entry id starts with
the millisecond Redis received the line, which is when its agent shipped it,
a few milliseconds after it was written (later for lines an agent shipped on
catching up after it was down). Control entries (rotations, truncations,
resets) are not lines and are skipped. Never reads more than ``MAX_SCAN``
entries for one page; never blocks the hub (redis-py over gevent sockets).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import redis

from ..errors import NotFound, SourceGone
from ..history import Page
from ..lines import Lines
from ..position import malformed, split_id
from ..redis_schema import ZERO, EntryId, format_entry_id, parse_entry_id

PAGE = 1000  # entries per XRANGE/XREVRANGE
MAX_SCAN = 100_000  # entries one page reads at most, whatever its filter
MAX_SEQ = 2 ** 64 - 1


@dataclass
class EntryChunk:
    """Consecutive lines of the stream: ``lines`` whose ends are entry ids."""

    lines: Lines
    prefix: str = ""


def _previous(entry: EntryId) -> EntryId:
    """The greatest id before ``entry``: ``before(_previous(x))`` excludes ``x``."""
    ms, seq = entry
    if seq > 0:
        return ms, seq - 1
    return (ms - 1, MAX_SEQ) if ms > 0 else ZERO


class RedisHistory:
    """The history of the stream ``key`` (the file ``rel``) through ``client``.
    A context manager like ``History``; places are entry ids (``ZERO``: before
    the first)."""

    def __init__(self, client: redis.Redis, key: str, rel: str) -> None:
        self.client, self.key, self.rel = client, key, rel
        self.skipped: list[str] = []
        if not self._call(lambda r: r.exists(key)):
            raise NotFound(f"no such file: {rel}")

    def __enter__(self) -> RedisHistory:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release: the node's connection pool keeps its connections."""

    def _call(self, command):
        try:
            return command(self.client)
        except redis.RedisError as exc:
            raise SourceGone("Redis is not answering", reason="redis_gone", farewell=str(exc)[:80]) from None

    def _range(self, low: str, high: str, count: int, reverse: bool = False) -> list[tuple[EntryId, dict]]:
        if reverse:
            raw = self._call(lambda r: r.xrevrange(self.key, high, low, count=count))
        else:
            raw = self._call(lambda r: r.xrange(self.key, low, high, count=count))
        return [(parse_entry_id(i), f) for i, f in raw]

    # -- places ----------------------------------------------------------------------------------
    def id_of(self, place: EntryId) -> str:
        return format_entry_id(place)

    def first(self) -> EntryId:
        return ZERO

    def last(self) -> EntryId:
        top = self._range("-", "+", 1, reverse=True)
        return top[0][0] if top else ZERO

    def length(self) -> int:
        """Entries the stream holds now (lines and control entries: ``XLEN``)."""
        return self._call(lambda r: r.xlen(self.key))

    def search(self, query, **bounds):
        """A search of the retained entries: ``redis_search.open_search``."""
        from .redis_search import open_search

        return open_search(self, query, **bounds)

    def locate(self, text: str) -> EntryId:
        """The entry an id names. Raises ``BadRequest`` (malformed) or ``NotFound``
        (trimmed from Redis, or no entry of this stream): the stream's reasons."""
        entry = parse_entry_id(split_id(text, 1)[0])
        if entry is None:
            raise malformed(text)
        if entry == ZERO or self._range(format_entry_id(entry), format_entry_id(entry), 1):
            return entry
        first = self._range("-", "+", 1)
        if first and entry < first[0][0]:
            raise NotFound("lines at this id were trimmed from Redis (--maxlen) or lost in a Redis restart")
        raise NotFound("the id names no entry of this file's stream")

    def line_start(self, place: EntryId) -> EntryId:
        """The place before the entry ``place``."""
        return _previous(place) if place != ZERO else ZERO

    def seek(self, when: float, strict: bool = False) -> EntryId:
        """The place before the first entry received at or after ``when`` (epoch
        seconds; ``strict``: after it), by the entries' ids."""
        ms = math.floor(when * 1000) + 1 if strict else math.ceil(when * 1000)
        return _previous((max(0, ms), 0))

    # -- walks -------------------------------------------------------------------------------------
    def forward(self, place: EntryId, stop: EntryId | None = None) -> Iterator[EntryChunk]:
        """Lines after ``place`` up to ``stop`` (inclusive), a page at a time."""
        for page in self.walk(place, stop):
            lines = Lines([f["l"] for _, f in page if "l" in f and "k" not in f],
                          [format_entry_id(e) for e, f in page if "l" in f and "k" not in f])
            if lines:
                yield EntryChunk(lines)

    def walk(self, low: EntryId, high: EntryId | None = None, newest_first: bool = False,
             count: Callable[[], int] = lambda: PAGE) -> Iterator[list[tuple[EntryId, dict]]]:
        """Every entry (lines and control entries) after ``low`` up to ``high``
        (inclusive; None: the stream's end), oldest or ``newest_first``, in pages
        of ``count()`` entries (asked before each page, so a caller may resize
        them); never an empty page. Each page is one ``XRANGE``/``XREVRANGE``
        resuming past the last entry of the one before (exclusive ``(id``)."""
        lo, hi = "(" + format_entry_id(low), format_entry_id(high) if high is not None else "+"
        while True:
            want = count()
            page = self._range(lo, hi, want, reverse=newest_first)
            if not page:
                return
            if newest_first:  # before yielding: the caller may reorder the page
                hi = "(" + format_entry_id(page[-1][0])
            else:
                lo = "(" + format_entry_id(page[-1][0])
            yield page
            if len(page) < want:
                return

    # -- pages --------------------------------------------------------------------------------------
    def before(self, place: EntryId, count: int, match: Callable[[str], bool] | None = None,
               budget: int = MAX_SCAN) -> Page:
        """Up to ``count`` lines (that ``match``) at or before ``place``, oldest first."""
        picked: list[tuple[str, str]] = []
        high, scanned, start = format_entry_id(place), 0, place
        while len(picked) < count and scanned < budget and place != ZERO:
            want = PAGE if match is not None else min(PAGE, count - len(picked) + 1)
            page = self._range("-", high, want, reverse=True)
            for entry, fields in page:
                scanned += 1
                start = entry
                if "k" not in fields and "l" in fields and (match is None or match(fields["l"])):
                    picked.append((format_entry_id(entry), fields["l"]))
                    if len(picked) >= count:
                        break
            if len(page) < want:
                break
            high = "(" + format_entry_id(page[-1][0])
        picked.reverse()
        more_before = bool(start != ZERO and self._range("-", "(" + format_entry_id(start), 1, reverse=True))
        return Page(picked, start, place, more_before, self._more_after(place), [], _previous(start))

    def after(self, place: EntryId, count: int, match: Callable[[str], bool] | None = None,
              budget: int = MAX_SCAN, stop: EntryId | None = None) -> Page:
        """Up to ``count`` lines (that ``match``) after ``place`` up to ``stop``."""
        picked: list[tuple[str, str]] = []
        start = end = place
        scanned = 0
        for chunk in self.forward(place, stop):
            for text, entry_id in zip(chunk.lines.texts, chunk.lines.ends, strict=True):
                scanned += 1
                end = parse_entry_id(entry_id)
                if start == place:
                    start = end  # the first line scanned
                if match is None or match(text):
                    picked.append((entry_id, text))
                    if len(picked) >= count:
                        break
            if len(picked) >= count or scanned >= budget:
                break
        more_after = self._more_after(end) if stop is None else bool(
            end < stop and self._range("(" + format_entry_id(end), format_entry_id(stop), 1))
        return Page(picked, start, end, place != ZERO and bool(self._range("-", format_entry_id(place), 1)),
                    more_after, [], place)

    def around(self, place: EntryId, count: int, match: Callable[[str], bool] | None = None,
               budget: int = MAX_SCAN) -> Page:
        """The entry ``place``, up to ``count // 2`` lines before it and the rest after."""
        target = self._range(format_entry_id(place), format_entry_id(place), 1)
        if not target or "l" not in target[0][1]:
            raise NotFound("the id names no line of this file's stream")
        head = self.before(_previous(place), count // 2, match, budget) if count > 1 else None
        tail = self.after(place, max(0, count - count // 2 - 1), match, budget)
        lines = [*(head.lines if head else []), (format_entry_id(place), target[0][1]["l"]), *tail.lines]
        start = head.start if head and head.lines else place
        more_before = head.more_before if head else bool(self._range("-", "(" + format_entry_id(place), 1))
        return Page(lines, start, tail.end, more_before, tail.more_after, [], _previous(start))

    def _more_after(self, place: EntryId) -> bool:
        return bool(self._range("(" + format_entry_id(place), "+", 1))
