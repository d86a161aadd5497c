"""jwt_auth: JSON Web Tokens (RFC 7519) as credentials, verified by PyJWT, never by
hand (the way Mercure authenticates its subscribers).

The configured key fixes the one algorithm accepted: ``--jwt-secret-file`` is an
HS256 secret, ``--jwt-public-key`` a PEM public key, RS256 for RSA and ES256 for
an EC P-256 key. A token naming any other algorithm is refused, so ``alg: none``
and the old confusion attack (an HS256 token "signed" with the public key's bytes)
fail. ``exp`` is required; ``nbf`` and ``iat`` are checked when present; clock
skew is forgiven up to ``LEEWAY`` seconds. ``--jwt-audience`` / ``--jwt-issuer``,
when given, must match ``aud`` / ``iss``; without ``--jwt-audience`` the ``aud``
claim is not checked. Every refusal says the same thing (``auth.REFUSAL``); the
reason is logged at DEBUG, never the token.
"""

from __future__ import annotations

import logging

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .auth import REFUSAL
from .errors import ConfigError, Unauthorized

log = logging.getLogger(__name__)

LEEWAY = 30  # seconds of clock skew forgiven on exp, nbf and iat
MIN_SECRET = 32  # bytes of an HS256 secret (RFC 7518 section 3.2: at least the hash's size)
MAX_TOKEN = 8192  # characters: a longer header value is refused unread


class JwtVerifier:
    """Verifies tokens against one key. ``secret_file``: a file holding the HS256
    secret (its bytes, a trailing newline dropped); ``public_key``: a PEM file.
    Exactly one of them. Raises ``ConfigError`` for a key that cannot be used."""

    def __init__(self, *, secret_file: str | None = None, public_key: str | None = None,
                 audience: str | None = None, issuer: str | None = None) -> None:
        if bool(secret_file) == bool(public_key):
            raise ConfigError("give --jwt-secret-file or --jwt-public-key, not both")
        self.audience = audience or None
        self.issuer = issuer or None
        if secret_file:
            secret = _read(secret_file, "--jwt-secret-file").rstrip(b"\r\n")
            if len(secret) < MIN_SECRET:
                raise ConfigError(f"--jwt-secret-file: the secret must be at least {MIN_SECRET} bytes long")
            if secret.lstrip().startswith(b"-----BEGIN"):
                raise ConfigError("--jwt-secret-file holds a PEM key: give it as --jwt-public-key")
            self.key, self.algorithm = secret, "HS256"
            return
        pem = _read(public_key, "--jwt-public-key")
        try:
            key = serialization.load_pem_public_key(pem)
        except ValueError:
            raise ConfigError(f"--jwt-public-key: {public_key} holds no PEM public key") from None
        if isinstance(key, rsa.RSAPublicKey):
            if key.key_size < 2048:
                raise ConfigError("--jwt-public-key: an RSA key must have at least 2048 bits")
            self.algorithm = "RS256"
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            self.algorithm = "ES256"
        else:
            raise ConfigError("--jwt-public-key: expected an RSA or an EC P-256 public key")
        self.key = key

    @classmethod
    def from_config(cls, config) -> JwtVerifier | None:
        """The verifier ``config`` asks for, or None when no JWT key is set."""
        if not (config.jwt_secret_file or config.jwt_public_key):
            if config.jwt_audience or config.jwt_issuer:
                raise ConfigError("--jwt-audience and --jwt-issuer need --jwt-secret-file or --jwt-public-key")
            return None
        return cls(secret_file=config.jwt_secret_file, public_key=config.jwt_public_key,
                   audience=config.jwt_audience, issuer=config.jwt_issuer)

    def verify(self, token: str) -> dict:
        """The claims of ``token`` (a compact JWS) if it is valid now; else
        ``Unauthorized`` with the one refusal for every cause."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
            raise _refused("no token or too long")
        try:
            return jwt.decode(token, self.key, algorithms=[self.algorithm], audience=self.audience,
                              issuer=self.issuer, leeway=LEEWAY,
                              options={"require": ["exp"], "verify_aud": self.audience is not None})
        except jwt.PyJWTError as exc:
            raise _refused(exc.__class__.__name__) from None


def looks_like_jwt(value: str | None) -> bool:
    """Whether ``value`` has the shape of a compact JWS (three dot-separated parts)."""
    return bool(value) and value.count(".") == 2


def _refused(why: str) -> Unauthorized:
    log.debug("JWT refused: %s", why)
    return Unauthorized(REFUSAL, headers={"WWW-Authenticate": 'Bearer realm="logstream"'})


def _read(path: str, flag: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(65536)
    except OSError as exc:
        raise ConfigError(f"{flag}: cannot read {path}: {exc.strerror}") from None
