"""listener: the accepting side of logstream's own server (not used under
gunicorn): how descriptors are shared between connections still sending their
request head and admitted streams, the count of those unfinished heads (in
total and per client address), and an accept loop that outlives running out of
descriptors.

Never blocks the hub (the accept loop runs in it); never logs per refused
connection or per failed accept (a flood would flood the log).
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable

from gevent import pywsgi

log = logging.getLogger("logstream")

RESERVED_FDS = 64  # the process's own: followed files, inotify, logs, Redis, the listening socket
# accept() failing for want of resources rather than for a broken listener.
_EXHAUSTED = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def share_descriptors(limit: int, streams: int, unfinished: int, per_ip: int) -> tuple[int, int, int]:
    """Caps that fit the descriptor ``limit``: (streams, unfinished heads, unfinished
    heads per address), each lowered where needed. Unfinished heads get at most a
    quarter of what is not reserved (the rest is for admitted streams, so a flood of
    half-sent requests cannot take their room), and one address at most half of
    those (so one client cannot take every other client's room). 0 means no cap and
    stays 0 (the operator opted out, e.g. behind a proxy that does this)."""
    room = max(2, limit - RESERVED_FDS)
    if unfinished:
        unfinished = min(unfinished, max(1, room // 4))
        if per_ip:
            per_ip = min(per_ip, max(1, unfinished // 2))
    return min(streams, max(1, room - unfinished)), unfinished, per_ip


class Unfinished:
    """Connections that have not finished sending a request head: new ones, and
    keep-alive ones waiting for their next request. A connection is counted while
    it waits (``enter`` … ``leave``); a head that arrives at once never waits, so
    only slow or idle clients fill the caps. Past a cap, a new connection is
    refused at once: 503 past ``cap`` in total, 429 past ``cap_per_ip`` from one
    address (0: no cap)."""

    report_every = 10.0  # seconds: at most one log line (counting the refusals since the last) this often

    def __init__(self, cap: int, cap_per_ip: int, rejected: Callable[[int], None] | None = None) -> None:
        self.cap = cap
        self.cap_per_ip = cap_per_ip
        self.rejected = rejected or (lambda status: None)  # counts refusals and 408s (metrics)
        self.total = 0
        self.per_ip: dict[str, int] = {}
        self._refused = 0  # since the last log line
        self._reported = float("-inf")  # time.monotonic() of the last log line

    def enter(self, ip: str) -> int | None:
        """Count one more connection from ``ip`` waiting for a head; or, past a cap,
        count nothing and return the status that refuses it (503 or 429)."""
        held = self.per_ip.get(ip, 0)
        if self.cap and self.total >= self.cap:
            return self._refuse(503, f"{self.total} requests unfinished (--max-unfinished {self.cap})")
        if self.cap_per_ip and held >= self.cap_per_ip:
            return self._refuse(429, f"{held} requests from {ip} unfinished "
                                     f"(--max-unfinished-per-ip {self.cap_per_ip})")
        self.total += 1
        self.per_ip[ip] = held + 1
        return None

    def leave(self, ip: str) -> None:
        """A connection counted by ``enter`` has its head, or is gone."""
        self.total -= 1
        held = self.per_ip.get(ip, 1) - 1
        if held > 0:
            self.per_ip[ip] = held
        else:
            self.per_ip.pop(ip, None)

    def _refuse(self, status: int, why: str) -> int:
        self.rejected(status)
        self._refused += 1
        now = time.monotonic()
        if now - self._reported >= self.report_every:
            log.warning("%d connection(s) refused: %s", self._refused, why)
            self._refused = 0
            self._reported = now
        return status


class Listener(pywsgi.WSGIServer):
    """pywsgi's server, holding the count of unfinished heads its handlers keep
    (``unfinished``), with an accept loop that survives running out of descriptors.

    gevent's loop logs a traceback for each failed ``accept()`` and retries after
    10 ms, doubling up to 1 s: at EMFILE, a log full of tracebacks, and clients
    left waiting up to a second after a descriptor frees. Here accepting pauses
    ``accept_backoff`` at a time, one line is logged per episode, and the clients
    waiting in the kernel's listen queue are taken as soon as a descriptor is free."""

    accept_backoff = 0.1  # seconds between accept() attempts while descriptors are exhausted

    def __init__(self, *args, unfinished: Unfinished | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.unfinished = unfinished or Unfinished(0, 0)
        self._starved_since: float | None = None  # time.monotonic() the episode began
        self._resume = None  # the timer that starts accepting again

    def do_read(self):
        try:
            accepted = super().do_read()
        except OSError as exc:
            if exc.errno not in _EXHAUSTED:
                raise
            self._pause(exc)
            return None  # gevent's loop then waits for the next wake-up: ours
        if accepted is None and self._starved_since is not None:
            # The listen queue is empty: the episode is over. (A descriptor freed
            # while clients still queue lets one in, then the next accept fails
            # again: that is the same episode, not a new one to log.)
            log.info("accepting connections again: every waiting client taken, %.1f s after descriptors ran out",
                     time.monotonic() - self._starved_since)
            self._starved_since = None
        return accepted

    def _pause(self, exc: OSError) -> None:
        if self._starved_since is None:
            self._starved_since = time.monotonic()
            log.warning("cannot accept connections: %s; new clients wait in the listen queue, retried every %d ms "
                        "until a descriptor is free", exc.strerror, self.accept_backoff * 1000)
        self.stop_accepting()
        if self._resume is None:
            self._resume = self.loop.timer(self.accept_backoff)
        self._resume.start(self._start_accepting_if_open)

    def _start_accepting_if_open(self) -> None:
        if self.started:  # not closed meanwhile
            self.start_accepting()

    def close(self) -> None:
        if self._resume is not None:
            self._resume.close()
            self._resume = None
        super().close()
