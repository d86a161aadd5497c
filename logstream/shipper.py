"""shipper: one file of a log host, shipped to its Redis stream (the agent runs one
per file). Owns where the file's stream stands (the id of the entry it wrote
last), the atomic ``APPEND`` that writes only after that entry, resuming after
the agent's own restart (through the rotation chain when the file was rotated
meanwhile), and shipping again from the file what Redis lost.

Promise: no line lost, none duplicated. Its tailer's greenlet does the writing,
so a file whose writes wait for Redis holds up nobody else. Never reads a file
from its start to find its end; never logs the Redis password.
"""

from __future__ import annotations

import json
import logging
import os
import random
from typing import TYPE_CHECKING

import gevent
import gevent.event
import gevent.lock
import redis

from . import paths
from . import redis_schema as schema
from .errors import LogstreamError
from .lines import backlog_start, is_line_boundary, last_line_end, read_lines
from .segments import Batch, Change
from .tailer import Tailer

if TYPE_CHECKING:
    from .agent import Agent

log = logging.getLogger("logstream.agent")

SKIP_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip")  # rotated, compressed: not lines
MAX_BACKOFF = 2.0
EMPTY = "0-0"  # the id a stream with no entries "ends with"
APPEND_CHUNK = 1000  # entries per APPEND: Redis runs a script alone, keep each short

# XADD the entries only if the stream still ends with the entry the agent wrote
# last (promise: no line lost, none twice): otherwise write nothing and say where
# it ends now. Atomic, and one round trip like the pipeline it replaces; a stream
# that lost entries is noticed before anything is written after the hole.
# KEYS[1] the stream; ARGV[1] the id it must end with (EMPTY: no entries);
# ARGV[2] MAXLEN ~; then for each entry its number of fields and values, then them.
APPEND = """
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local last = top[1] and top[1][1] or '0-0'
if last ~= ARGV[1] then return {'moved', last} end
local ids, i = {}, 3
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  ids[#ids + 1] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return ids
"""
LOST = ("Redis lost this file's history (restarted empty or from an older snapshot, flushed, or the stream "
        "deleted); the agent shipped its last lines again from the file")


class FileShipper:
    """One file → one stream. Its tailer's greenlet does the writing, so a file
    whose writes wait for Redis holds up nobody else."""

    def __init__(self, agent: Agent, rel: str) -> None:
        self.agent = agent
        self.rel = rel
        self.key = schema.stream_key(agent.name, rel)
        self.tailer = Tailer(agent.root, rel, agent.max_line, agent.poll_interval, self._publish,
                             rotate_wait=agent.rotate_wait)
        # What the stream ends with, as this shipper left it: the id and fields of
        # its last entry (EMPTY and None: no entry). Every APPEND checks it.
        self.last_id = EMPTY
        self.last: dict | None = None
        self.ready = False  # its start-up is over: last_id is known
        self._unsure = True  # until we have read the stream's last entry
        self._lock = gevent.lock.RLock()  # one writer at a time: the tailer, or a history check
        self._greenlet: gevent.Greenlet | None = None
        self._checker: gevent.Greenlet | None = None

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._start)

    def stop(self) -> None:
        for greenlet in (self._greenlet, self._checker):
            if greenlet is not None:
                greenlet.kill(block=False)
        self.tailer.stop()

    @property
    def idle(self) -> bool:
        """Its start-up is over and its file is gone: nothing left to ship."""
        return self.tailer.current is None and (self._greenlet is None or self._greenlet.dead)

    def _start(self) -> None:
        with self._lock:
            self.last_id, self.last = self._retrying(self._read_last)
            self._unsure = False
            last = self.last
            try:
                self.tailer.start(at=lambda fd, st: self._resume_offset(fd, st.st_ino, st.st_size, last))
            except LogstreamError as exc:
                log.warning("%s: cannot follow: %s", self.rel, exc.message)
                return
            self.ready = True
        log.debug("%s: following from %d", self.rel, self.tailer.offset)

    # -- where to start ------------------------------------------------------------------------
    def _resume_offset(self, fd: int, file_ino: int, size: int, last: dict | None) -> int:
        """Just after the last line in the stream (promise: none lost, none twice),
        in the file open as ``fd`` (inode ``file_ino``), whose first ``size`` bytes
        count."""
        end = last_line_end(fd, size)
        if last is None:
            # A stream we never wrote: the file's last lines, as many as --maxlen keeps.
            return backlog_start(fd, end, self.agent.maxlen, self.agent.max_line)
        ino, offset = int(last["i"], 16), int(last["o"])
        if ino == file_ino:
            if offset <= size and is_line_boundary(fd, offset):
                return offset
            self._send([_control("truncate", ino, 0, {"reason": "truncated while the agent was stopped"})])
            return 0
        # The file was replaced while we were away: finish the old one, and every
        # rotation after it, if they are still here (the same chain a resume walks).
        if last.get("k") == "deleted":
            info = {"reason": "recreated"}
        else:
            info = self._finish_chain(ino, offset, file_ino)
        self._send([_control("rotate", file_ino, 0, info)])
        return 0

    def _finish_chain(self, ino: int, offset: int, current: int) -> dict:
        """Ship the rest of the rotated-away file with inode ``ino`` from
        ``offset``, then each later rotation (``app.log.1`` after ``app.log.2``)
        from its start, each announced by a ``rotate`` entry: the details of the
        last ``rotate``, which leads into the file followed now (inode ``current``)."""
        root, max_line = self.agent.root, self.agent.max_line
        try:
            chain = paths.rotation_chain(root, self.rel)
        except LogstreamError:
            chain = []
        links = paths.chain_from(chain, ino, {current})
        if links is None:
            return {"reason": "rotated", "old_file": "gone: lines it still had after the last one sent are lost"}
        info: dict = {"reason": "rotated"}
        for n, link in enumerate(links):
            try:
                fd, st = paths.open_file(root, link.rel) if link.compressed is None else (None, None)
            except LogstreamError:
                fd, st = None, None
            if fd is None or st.st_ino != link.ino:
                if fd is not None:
                    os.close(fd)
                if n == 0:
                    return {"reason": "rotated", "old_file": "gone: lines it still had after the last one sent "
                            "are lost"}
                info.setdefault("skipped", []).append(link.rel)  # compressed, or gone meanwhile
                continue
            try:
                start = offset if n == 0 else 0
                if start > st.st_size or not is_line_boundary(fd, start):
                    info["old_file"] = "rewritten: lines it still had after the last one sent are lost"
                    continue
                if n > 0:
                    self._send([_control("rotate", link.ino, 0, info)])
                    info = {"reason": "rotated"}
                for lines in read_lines(fd, start, st.st_size, max_line, final=True):
                    self._send(_line_entries(link.ino, lines.texts, lines.ends))
            finally:
                os.close(fd)
        return info

    # -- writing ------------------------------------------------------------------------------------
    def _publish(self, item: Batch | Change) -> None:
        if isinstance(item, Batch):
            self._send(_line_entries(item.ino, item.lines.texts, item.lines.ends))
        else:
            self._send([_control(item.kind, item.ino, item.after.offset, item.info)])

    def _send(self, entries: list[dict]) -> None:
        """Append every entry, in order, exactly once: blocks (with backoff) while
        Redis is away. A failed write may have reached Redis, and Redis may have
        lost what it had: either way the next try first reads where the stream
        ends (``_resync``)."""
        pending = entries

        def attempt():
            nonlocal pending
            while pending:
                if self._unsure:
                    pending = self._resync(pending)
                    continue
                chunk = pending[:APPEND_CHUNK]
                self._unsure = True
                reply = self.agent.append(keys=[self.key], args=[self.last_id, self.agent.maxlen, *_flat(chunk)])
                if reply and reply[0] == "moved":
                    continue  # nothing written; still unsure: _resync finds out what happened
                self._unsure = False
                self.last_id, self.last = reply[-1], chunk[-1]
                pending = pending[len(chunk):]
                self.agent.lines_sent += len(chunk)

        with self._lock:
            self._retrying(attempt)

    def _resync(self, pending: list[dict]) -> list[dict]:
        """Read where the stream ends and return what of ``pending`` it lacks: all
        of it, or the rest after the part of it that a failed write left there. If
        the stream ends before the entry we wrote last, ship the lost lines first."""
        actual_id, actual = self._read_last()
        self._unsure = False
        if actual_id == self.last_id:
            return pending
        rest = _not_yet_in(pending, actual)
        newer = schema.parse_entry_id(actual_id) > schema.parse_entry_id(self.last_id)
        if actual is not None and newer and len(rest) < len(pending):  # what we tried reached Redis
            self.last_id, self.last = actual_id, actual
            return rest
        self._history_changed(actual_id, actual)
        return _not_yet_in(pending, self.last)

    def check_history(self) -> None:
        """Whether Redis still ends this file's stream with the entry we wrote last
        (the heartbeat asks when it saw otherwise): a file that is not being written
        to must get back what Redis lost too."""
        with self._lock:
            if not self.ready or self._unsure:
                return  # still starting, or a write is retrying: it resyncs itself
            try:
                actual_id, actual = self._read_last()
                if actual_id != self.last_id:
                    self._history_changed(actual_id, actual)
            except redis.RedisError as exc:
                self.agent.redis_failed(exc)  # the next heartbeat asks again

    def check_history_soon(self) -> None:
        if self._checker is None or self._checker.dead:
            self._checker = gevent.spawn(self.check_history)

    def _history_changed(self, actual_id: str, actual: dict | None) -> None:
        """The stream no longer ends with our last entry. If it ends earlier (Redis
        lost entries), mark the hole with a ``reset`` entry and ship again, from
        the file, the lines after its new end (at most --maxlen back), up to where
        we had got (promise: every line still on disk, once after the reset).
        If it ends later, someone else writes to it: take its end as ours."""
        had, had_id = self.last, self.last_id
        self.last_id, self.last = actual_id, actual
        if had is None or (actual is not None and not _not_yet_in([had], actual)):
            return  # Redis still has everything we had shipped
        if actual is not None and schema.parse_entry_id(actual_id) > schema.parse_entry_id(had_id):
            log.error("%s: stream %s ends with an entry this agent did not write: is another agent named %s "
                      "running?", self.rel, self.key, self.agent.name)
            return
        ino, end = int(had["i"], 16), int(had["o"])
        seg = self.tailer.segment_by_ino(ino)
        log.warning("%s: Redis lost the entries of its stream after %s (this agent had written up to %s)",
                    self.rel, actual_id, had_id)
        if seg is None or seg.fd is None or end == 0:
            return  # not on disk any more (or nothing before the position): nothing to ship again
        # "replaces": the lines up to (ino, end) that follow are shipped again; a
        # client whose last id was had_id has them and skips them (redis_follower).
        self._send([_control("reset", ino, end, {"reason": LOST, "replaces": had_id})])
        count = start = 0
        try:
            start = self._resume_offset(seg.fd, ino, end, actual)
            for lines in read_lines(seg.fd, start, end, self.agent.max_line):
                self._send(_line_entries(ino, lines.texts, lines.ends))
                count += len(lines)
        except OSError as exc:  # the batch in hand must still go out: clients got the reset
            log.warning("%s: cannot read the file again: %s", self.rel, exc.strerror or exc)
            self._send([_control("reset", ino, end, {"reason": f"{LOST}, but not all of it could be read"})])
        log.warning("%s: shipped %d lines again from the file (bytes %d to %d)", self.rel, count, start, end)

    def _read_last(self) -> tuple[str, dict | None]:
        """The id and fields of the stream's last entry (EMPTY, None: it has none)."""
        found = self.agent.redis.xrevrange(self.key, count=1)
        return (found[0][0], found[0][1]) if found else (EMPTY, None)

    def _retrying(self, action):
        delay = 0.05
        while True:
            try:
                result = action()
                self.agent.redis_ok()
                return result
            except redis.RedisError as exc:
                self.agent.redis_failed(exc)
                gevent.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, MAX_BACKOFF)


def _flat(entries: list[dict]) -> list:
    """Entries as APPEND's arguments: each one's number of fields and values, then them."""
    args: list = []
    for fields in entries:
        args.append(2 * len(fields))
        for name, value in fields.items():
            args += (name, value)
    return args


def _line_entries(ino: int, texts: list[str], ends: list[int]) -> list[dict]:
    i = f"{ino:x}"
    return [{"l": text, "i": i, "o": end} for text, end in zip(texts, ends, strict=True)]


def _control(kind: str, ino: int, offset: int, info: dict) -> dict:
    return {"k": kind, "i": f"{ino:x}", "o": offset, "j": json.dumps(info, ensure_ascii=False)}


def _not_yet_in(entries: list[dict], last: dict | None) -> list[dict]:
    """The entries that come after ``last`` (the stream's last entry). Positions
    only compare within one inode, and a control entry marks where offsets start
    again, so an entry is "in" only if it is that very control or a line at or
    before the last line's offset in the same inode."""
    if last is None:
        return entries
    if "k" in last:
        same = [n for n, e in enumerate(entries) if e.get("k") == last["k"] and e["i"] == last["i"]
                and int(e["o"]) == int(last["o"])]
        return entries[same[0] + 1:] if same else entries
    ino, offset = last["i"], int(last["o"])
    return [e for e in entries if "k" in e or e["i"] != ino or int(e["o"]) > offset]
