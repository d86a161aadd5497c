"""agent: one log host's side of the scale-out. Tails every file under a directory
with the same ``Tailer`` as the server (partial lines, rotation, truncation, bad
UTF-8) and appends each complete line to that file's Redis stream (``XADD`` in
pipelines, ``MAXLEN ~``), with the file's inode and the line's end offset in the
entry; registers the host and its file list with a heartbeat.

Promise: no line lost, none duplicated, across its own restart (even SIGKILL) and
across Redis going away. A file's position lives in Redis only, as the last entry
of its stream: on start, and after any failed write (which may or may not have
reached Redis), the agent reads that entry back and continues just after it.
While Redis is unreachable a file's tailer waits (with backoff) on the batch in
hand; the rest is still on disk and is read when Redis is back.

Redis may also lose what it had accepted: restarted without persistence or from
an older snapshot, FLUSHALL, the stream deleted or trimmed to nothing. So every
write appends only if the stream still ends with the entry this agent wrote last
(``APPEND``, one atomic script), and every heartbeat compares each stream's last
entry with it, so an idle file is checked too. Where the stream now ends earlier,
the agent writes a ``reset`` entry and ships again from the file what Redis no
longer has (as a new stream would start: at most ``--maxlen`` lines), then goes
on: clients get a ``reset`` and every line still on disk, once after it. Never
reads a file from its start to find its end; never logs the Redis password.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time

import gevent
import gevent.event
import redis

from . import paths
from . import redis_schema as schema
from .config import Config
from .errors import ConfigError
from .shipper import APPEND, EMPTY, SKIP_SUFFIXES, FileShipper
from .watcher import WakeIndex, Watcher

log = logging.getLogger("logstream.agent")


class Agent:
    def __init__(self, config: Config) -> None:
        if not config.redis:
            raise ConfigError("agent: --redis URL is required")
        self.root = config.root
        self.url = schema.check_url(config.redis)
        self.name = schema.check_host(config.name or socket.gethostname().split(".")[0])
        self.maxlen = config.maxlen
        self.max_line = config.max_line
        self.poll_interval = config.poll_interval
        self.rotate_wait = config.rotate_wait
        self.redis = schema.client(self.url)
        self.append = self.redis.register_script(APPEND)
        self.shippers: dict[str, FileShipper] = {}
        self._wake = WakeIndex(self.root)
        self._rescan = gevent.event.Event()
        self.stopping = gevent.event.Event()
        self.watcher = Watcher(self.root, self)
        self.lines_sent = 0
        self.files: dict = {}
        self.started = time.time()
        self._down_since: float | None = None

    # -- Redis health, logged once per outage -------------------------------------------------
    def redis_failed(self, exc: Exception) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            # redis-py's messages name host and port, never the password.
            log.warning("Redis at %s unreachable (%s); retrying, lines wait on disk", schema.masked(self.url),
                        exc.__class__.__name__)

    def redis_ok(self) -> None:
        if self._down_since is not None:
            log.info("Redis back after %.1f s; catching up", time.monotonic() - self._down_since)
            self._down_since = None

    # -- the watcher calls this for every file-system event ------------------------------------
    def touched(self, path: str) -> None:
        self._wake.touched(path)
        self._unshipped(path)

    def appended(self, path: str) -> None:
        """Lines were appended to the file at ``path``: wake its shipper only."""
        self._wake.appended(path)
        self._unshipped(path)

    def _unshipped(self, path: str) -> None:
        rel = paths.public_name(os.path.relpath(path, self.root))
        if rel not in self.shippers:
            self._rescan.set()

    def wake_all(self) -> None:
        """File-system events were lost: look at every file, and for new ones."""
        self._wake.wake_all()
        self._rescan.set()

    # -- life cycle ------------------------------------------------------------------------------
    def run(self) -> int:
        log.info("agent %s: shipping %s to %s (streams of at most ~%d lines)", self.name, self.root,
                 schema.masked(self.url), self.maxlen)
        print(f"logstream: agent {self.name} shipping {self.root} to {schema.masked(self.url)}", flush=True)
        self.watcher.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            gevent.signal_handler(sig, self._stop_soon)
        try:
            while not self.stopping.is_set():
                self._rescan.clear()
                self.scan()
                self.beat()
                self._rescan.wait(schema.HEARTBEAT)
        finally:
            self.stop()
        return 0

    def _stop_soon(self) -> None:
        self.stopping.set()
        self._rescan.set()  # the loop's wait ends now, not at the next heartbeat

    def stop(self) -> None:
        self.watcher.stop()
        for shipper in self.shippers.values():
            shipper.stop()
        try:
            self.redis.delete(schema.alive_key(self.name))  # leave the viewers' list now
        except redis.RedisError:
            pass
        self.redis.close()

    def scan(self) -> None:
        """Follow new files; let go of ones gone for good (a deleted file's tailer
        would notice its return, but a directory of dated files would leak them)."""
        present = {f.path: f for f in paths.list_files(self.root) if f.readable and not f.path.endswith(SKIP_SUFFIXES)}
        for rel in present:
            if rel not in self.shippers:
                self._follow(rel)
        for rel, shipper in list(self.shippers.items()):
            if rel not in present and shipper.idle:
                self._forget(rel)
        self.files = present

    def _follow(self, rel: str) -> None:
        shipper = FileShipper(self, rel)
        self.shippers[rel] = shipper
        self._wake.add(rel, shipper.tailer)
        shipper.start()

    def _forget(self, rel: str) -> None:
        shipper = self.shippers.pop(rel)
        shipper.stop()
        self._wake.discard(rel, shipper.tailer)

    def beat(self) -> None:
        """Keep this host listed (its key expires ALIVE_TTL s after the last beat)
        and publish its file list, dropping entries an earlier run left behind."""
        files_key = schema.files_key(self.name)
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.sadd(schema.HOSTS, self.name)
            pipe.set(schema.alive_key(self.name), json.dumps({"since": self.started}), ex=schema.ALIVE_TTL)
            if self.files:
                pipe.hset(files_key, mapping={rel: json.dumps({"size": f.size, "mtime": round(f.mtime, 3)})
                                              for rel, f in self.files.items()})
            pipe.hkeys(files_key)
            # Each stream's last entry: an idle file's stream that Redis emptied or
            # rolled back is noticed here, not at the file's next line.
            ready = [shipper for shipper in self.shippers.values() if shipper.ready]
            for shipper in ready:
                pipe.xrevrange(shipper.key, count=1)
            replies = pipe.execute()
            stale = set(replies[len(replies) - len(ready) - 1]) - set(self.files)
            if stale:
                self.redis.hdel(files_key, *stale)
            for shipper, found in zip(ready, replies[len(replies) - len(ready):], strict=True):
                if (found[0][0] if found else EMPTY) != shipper.last_id:
                    shipper.check_history_soon()  # it looks again, between its own writes
            self.redis_ok()
        except redis.RedisError as exc:
            self.redis_failed(exc)
