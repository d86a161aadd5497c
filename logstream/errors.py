"""errors: the one exception hierarchy. Each error knows its HTTP status; the app
turns every one into ``{"error": message}`` in a single handler, and the CLI into
one line on stderr. Never carries a secret or a traceback to the user."""

from __future__ import annotations


class LogstreamError(Exception):
    status = 400

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(LogstreamError):
    status = 400


class BadEventId(BadRequest):
    """A Last-Event-ID that is not one of ours (answered with a ``reset`` event)."""


class Unauthorized(LogstreamError):
    status = 401


class Forbidden(LogstreamError):
    """Authenticated, but refused: a proxy's user with no scope, a scoped user on
    the operations endpoints."""

    status = 403


class PathRejected(LogstreamError):
    """A path that leads outside the root or is not a regular file."""

    status = 403


class NotFound(LogstreamError):
    status = 404


class Unsupported(LogstreamError):
    """A file a stream cannot carry as lines (a compressed rotation)."""

    status = 415


class TooManyRequests(LogstreamError):
    status = 429


class Unavailable(LogstreamError):
    status = 503


class SourceGone(Unavailable):
    """The source stopped answering (Redis went away): a 503 before a stream
    starts; after, the stream ends with ``farewell`` as its last comment and the
    client reconnects by id. ``reason`` labels the disconnect in ``/metrics``."""

    def __init__(self, message: str, *, reason: str, farewell: str) -> None:
        super().__init__(message, headers={"Retry-After": "2"})
        self.reason = reason
        self.farewell = farewell


class ConfigError(LogstreamError):
    """Bad settings: the CLI says so in one line and exits 2."""
