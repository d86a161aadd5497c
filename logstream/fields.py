"""fields: a log line's structure, when it has one. A JSON object (NDJSON) or a
logfmt line (``level=info msg="user signed in" user=42``) becomes ``Fields``: its
values, and the time, level and message picked out by the names loggers use.
Any other line has no fields.

Sources of the names: Elastic Common Schema (``@timestamp``, ``log.level``,
``message``), bunyan and pino (numeric levels 10-60, ``msg``, ``time``), zap and
logrus (``level``, ``msg``, ``ts``), Python's logging (``levelname``), and
logfmt as Heroku and go-kit write it (https://brandur.org/logfmt). Pure: no I/O,
no gevent, no Flask; never raises on a line (malformed JSON is just text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from . import timestamps

TIME_KEYS = ("@timestamp", "timestamp", "time", "ts")
LEVEL_KEYS = ("level", "lvl", "severity", "log.level", "levelname")
MESSAGE_KEYS = ("msg", "message", "log", "event")
SEVERITY = {"trace": 0, "debug": 1, "info": 2, "warn": 3, "error": 4, "fatal": 5}  # the order level> compares by
_LEVEL_NAMES = {
    "trace": "trace", "trc": "trace", "verbose": "trace",
    "debug": "debug", "dbg": "debug",
    "info": "info", "inf": "info", "information": "info", "informational": "info", "notice": "info",
    "warn": "warn", "warning": "warn", "wrn": "warn",
    "error": "error", "err": "error", "eror": "error", "dpanic": "error",
    "fatal": "fatal", "critical": "fatal", "crit": "fatal", "panic": "fatal", "emerg": "fatal",
    "emergency": "fatal", "alert": "fatal", "ftl": "fatal",
}
_NUMERIC_LEVELS = ((60, "fatal"), (50, "error"), (40, "warn"), (30, "info"), (20, "debug"), (10, "trace"))
MAX_LINE = 1 << 20  # characters: longer lines are not parsed (they still stream as text)


@dataclass(frozen=True)
class Fields:
    """A parsed line: ``kind`` (``json`` or ``logfmt``), its ``values`` (a JSON
    object as parsed; logfmt as text values), and what was picked out of them:
    ``time`` (epoch seconds), ``level`` (one of ``SEVERITY``'s names) and
    ``message``, each None where the line has none."""

    kind: str
    values: dict
    time: float | None
    level: str | None
    message: str | None


def parse(line: str) -> Fields | None:
    """``line``'s fields, or None if it is neither a JSON object nor logfmt."""
    if not line or len(line) > MAX_LINE:
        return None
    head = line.lstrip()
    if head.startswith("{"):
        try:
            values = json.loads(head)
        except (ValueError, RecursionError):
            return None
        if not isinstance(values, dict):
            return None
        return _pick("json", values)
    values = parse_logfmt(line)
    return _pick("logfmt", values) if values else None


def lookup(values: dict, path: str):
    """The value at ``path``: the key itself (logfmt and ECS keys may hold dots),
    else a dotted path into nested objects (``http.status``). ``KeyError`` if absent."""
    if path in values:
        return values[path]
    node = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(path)
        node = node[part]
    return node


def level_name(value) -> str | None:
    """A level as one of ``SEVERITY``'s names: from a word (``WARNING``, ``err``)
    or a bunyan/pino number (10 trace ... 60 fatal); None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        for bound, name in _NUMERIC_LEVELS:
            if value >= bound:
                return name
        return "trace" if value >= 0 else None
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return level_name(int(text))
        return _LEVEL_NAMES.get(text)
    return None


def _pick(kind: str, values: dict) -> Fields:
    when = level = message = None
    for key in TIME_KEYS:
        if key in values:
            when = timestamps.parse_value(values[key])
            if when is not None:
                break
    for key in LEVEL_KEYS:
        try:
            level = level_name(lookup(values, key))
        except KeyError:
            continue
        if level is not None:
            break
    for key in MESSAGE_KEYS:
        value = values.get(key)
        if isinstance(value, str):
            message = value
            break
    return Fields(kind, values, when, level, message)


def parse_logfmt(line: str) -> dict | None:
    """``key=value`` pairs separated by spaces, values maybe double-quoted with
    backslash escapes. None unless the whole line is such pairs (two at least):
    prose with one ``a=b`` in it is not logfmt."""
    values: dict[str, str] = {}
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        if i >= n:
            break
        start = i
        while i < n and line[i] not in "= \"":
            i += 1
        key = line[start:i]
        if not key or i >= n or line[i] != "=":
            return None  # a bare word: not logfmt
        i += 1
        if i < n and line[i] == '"':
            i += 1
            out = []
            while i < n and line[i] != '"':
                if line[i] == "\\" and i + 1 < n:
                    i += 1
                    out.append({"n": "\n", "t": "\t", "r": "\r"}.get(line[i], line[i]))
                else:
                    out.append(line[i])
                i += 1
            if i >= n:
                return None  # an unclosed quote
            i += 1
            value = "".join(out)
            if i < n and line[i] != " ":
                return None
        else:
            start = i
            while i < n and line[i] != " ":
                i += 1
            value = line[start:i]
            if '"' in value:
                return None
        values[key] = value
    return values if len(values) >= 2 else None


def format_logfmt(values: dict[str, str]) -> str:
    """The inverse of ``parse_logfmt`` for text values (quoting where needed)."""
    parts = []
    for key, value in values.items():
        if value == "" or any(c in value for c in ' "=\\\n\t\r'):
            escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
            escaped = escaped.replace("\r", "\\r")
            parts.append(f'{key}="{escaped}"')
        else:
            parts.append(f"{key}={value}")
    return " ".join(parts)
