"""redis_schema: what agents and web nodes agree on in Redis, and how both connect.

Owns the key names, the fields of a stream entry, entry ids as ordered values,
host names, and the one way to build a client from ``--redis`` (so the password
is parsed by redis-py, as its users expect, and is shown masked everywhere we
print the URL). Never logs a password; never retries a command behind the
caller's back (redis-py's default retry could re-send an ``XREAD`` to a Redis
that restarted empty and hide the lost history: every caller here decides).

Keys, for host ``H`` and file ``P`` (a path relative to the agent's directory):

- ``logstream:hosts``          set of host names that ever registered
- ``logstream:alive:H``        exists while H's agent runs (heartbeat, short TTL)
- ``logstream:files:H``        hash ``P`` → ``{"size", "mtime"}`` JSON, H's file list
- ``logstream:stream:H:P``     the stream of P's lines, one entry per line

A line's entry: ``l`` its text, ``i`` the file's inode (hex), ``o`` the byte
offset just past it. A control entry (``rotate``, ``truncate``, ``deleted``):
``k`` the kind, ``i``, ``o`` the new position and ``j`` its JSON details. A
``reset`` entry marks where an agent found that Redis had lost entries and ships
again what is on disk: ``i``, ``o`` where it had got to, ``j`` with the id of its
last entry before the loss (``replaces``). The last entry of a stream says where
its agent stands in the file.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .errors import ConfigError

PREFIX = "logstream:"
HOSTS = PREFIX + "hosts"
ALIVE_TTL = 10  # seconds a host stays listed after its last heartbeat
HEARTBEAT = 2.0  # seconds between an agent's heartbeats
HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_QUERY_SECRET = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)
_ENTRY_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")

EntryId = tuple[int, int]
ZERO: EntryId = (0, 0)


def alive_key(host: str) -> str:
    return f"{PREFIX}alive:{host}"


def files_key(host: str) -> str:
    return f"{PREFIX}files:{host}"


def stream_key(host: str, rel: str) -> str:
    return f"{PREFIX}stream:{host}:{rel}"


def check_host(name: str) -> str:
    if not HOST_NAME.fullmatch(name or ""):
        raise ConfigError(f"--name: expected letters, digits, '.', '_' or '-' (up to 63), got {name!r}")
    return name


def parse_entry_id(text: str) -> EntryId | None:
    """``"1732790000000-3"`` → ``(1732790000000, 3)``; None if it is not one."""
    m = _ENTRY_ID.fullmatch(text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def format_entry_id(entry_id: EntryId) -> str:
    return f"{entry_id[0]}-{entry_id[1]}"


def masked(url: str) -> str:
    """The URL with its password replaced by ``***``: the only form we print."""
    try:
        parts = urlsplit(url)
        query = _QUERY_SECRET.sub(r"\1***", parts.query)
        if parts.password is None:
            if "@" in parts.netloc or "@" in parts.path:
                return "<URL with credentials, unparsable>"
            return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<unparsable URL>"


def check_url(url: str) -> str:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"--redis: expected redis://, rediss:// or unix:// URL, got {masked(url)!r}")
    try:
        redis.connection.parse_url(url)
    except ValueError as exc:
        raise ConfigError(f"--redis: {exc}") from None
    return url


def client(url: str, *, blocking: bool = False, max_connections: int = 50) -> redis.Redis:
    """A client for ``url`` (password, TLS and their options as redis-py reads
    them from the URL). ``blocking``: a connection of its own for ``XREAD BLOCK``,
    never taken from a shared pool (whose limit a blocking reader would eat)."""
    options = dict(decode_responses=True, retry=Retry(NoBackoff(), 0), socket_connect_timeout=5,
                   health_check_interval=0, socket_keepalive=True)
    if blocking:
        return redis.Redis.from_url(url, single_connection_client=True, socket_timeout=30, **options)
    # A pool that waits for a free connection instead of raising past its size.
    pool = redis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=10,
                                                 socket_timeout=15, **options)
    return redis.Redis(connection_pool=pool)
