"""timestamps: the one timestamp detector. Finds when a log line says it was
written, as seconds since the epoch (UTC), for the formats logs use:

- RFC 3339 / ISO 8601, with ``T`` or a space, with or without a fraction and a
  zone (``2026-11-30T04:25:58.123Z``, ``2026-11-30 04:25:58+01:00``); Python
  logging's comma fraction (``2026-11-30 04:25:58,123``); nginx's error log
  (``2026/11/30 04:25:58``); RFC 5424 syslog (``<34>1 2026-11-30T04:25:58Z ...``);
- RFC 3164 syslog (``Nov 30 04:25:58``) and klog/glog (``I1130 04:25:58.123456``),
  which carry no year: the caller gives one (a file's modification year);
- Apache/nginx access logs (``[30/Nov/2026:04:25:58 +0000]``), found within the
  first 100 characters;
- JSON values (``parse_value``): RFC 3339 text, or epoch seconds or milliseconds.

A time without a zone is in ``tz`` (the server's local zone by default). Pure: no
I/O, no gevent, no Flask; never raises on a line (returns None).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo

_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                        "Dec"), 1)}
_ISO = re.compile(
    r"(?:<\d{1,3}>\d{0,2} ?)?\[?(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r" ?(Z|[+-]\d{2}:?\d{2})?")
_SYSLOG = re.compile(r"(?:<\d{1,3}>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")
_KLOG = re.compile(r"[IWEF](\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")
_CLF = re.compile(r"\[(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?: ([+-]\d{4}))?\]")


def local_zone() -> tzinfo:
    """The server's local time zone (what a time without a zone means)."""
    return datetime.now().astimezone().tzinfo or UTC


def _zone(text: str | None, tz: tzinfo) -> tzinfo | None:
    """The zone ``text`` names (``Z``, ``+01:00``, ``-0800``), ``tz`` if none;
    None for an offset no clock has (``+99:00``: ``timezone`` would raise)."""
    if not text:
        return tz
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4])
    if hours > 23 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _epoch(year: int, month: int, day: int, h: int, m: int, s: int, fraction: str | None,
           zone: tzinfo | None) -> float | None:
    """Epoch seconds of that moment, or None if it is no moment (a 13th month, a
    zone no clock has, a year out of range)."""
    if zone is None:
        return None
    try:
        moment = datetime(year, month, day, h, m, min(s, 59), tzinfo=zone)  # a leap second counts as :59
    except ValueError:
        return None
    return moment.timestamp() + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def detect(line: str, *, year: int | None = None, tz: tzinfo | None = None,
           latest: float | None = None) -> float | None:
    """When ``line`` says it was written (epoch seconds), or None. ``year`` is
    used for formats without one (default: this year), and the year before if
    that puts the line more than a day after ``latest`` (its file's last write:
    ``Dec 31`` in a file written on into January is last year's); ``tz`` for
    times without a zone (default: the server's local zone)."""
    if not line:
        return None
    tz = tz or local_zone()
    head = line[:40]
    m = _ISO.match(head)
    if m:
        y, mo, d, h, mi, s, frac, zone = m.groups()
        return _epoch(int(y), int(mo), int(d), int(h), int(mi), int(s), frac, _zone(zone, tz))
    m = _SYSLOG.match(head)
    if m and m.group(1) in _MONTHS:
        mon, d, h, mi, s, frac = m.groups()
        return _yearless(year, _MONTHS[mon], int(d), int(h), int(mi), int(s), frac, tz, latest)
    m = _KLOG.match(head)
    if m:
        mo, d, h, mi, s, frac = m.groups()
        return _yearless(year, int(mo), int(d), int(h), int(mi), int(s), frac, tz, latest)
    if line.startswith("{"):
        return None  # a JSON line's time is a field (fields.parse), not text
    m = _CLF.search(line, 0, 100)
    if m and m.group(2) in _MONTHS:
        d, mon, y, h, mi, s, zone = m.groups()
        return _epoch(int(y), _MONTHS[mon], int(d), int(h), int(mi), int(s), None, _zone(zone, tz))
    return None


def _yearless(year: int | None, month: int, day: int, h: int, m: int, s: int, fraction: str | None,
              zone: tzinfo, latest: float | None) -> float | None:
    """A stamp without a year (syslog RFC 3164, klog): in ``year`` (default this
    one), or the year before if that is more than a day after ``latest``."""
    year = year or time.localtime().tm_year
    value = _epoch(year, month, day, h, m, s, fraction, zone)
    if value is not None and latest is not None and value > latest + 86400:
        return _epoch(year - 1, month, day, h, m, s, fraction, zone)
    return value


def parse_value(value, *, tz: tzinfo | None = None) -> float | None:
    """A JSON field's time: RFC 3339 text, or a number of epoch seconds (or
    milliseconds, when it is too large to be seconds). None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return value / 1000.0 if abs(value) > 1e11 else float(value)
    if isinstance(value, str):
        m = _ISO.fullmatch(value.strip())
        if m:
            y, mo, d, h, mi, s, frac, zone = m.groups()
            return _epoch(int(y), int(mo), int(d), int(h), int(mi), int(s), frac, _zone(zone, tz or local_zone()))
    return None


_EARLIEST = datetime(1, 1, 1, tzinfo=UTC).timestamp()  # the first moment a datetime (and utc()) can name
_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, *, now: float | None = None, tz: tzinfo | None = None) -> float:
    """A time a client gives (``since=``, ``until=``): RFC 3339 (a time without
    a zone is in ``tz``, the server's local zone), or relative to ``now``
    (``90s``, ``15m``, ``2h``, ``3d``, ``1w`` ago). Raises ``ValueError`` with a
    message for a client."""
    text = (text or "").strip()
    m = _RELATIVE.fullmatch(text)
    if m:
        value = (time.time() if now is None else now) - float(m.group(1)) * _UNITS[m.group(2)]
        if not _EARLIEST <= value:  # also NaN and -inf: 10**400 days ago is no time, and utc() cannot say it
            raise ValueError(f"{text[:40]!r} reaches back before the year 1")
        return value
    m = _ISO.fullmatch(text)
    if m and not text.startswith(("<", "[")):
        y, mo, d, h, mi, s, frac, zone = m.groups()
        value = _epoch(int(y), int(mo), int(d), int(h), int(mi), int(s), frac, _zone(zone, tz or local_zone()))
        if value is not None:
            return value
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if m:
        value = _epoch(int(m.group(1)), int(m.group(2)), int(m.group(3)), 0, 0, 0, None, tz or local_zone())
        if value is not None:
            return value
    raise ValueError(f"expected an RFC 3339 time (2026-11-30T04:00:00Z) or a relative one (90s, 15m, 2h, 3d), "
                     f"got {text[:40]!r}")


def utc(seconds: float) -> str:
    """Epoch seconds as RFC 3339 in UTC, with milliseconds."""
    whole = int(seconds // 1)
    millis = int(round((seconds - whole) * 1000))
    if millis == 1000:
        whole, millis = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"

