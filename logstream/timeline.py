"""timeline: where a time falls in a history (``since=``, ``until=``), by binary
search over byte offsets, never by reading a plain file through.

Owns what a line's time is here: ``timestamps.detect`` (the one detector; a
syslog or klog line takes its year from its file's modification time) or a JSON
line's ``time``/``ts``/``timestamp``/``@timestamp`` field (``fields``). A line
without a time belongs to the stamped line before it, so the answer is always a
stamped line: the first line stamped at or after TIME (``strict``: after TIME).

A log is not always ordered (threads, clock steps, several writers). Then the
answer is *a* crossing: a line stamped at or after TIME whose preceding stamped
line in the history is stamped before TIME (or that has none), the one the
binary search lands on; lines stamped at or after TIME that come before an
older stamp are not the answer. In an ordered log that crossing is unique and
is the first line at or after TIME. Never raises on a line's content.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import tzinfo

from .archive import ArchiveError
from .errors import BadRequest
from .fields import parse as parse_fields
from .history import History, Place
from .lines import read_lines
from .plain_link import PlainLink
from .timestamps import detect, local_zone

PROBE_BLOCK = 16 * 1024  # bytes a probe reads at a time looking for a stamped line
LINEAR_BELOW = 64 * 1024  # a span this small is scanned line by line instead of halved
FIRST_STAMP_SCAN = 1024 * 1024  # bytes read from a link's start to find its first stamped line


def line_time(text: str, year: int | None = None, tz: tzinfo | None = None,
              latest: float | None = None) -> float | None:
    """When the line ``text`` says it was written (epoch seconds), or None; ``year``,
    ``tz`` and ``latest`` as ``timestamps.detect`` takes them."""
    stamp = detect(text, year=year, tz=tz, latest=latest)
    if stamp is None and text.startswith("{"):
        parsed = parse_fields(text)
        stamp = parsed.time if parsed is not None else None
    return stamp


def seek_time(history: History, when: float, strict: bool = False, linear_below: int = LINEAR_BELOW) -> Place:
    """The place before the first line stamped at or after ``when`` (``strict``:
    after it), or the history's end if every stamp is earlier; a span of a plain
    file under ``linear_below`` bytes is scanned rather than halved. Raises
    ``BadRequest`` if no link has a timestamp near its start (a file in which no
    timestamp can be found)."""
    late = (lambda t: t > when) if strict else (lambda t: t >= when)
    firsts: list[tuple[int, int, float]] = []  # (link, start of its first stamped line, its time)
    for index in range(len(history.chain)):
        found = _first_stamp(history, index, 0, FIRST_STAMP_SCAN)
        if found is not None:
            firsts.append((index, *found))
    if not firsts:
        raise BadRequest(f"no timestamp found in {history.rel}: since/until need lines that say when they "
                         "were written")
    early = [f for f in firsts if not late(f[2])]
    if not early:
        index, start, _ = firsts[0]
        return Place(index, start)
    index, lo, _ = early[-1]
    later = next((f for f in firsts if f[0] > index), None)
    found = _crossing(history, index, lo, late, linear_below)
    if found is not None:
        return Place(index, found)
    return Place(later[0], later[1]) if later is not None else history.last()


def _year(history: History, index: int) -> tuple[int, float]:
    """The year of link ``index``'s last write and its time: what a stamp
    without a year is read against (``timestamps.detect``)."""
    mtime = history.chain[index].mtime
    return time.localtime(mtime).tm_year, mtime


def _first_stamp(history: History, index: int, start: int, limit: int | None = None,
                 stop: int | None = None) -> tuple[int, float] | None:
    """(start of the first stamped line after ``start`` in link ``index``, its
    time), reading at most ``limit`` bytes and up to ``stop``; None if none. A
    plain file's line that the limit cuts is looked at by its head (where a
    stamp is); a line longer than the limit is never read through."""
    reader = history.reader(index)
    if reader is None:
        return None
    (year, latest), tz = _year(history, index), local_zone()
    if limit is not None:
        stop = start + limit if stop is None else min(stop, start + limit)
    begin = start
    try:
        lines_iter = (read_lines(reader.fd, start, reader.end() if stop is None else min(stop, reader.end()),
                                 history.max_line, final=True, block=PROBE_BLOCK)
                      if isinstance(reader, PlainLink) else reader.forward(start, stop))
        for lines in lines_iter:
            for text, end in zip(lines.texts, lines.ends, strict=True):
                stamp = line_time(text, year, tz, latest)
                if stamp is not None:
                    return begin, stamp
                begin = end
            history.pause()  # a probe may read far through unstamped lines: live streams go on meanwhile
    except ArchiveError:
        history.skipped.append(history.chain[index].rel)  # corrupt or truncated: the page names it
        return None
    return None


def _crossing(history: History, index: int, lo: int, late: Callable[[float], bool], linear_below: int) -> int | None:
    """In link ``index``, whose stamped line at ``lo`` is early: the start of the
    first late stamped line after the crossing the search lands on, or None if
    the link's stamps after ``lo`` are all early."""
    reader = history.reader(index)
    (year, latest), tz = _year(history, index), local_zone()
    if isinstance(reader, PlainLink):
        hi = reader.end()
        # Invariants: a stamped line starts at lo and is early; the first stamped
        # line at or after hi (in this link) is late, or there is none.
        while hi - lo > linear_below:
            mid = _boundary_after(reader, (lo + hi) // 2, hi)
            if mid >= hi:
                break  # one line spans the upper half: scan from lo
            found = _first_stamp(history, index, mid, stop=hi)
            if found is None:
                hi = mid  # no stamp in [mid, hi): the first at or after mid is the one at hi
            elif late(found[1]):
                hi = found[0]
            else:
                lo = found[0]
    begin = lo
    scan = (read_lines(reader.fd, lo, reader.end(), history.max_line, final=True, block=PROBE_BLOCK)
            if isinstance(reader, PlainLink) else reader.forward(lo))
    try:
        for lines in scan:
            for text, end in zip(lines.texts, lines.ends, strict=True):
                stamp = line_time(text, year, tz, latest)
                if stamp is not None and late(stamp):
                    return begin
                begin = end
            history.pause()
    except ArchiveError:  # a truncated archive: what could be read has no late stamp; the page names it
        history.skipped.append(history.chain[index].rel)
    return None


def _boundary_after(reader: PlainLink, pos: int, hi: int) -> int:
    """The first line boundary at or after ``pos`` (``hi`` if none before it)."""
    at = pos
    while at < hi:
        data = os.pread(reader.fd, min(PROBE_BLOCK, hi - at + 1), at - 1)
        nl = data.find(b"\n")
        if nl >= 0:
            return at + nl
        if not data:
            break
        at += len(data)
    return hi

