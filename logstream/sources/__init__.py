"""sources: where files and their lines come from. A local directory
(``sources.local``) and Redis Streams (``sources.redis``) implement one ``Source``
protocol, each with one per-file ``Follower`` (``sources.base``); the routes and
the stream loop hold a ``Source`` and never ask which one it is."""

from __future__ import annotations

from .base import GAP, Follower, Source


def open_source(config) -> Source:
    """The source ``config`` asks for: Redis with ``--redis`` (a scale-out web
    node), else the directory ``config.root``."""
    if config.redis:
        from .redis import RedisSource  # redis-py is only imported where it is used

        return RedisSource(config)
    from .local import LocalSource

    return LocalSource(config)


__all__ = ["GAP", "Follower", "Source", "open_source"]
