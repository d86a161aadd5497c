"""sources.redis: Redis Streams as a source, a scale-out web node's view. Owns the
live file list of every agent (``HOST/path``, hosts appearing and disappearing
with their heartbeats) and one reader per watched stream, which follows it with
``XREAD BLOCK`` on a connection of its own and fans each read out to this node's
subscribers through the shared ``topic`` fan-out.

The same ``Source`` as the local directory (``sources.base``), so the routes stay
the same. One reader per stream per process, never one per client: 1,000 clients
of a file cost one Redis connection.
A reader that lost its connection checks, before reading on, that its last entry
still exists; if Redis lost it (restart without persistence, trimming) the
subscribers are told (``Lost``) instead of reading the new history as if it
continued the old one. Never blocks the hub; never logs the Redis password.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field

import gevent
import gevent.event
import redis

from .. import redis_schema as schema
from .. import scopes
from ..errors import NotFound, PathRejected, Unavailable
from ..file_index import Listing, encode, listing, select
from ..redis_schema import ZERO, EntryId, format_entry_id, parse_entry_id
from ..topic import Topic, Topics

log = logging.getLogger("logstream.redis")

BLOCK_MS = 5000  # an idle XREAD returns this often (and sees a stop)
READ_COUNT = 2000  # entries per XREAD at most
LIST_EVERY = 1.0  # seconds between reads of the hosts' file lists
# After a read, let lines gather this long before the next one: under load each
# client then gets fewer, larger writes (bench/redis_latency.py, 2 nodes x 100
# clients at 1,000 lines/s on 2 CPUs: p50 21 -> 14 ms, p99 55 -> 50 ms). An idle
# stream's first line is not delayed: the pause comes after a read, not before.
COALESCE = 0.01  # seconds


@dataclass(eq=False)
class Entries:
    """Entries read in one go, following ``prev`` with nothing in between (XREAD
    returns every entry after the id it is given). Shared by every subscriber;
    ``encoded`` caches the bytes per (filter, format, ...)."""

    prev: EntryId
    ids: list[EntryId]
    fields: list[dict]
    size: int
    encoded: dict = field(default_factory=dict)
    resets: bool = False  # holds an agent's ``reset`` entry: each client reads it for itself

    @property
    def last(self) -> EntryId:
        return self.ids[-1]


@dataclass(eq=False)
class Lost:
    """Redis no longer has the entries after ``before`` that this reader had not
    read yet (it restarted without persistence, or trimmed past the reader)."""

    before: EntryId
    reason: str
    size: int = 0


def to_entries(prev: EntryId, raw: list) -> Entries:
    ids = [parse_entry_id(i) for i, _ in raw]
    fields = [f for _, f in raw]
    return Entries(prev, ids, fields, sum(len(f.get("l", "")) + 40 for f in fields),
                   resets=any(f.get("k") == "reset" for f in fields))


class RedisTopic(Topic):
    """One watched stream on this node: its subscribers and its reader."""

    def __init__(self, source: RedisSource, path: str, key: str) -> None:
        super().__init__(path)
        self.source = source
        self.stream_key = key
        self.last: EntryId = ZERO  # the last entry published to subscribers
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        """Read where the stream ends now (so a new client's backlog meets the
        first live batch exactly), then follow it."""
        found = self.source.redis.xrevrange(self.stream_key, count=1)
        self.last = parse_entry_id(found[0][0]) if found else ZERO
        self._greenlet = gevent.spawn(self._follow)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def _follow(self) -> None:
        conn = None
        broken = False
        delay = 0.05
        try:
            while True:
                try:
                    if conn is None:
                        conn = schema.client(self.source.url, blocking=True)
                        if broken:
                            self._check_continuity(conn)
                            broken = False
                    reply = conn.xread({self.stream_key: format_entry_id(self.last)}, count=READ_COUNT,
                                       block=BLOCK_MS)
                    delay = 0.05
                    if reply:
                        entries = to_entries(self.last, reply[0][1])
                        self.last = entries.last
                        self.publish(entries)
                        if COALESCE:
                            gevent.sleep(COALESCE)
                except redis.RedisError as exc:
                    log.debug("reader %s: %s", self.key, exc.__class__.__name__)
                    if conn is not None:
                        _close(conn)
                        conn = None
                    broken = True
                    gevent.sleep(delay)
                    delay = min(delay * 2, 2.0)
        finally:
            if conn is not None:
                _close(conn)

    def _check_continuity(self, conn: redis.Redis) -> None:
        """After a broken connection: is our last entry still there? If not, the
        entries after it that we had not read are gone; say so, read from the start."""
        if self.last == ZERO:
            return
        last = format_entry_id(self.last)
        if conn.xrange(self.stream_key, last, last, count=1):
            return
        lost = Lost(self.last, "Redis lost this file's history (restarted without persistence, or trimmed "
                    "past this node's reader)")
        log.warning("%s: %s", self.key, lost.reason)
        self.last = ZERO
        self.publish(lost)


class RedisTopics(Topics):
    """``HOST/path`` → the topic reading its stream, while anyone watches it."""

    def __init__(self, source: RedisSource) -> None:
        super().__init__()
        self.source = source

    def open_topic(self, key: str) -> RedisTopic:
        source = self.source
        stream_key = source.stream_key(key)
        try:
            if key not in source.files and not source.redis.exists(stream_key):
                raise NotFound(f"no such file: {key}")
            topic = RedisTopic(source, key, stream_key)
            topic.start()
        except redis.RedisError as exc:
            raise Unavailable(f"Redis is unavailable ({exc.__class__.__name__}); try again",
                              headers={"Retry-After": "2"}) from None
        return topic

    def close_topic(self, topic: RedisTopic) -> None:
        topic.stop()


class RedisSource:
    """Every agent's files, from Redis: see ``sources.base.Source``."""

    kind = "redis"
    name = "redis"

    def __init__(self, config) -> None:
        self.config = config
        self.url = schema.check_url(config.redis)
        self.redis = schema.client(self.url)
        self.topics = RedisTopics(self)
        self.listeners: set = set()
        self.files: dict[str, dict] = {}
        self.hosts: set[str] = set()
        self.connected = False
        self._lister: gevent.Greenlet | None = None
        self._listed = gevent.event.Event()

    def start(self) -> None:
        if self._lister is not None:
            return
        log.info("serving the agents' files from Redis at %s", schema.masked(self.url))
        self._lister = gevent.spawn(self._list_forever)
        self._listed.wait(3)

    def stop(self) -> None:
        self.topics.close()
        if self._lister is not None:
            self._lister.kill(block=False)
        for topic in list(self.topics.topics.values()):
            topic.stop()
        for listener in list(self.listeners):
            listener.interrupt()
        self.redis.close()

    @property
    def alive(self) -> bool:
        return self.connected and self._lister is not None and not self._lister.dead

    def list_files(self, prefix: str = "", q: str = "", limit: int | None = None) -> Listing:
        names = sorted(self.files)
        fragments = {path: encode(dict(path=path, **self.files[path])) for path in select(names, prefix, q)}
        scope = scopes.current()
        return listing(names, fragments, prefix, q, limit, scope.allows if scope is not None else None)

    def add_listener(self, listener) -> None:
        self.listeners.add(listener)

    def remove_listener(self, listener) -> None:
        self.listeners.discard(listener)

    def follower(self, stream, rel: str, index: int):
        from .redis_follower import RedisFollower

        self.stream_key(rel)  # PathRejected before anything else
        topic = self.topics.subscribe(os.path.normpath(rel), stream.sub, index)
        return RedisFollower(stream, rel, index, self.topics, topic)

    def open_file(self, rel: str):
        raise NotFound("downloads are not available on a Redis web node (the files live on the agents' hosts)")

    def history(self, rel: str):
        """``rel``'s history: the entries Redis retains (``redis_history``)."""
        from .redis_history import RedisHistory

        return RedisHistory(self.redis, self.stream_key(rel), rel)

    def _list_forever(self) -> None:
        while True:
            try:
                self._refresh()
                if not self.connected:
                    log.info("Redis at %s reachable", schema.masked(self.url))
                self.connected = True
            except redis.RedisError as exc:
                if self.connected or not self._listed.is_set():
                    log.warning("Redis at %s unreachable (%s); keeping the last file list", schema.masked(self.url),
                                exc.__class__.__name__)
                self.connected = False
            self._listed.set()
            gevent.sleep(LIST_EVERY)

    def _refresh(self) -> None:
        names = sorted(self.redis.smembers(schema.HOSTS))
        pipe = self.redis.pipeline(transaction=False)
        for name in names:
            pipe.exists(schema.alive_key(name))
            pipe.hgetall(schema.files_key(name))
        replies = pipe.execute()
        files: dict[str, dict] = {}
        hosts = set()
        for n, name in enumerate(names):
            if not replies[2 * n]:
                continue  # no heartbeat for ALIVE_TTL seconds: the host is gone
            hosts.add(name)
            for rel, info in replies[2 * n + 1].items():
                try:
                    data = json.loads(info)
                    files[f"{name}/{rel}"] = {"size": int(data["size"]), "mtime": float(data["mtime"])}
                except (ValueError, KeyError, TypeError):
                    continue
        self._announce(files)
        if hosts != self.hosts:
            log.info("hosts: %s", ", ".join(sorted(hosts)) or "none")
        self.hosts = hosts

    def _announce(self, files: dict[str, dict]) -> None:
        old = self.files
        self.files = files
        if not self.listeners:
            return
        for path in old.keys() - files.keys():
            self._broadcast("deleted", {"path": path})
        for path, info in files.items():
            before = old.get(path)
            if before is None:
                self._broadcast("created", {"path": path, **info})
            elif before != info:
                self._broadcast("changed", {"path": path, **info})

    def _broadcast(self, kind: str, data: dict) -> None:
        for listener in self.listeners:
            listener.offer(kind, data)

    def stream_key(self, path: str) -> str:
        """``HOST/rel`` → its stream's key; ``PathRejected`` otherwise, ``NotFound``
        outside the current request's scope (``scopes``): the gate of this source."""
        norm = os.path.normpath(path) if path else ""
        if (not path or "\0" in path or len(path) > 4096 or norm != path.strip("/") or norm.startswith(("..", "/"))
                or "/" not in norm):
            raise PathRejected("expected a path HOST/FILE")
        host, rel = norm.split("/", 1)
        if not schema.HOST_NAME.fullmatch(host):
            raise PathRejected("expected a path HOST/FILE")
        if not scopes.allows(norm):
            raise NotFound(f"no such file: {norm}")
        return schema.stream_key(host, rel)


def _close(conn: redis.Redis) -> None:
    try:
        conn.close()
    except Exception:  # closing a broken connection must not stop the reader
        pass

