"""runtime: the running parts every route shares: the one ``Source`` (local files
or Redis), admission of streams against the connection limits, the heartbeat
pinger, metrics, authentication and shutdown.

Never imports Flask (the blueprints reach it through ``current_app``); never starts
the source at import time (each gunicorn worker starts its own on first use).
"""

from __future__ import annotations

import time

import gevent.event

from .config import Config
from .errors import TooManyRequests, Unavailable
from .identity import Identities
from .metrics import Metrics
from .sources import open_source
from .topic import Pinger


class Runtime:
    """What ``create_app`` builds once and the routes share (``api.runtime()``)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.source = open_source(config)
        self.metrics = Metrics(self.source.topics)
        self.shutdown = gevent.event.Event()
        self.started = time.time()
        self.auth = Identities(config)
        self.pinger = Pinger(config.heartbeat)
        self.open_streams = 0
        self.streams_per_ip: dict[str, int] = {}
        self.max_connections = config.max_connections

    def admit(self, ip: str) -> None:
        """Count a new stream from ``ip``, or refuse it past the limits before it
        costs anything (promise: a flood of clients gets 503/429 with Retry-After,
        never a hang). Raises ``Unavailable`` or ``TooManyRequests``."""
        if self.open_streams >= self.max_connections:
            raise Unavailable("too many open streams; try again later", headers={"Retry-After": "5"})
        per_ip = self.config.max_per_ip
        if per_ip and self.streams_per_ip.get(ip, 0) >= per_ip:
            raise TooManyRequests("too many open streams from your address", headers={"Retry-After": "5"})
        self.open_streams += 1
        self.streams_per_ip[ip] = self.streams_per_ip.get(ip, 0) + 1

    def release(self, ip: str) -> None:
        """A stream admitted for ``ip`` ended."""
        self.open_streams -= 1
        left = self.streams_per_ip.get(ip, 1) - 1
        if left > 0:
            self.streams_per_ip[ip] = left
        else:
            self.streams_per_ip.pop(ip, None)

    def ensure_started(self) -> None:
        self.source.start()

    def stop(self) -> None:
        """Shutdown: every stream ends with a last comment, every watcher stops."""
        self.shutdown.set()
        self.pinger.stop()
        self.source.stop()
