"""identity: who a request is and what it may read. Combines the configured ways
in (README "Who may read what"):

- the shared ``--token`` (``auth.Auth``): Bearer header, its session cookie, or
  ``?access_token=``; it reads everything;
- a JWT (``jwt_auth``): Bearer header, or the session cookie ``POST /api/login``
  set with it (the cookie holds the token itself and expires with it); its
  ``logstream_paths`` claim is its scope (``scopes``), none: everything;
- a trusted proxy's user (``--user-header``, ``--groups-header``), believed only
  with ``--trusted-proxies``; its scope comes from ``--scopes FILE``;
- ``--ops-token``: ``/metrics`` only.

Credentials are tried in that order; the first that is valid decides. With none
of them configured every request is let in, unscoped. Refusals: 401 (the one
message of ``auth.REFUSAL``) without valid credentials, 403 for a proxy's user
without a scope entry, or a scoped identity on ``/metrics``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from .auth import COOKIE, REFUSAL, SESSION_SECONDS, Auth
from .errors import BadRequest, Forbidden, Unauthorized
from .jwt_auth import JwtVerifier, looks_like_jwt
from .scopes import Scope, load_scopes_file, scope_for, scope_from_claim

log = logging.getLogger(__name__)

MAX_COOKIE_TOKEN = 3800  # characters: a JWT longer than this does not fit a cookie (4096 bytes in all)
MAX_NAME = 256  # characters of a user or group name taken from a proxy header


@dataclass(frozen=True)
class Identity:
    """Who a request is. ``via``: ``open`` (nothing is configured), ``token``,
    ``ops``, ``jwt`` or ``proxy``; ``name``: the JWT's ``sub`` or the proxy's user
    (None otherwise); ``scope``: None reads everything; ``expires``: when the
    credential ends (UNIX seconds) or None; ``groups``: the proxy's groups."""

    via: str
    name: str | None = None
    scope: Scope | None = None
    expires: float | None = None
    groups: tuple[str, ...] = ()

    def as_json(self) -> dict:
        """What ``GET /api/session`` tells the viewer about it."""
        expires = (datetime.fromtimestamp(self.expires, UTC).isoformat().replace("+00:00", "Z")
                   if self.expires is not None else None)
        return {"via": self.via, "user": self.name, "scoped": self.scope is not None, "expires": expires}


OPEN = Identity("open")
SHARED = Identity("token")


class Identities:
    """The configured ways in, built from a ``Config``; raises ``ConfigError`` for a
    JWT key or scopes file that cannot be used."""

    def __init__(self, config) -> None:
        self.shared = Auth(config.token, config.query_token)
        self.jwt = JwtVerifier.from_config(config)
        self.user_header = config.user_header if config.trusted_proxies else None
        self.groups_header = config.groups_header if self.user_header else None
        # Asked for, but not believed: then no request is let in by the header,
        # nor by its absence (fail closed; the other credentials still work).
        self.header_configured = bool(config.user_header)
        if config.user_header and not config.trusted_proxies:
            log.warning("--user-header is ignored without --trusted-proxies (a client could send it)")
        self.scopes = load_scopes_file(config.scopes) if config.scopes else None
        self.sign_out_url = config.sign_out_url
        self._ops = hashlib.sha256(config.ops_token.encode()).digest() if config.ops_token else None

    @property
    def required(self) -> bool:
        """Whether a request needs credentials at all."""
        return self.shared.required or self.jwt is not None or self.header_configured

    @property
    def query_token(self) -> bool:
        return self.shared.query_token

    def check(self, headers, cookies, args, path: str = "") -> Identity:
        """The identity of a request to ``path``; raises ``Unauthorized`` or ``Forbidden``."""
        bearer = headers.get("Authorization", "")
        bearer = bearer[7:].strip() if bearer[:7].lower() == "bearer " else None
        if path == "/metrics" and self._ops is not None and bearer and hmac.compare_digest(
                hashlib.sha256(bearer.encode()).digest(), self._ops):
            return Identity("ops")
        identity = self._identify(headers, cookies, args, bearer)
        if path == "/metrics" and identity.scope is not None:
            raise Forbidden("/metrics needs the shared token, the ops token or an identity without a path scope")
        return identity

    def _identify(self, headers, cookies, args, bearer: str | None) -> Identity:
        shared = self.shared
        if bearer:
            if shared.token_matches(bearer):
                return SHARED
            if self.jwt is not None and looks_like_jwt(bearer):
                return self._from_jwt(bearer)  # a JWT that fails is refused, not passed over
        cookie = cookies.get(COOKIE)
        if cookie:
            if shared.session_valid(cookie):
                return SHARED
            if self.jwt is not None and looks_like_jwt(cookie):
                try:
                    return self._from_jwt(cookie)
                except Unauthorized:
                    pass  # an expired sign-in: the proxy's user, if any, may still be let in
        if shared.query_token and shared.token_matches(args.get("access_token")):
            return SHARED
        if self.user_header is not None:
            user = headers.get(self.user_header, "").strip()
            if user:
                return self._from_proxy(user, headers.get(self.groups_header, "") if self.groups_header else "")
        if not self.required:
            return OPEN
        raise Unauthorized(REFUSAL, headers={"WWW-Authenticate": 'Bearer realm="logstream"'})

    def _from_jwt(self, token: str) -> Identity:
        claims = self.jwt.verify(token)
        scope = None
        if "logstream_paths" in claims:
            try:
                scope = scope_from_claim(claims["logstream_paths"])
            except ValueError:
                log.debug("JWT refused: bad logstream_paths claim")
                raise Unauthorized(REFUSAL, headers={"WWW-Authenticate": 'Bearer realm="logstream"'}) from None
        name = claims.get("sub") or claims.get("preferred_username")
        return Identity("jwt", str(name)[:MAX_NAME] if name is not None else None, scope, float(claims["exp"]))

    def _from_proxy(self, user: str, groups_text: str) -> Identity:
        if len(user) > MAX_NAME or not user.isprintable():
            raise BadRequest(f"the {self.user_header} header is no user name")
        groups = tuple(g.strip()[:MAX_NAME] for g in groups_text.split(",") if g.strip())
        if self.scopes is None:
            return Identity("proxy", user, None, None, groups)
        scope = scope_for(self.scopes, user, list(groups))
        if scope is None:
            raise Forbidden(f"{user} may read no files here (no entry in the scopes file, and no default)")
        return Identity("proxy", user, scope, None, groups)

    def sign_in(self, credential: object, now: float | None = None) -> tuple[str, int, Identity]:
        """``POST /api/login``: (cookie value, its max-age in seconds, identity) for
        the shared token or a valid JWT; raises ``Unauthorized`` (or ``BadRequest``
        for a JWT too long for a cookie). A JWT's cookie ends when the JWT does."""
        now = time.time() if now is None else now
        if not isinstance(credential, str) or not credential:
            raise Unauthorized(REFUSAL)
        if self.shared.token_matches(credential):
            return self.shared.session(now), SESSION_SECONDS, SHARED
        if self.jwt is not None and looks_like_jwt(credential):
            identity = self._from_jwt(credential)
            if len(credential) > MAX_COOKIE_TOKEN:
                raise BadRequest("this token is too long for a cookie: send it as an Authorization: Bearer header")
            return credential, max(0, min(SESSION_SECONDS, int(identity.expires - now))), identity
        raise Unauthorized(REFUSAL)
