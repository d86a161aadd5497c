"""auth: the optional shared token. A request is let in by ``Authorization: Bearer``,
by the session cookie the viewer gets from ``POST api/login`` (EventSource cannot
send headers), or, when enabled, by ``?access_token=`` (``identity.Identities``
asks, beside JWTs and a proxy's user).

Promise (safe to expose): comparisons are constant-time; a refusal says the same
thing whatever was wrong; the token is never logged, never put in a cookie (the
cookie holds an HMAC of an issue time, keyed by the token, so it is valid across
restarts and workers and dies when the token changes), and never echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import time

COOKIE = "logstream_session"
SESSION_SECONDS = 7 * 24 * 3600
REFUSAL = "authentication required"


class Auth:
    """The shared token (``--token``), or none (``required`` is then False):
    ``token_matches(candidate)``, and the session cookie's value (``session()``,
    ``session_valid(value)``)."""

    def __init__(self, token: str | None, query_token: bool = False) -> None:
        self._token = token.encode() if token else None
        self.query_token = query_token

    @property
    def required(self) -> bool:
        return self._token is not None

    def token_matches(self, candidate: str | None) -> bool:
        if self._token is None or not candidate:
            return False
        return hmac.compare_digest(hashlib.sha256(candidate.encode()).digest(),
                                   hashlib.sha256(self._token).digest())

    def session(self, now: float | None = None) -> str:
        issued = str(int(now if now is not None else time.time()))
        return f"{issued}.{self._sign(issued)}"

    def session_valid(self, value: str | None, now: float | None = None) -> bool:
        if self._token is None or not value or "." not in value or len(value) > 200:
            return False
        issued, _, signature = value.partition(".")
        if not issued.isdigit():
            return False
        age = (now if now is not None else time.time()) - int(issued)
        return 0 <= age <= SESSION_SECONDS and hmac.compare_digest(signature, self._sign(issued))

    def _sign(self, issued: str) -> str:
        return hmac.new(self._token, f"logstream-session:{issued}".encode(), hashlib.sha256).hexdigest()
