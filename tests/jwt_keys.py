"""Keys and tokens for the identity tests: an HS256 secret, an RSA and an EC P-256
key pair written as the files the server is given, and ``token(...)`` to sign
claims with them (PyJWT, as an issuer would)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

SECRET = b"an-hs256-secret-of-at-least-32-bytes!!"
ISSUER = "https://id.example.com"
AUDIENCE = "logstream"


class Keys:
    """``secret_file``, ``rsa_public``, ``ec_public``: files under ``where``; the
    private halves stay here."""

    def __init__(self, where: Path) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.secret_file = where / "jwt.secret"
        self.secret_file.write_bytes(SECRET + b"\n")
        self.rsa_public = where / "rsa.pub.pem"
        self.rsa_public.write_bytes(_public_pem(self.rsa))
        self.ec_public = where / "ec.pub.pem"
        self.ec_public.write_bytes(_public_pem(self.ec))

    def token(self, alg: str = "HS256", *, ttl: float | None = 300, **claims) -> str:
        """A token signed with ``alg``'s key; ``exp`` is now + ``ttl`` unless
        ``ttl`` is None (no exp) or ``exp`` is given."""
        now = time.time()
        body = {"sub": "alice", "iat": int(now), **claims}
        if ttl is not None and "exp" not in claims:
            body["exp"] = int(now + ttl)
        key = {"HS256": SECRET, "RS256": self.rsa, "ES256": self.ec}[alg]
        return jwt.encode(body, key, algorithm=alg)


def _public_pem(private) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict) -> str:
    """An ``alg: none`` token: no signature at all."""
    return f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}."


def hs256_with(key: bytes, claims: dict) -> str:
    """An HS256 token whose HMAC key is ``key`` (the algorithm-confusion attack:
    the server's public key bytes as the secret). Built by hand because PyJWT
    rightly refuses to sign with a PEM key."""
    signing = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing}.{_b64(hmac.new(key, signing.encode(), hashlib.sha256).digest())}"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
