"""JWT bearer tokens (--jwt-secret-file, --jwt-public-key, --jwt-audience,
--jwt-issuer), over real HTTP: a valid token opens the API as its ``sub``; an
expired, not-yet-valid, tampered, unsigned (``alg: none``), algorithm-confused,
wrong-audience, wrong-issuer or exp-less token gets the one 401; sign-in through
the login gives a cookie that ends no later than the token; the shared token keeps
working beside JWTs."""

import base64
import calendar
import http.client
import json
import subprocess
import sys
import time

import jwt
import pytest

from conftest import Server, append
from jwt_keys import AUDIENCE, ISSUER, Keys, bearer, hs256_with, unsigned

TOKEN = "shared-token-for-tests"
REFUSAL = {"error": "authentication required"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("jwtlogs")
    append(root / "app.log", "hello")
    return root


@pytest.fixture(scope="module")
def hs(keys, logs):
    srv = Server(logs, ("--jwt-secret-file", str(keys.secret_file), "--jwt-audience", AUDIENCE,
                        "--jwt-issuer", ISSUER, "--token", TOKEN, "--heartbeat", "1"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def rs(keys, logs):
    srv = Server(logs, ("--jwt-public-key", str(keys.rsa_public), "--heartbeat", "1"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def es(keys, logs):
    srv = Server(logs, ("--jwt-public-key", str(keys.ec_public), "--heartbeat", "1"))
    yield srv
    srv.stop()


def good(keys, alg="HS256", **claims):
    return keys.token(alg, iss=ISSUER, aud=AUDIENCE, **claims)


def post(server, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", path, body=json.dumps(body or {}),
                     headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), json.loads(resp.read())
    finally:
        conn.close()


def test_a_valid_token_opens_files_streams_and_downloads_as_its_subject(hs, keys):
    auth = bearer(good(keys, sub="alice"))
    assert hs.json("/api/files", headers=auth)[1]["files"][0]["path"] == "app.log"
    assert hs.stream("/api/stream/app.log", headers=auth).wait_lines(1) == ["hello"]
    assert hs.get("/api/download/app.log", headers=auth)[2] == b"hello\n"
    session = hs.json("/api/session", headers=auth)[1]
    assert (session["authenticated"], session["via"], session["user"], session["scoped"]) == (
        True, "jwt", "alice", False)
    assert session["expires"].endswith("Z")


@pytest.mark.parametrize("alg,srv", [("RS256", "rs"), ("ES256", "es")])
def test_a_public_key_accepts_tokens_of_its_own_algorithm(keys, alg, srv, request):
    server = request.getfixturevalue(srv)
    assert server.get("/api/files", headers=bearer(keys.token(alg)))[0] == 200


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


BAD_TOKENS = {
    "expired beyond the leeway": lambda k: good(k, exp=int(time.time()) - 120),
    "not yet valid": lambda k: good(k, nbf=int(time.time()) + 120),
    "wrong audience": lambda k: k.token("HS256", iss=ISSUER, aud="another-service"),
    "no audience": lambda k: k.token("HS256", iss=ISSUER),
    "wrong issuer": lambda k: k.token("HS256", iss="https://evil.example.com", aud=AUDIENCE),
    "no exp claim": lambda k: good(k, ttl=None),
    "tampered payload": lambda k: tampered(good(k)),
    "alg none": lambda k: unsigned({"sub": "alice", "exp": int(time.time()) + 300, "iss": ISSUER, "aud": AUDIENCE}),
    "signed with another key": lambda k: jwt.encode(
        {"sub": "alice", "exp": int(time.time()) + 300, "iss": ISSUER, "aud": AUDIENCE},
        b"another-secret-of-at-least-32-bytes-long", algorithm="HS256"),
    "RS256 where HS256 is configured": lambda k: good(k, "RS256"),
    "logstream_paths not a list": lambda k: good(k, logstream_paths="app.log"),
}


@pytest.mark.parametrize("why", BAD_TOKENS)
@pytest.mark.parametrize("route", ["/api/files", "/api/stream/app.log", "/api/download/app.log"])
def test_a_bad_token_gets_the_one_refusal_on_every_route(hs, keys, why, route):
    status, headers, body = hs.get(route, headers=bearer(BAD_TOKENS[why](keys)))
    assert (status, json.loads(body)) == (401, REFUSAL), why
    assert headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("why", BAD_TOKENS)
def test_a_bad_token_cannot_sign_in(hs, keys, why):
    status, headers, body = post(hs, "/api/login", {"token": BAD_TOKENS[why](keys)})
    assert (status, body) == (401, REFUSAL)
    assert not [v for k, v in headers if k.lower() == "set-cookie"]


def test_clock_skew_within_the_stated_leeway_is_forgiven(hs, keys):
    assert hs.get("/api/files", headers=bearer(good(keys, exp=int(time.time()) - 10)))[0] == 200
    assert hs.get("/api/files", headers=bearer(good(keys, nbf=int(time.time()) + 10)))[0] == 200


def test_algorithm_confusion_with_the_public_key_as_hmac_secret_is_refused(rs, keys):
    claims = {"sub": "alice", "exp": int(time.time()) + 300}
    forged = hs256_with(keys.rsa_public.read_bytes(), claims)
    assert rs.get("/api/files", headers=bearer(forged))[0] == 401
    assert rs.get("/api/files", headers=bearer(unsigned(claims)))[0] == 401
    assert rs.get("/api/files", headers=bearer(keys.token("ES256")))[0] == 401  # another key, another algorithm


def test_sign_in_with_a_token_sets_a_cookie_that_ends_with_the_token(hs, keys):
    exp = int(time.time()) + 120
    status, headers, body = post(hs, "/api/login", {"token": good(keys, sub="bob", exp=exp)})
    assert status == 200 and body["authenticated"]
    [cookie] = [v for k, v in headers if k.lower() == "set-cookie"]
    attributes = {a.split("=")[0].strip().lower(): a.partition("=")[2] for a in cookie.split(";")[1:]}
    assert 0 < int(attributes["max-age"]) <= 120
    expires = calendar.timegm(time.strptime(attributes["expires"], "%a, %d %b %Y %H:%M:%S GMT"))
    assert expires <= exp
    assert {"httponly", "samesite"} <= set(attributes)
    session = {"Cookie": cookie.split(";")[0]}
    who = hs.json("/api/session", headers=session)[1]
    assert (who["user"], who["via"]) == ("bob", "jwt")
    assert hs.stream("/api/stream/app.log", headers=session).wait_lines(1) == ["hello"]


def test_a_cookie_holding_an_expired_token_opens_nothing(hs, keys):
    stale = {"Cookie": f"logstream_session={good(keys, exp=int(time.time()) - 120)}"}
    assert hs.get("/api/files", headers=stale)[0] == 401
    assert hs.json("/api/session", headers=stale)[1]["authenticated"] is False


def test_the_shared_token_still_works_beside_jwts_and_reads_everything(hs):
    assert hs.get("/api/files", headers=bearer(TOKEN))[0] == 200
    status, headers, _ = post(hs, "/api/login", {"token": TOKEN})
    assert status == 200
    cookie = [v for k, v in headers if k.lower() == "set-cookie"][0].split(";")[0]
    who = hs.json("/api/session", headers={"Cookie": cookie})[1]
    assert (who["via"], who["scoped"]) == ("token", False)


def test_no_credentials_get_the_one_refusal(hs):
    status, _, body = hs.get("/api/files")
    assert (status, json.loads(body)) == (401, REFUSAL)
    assert hs.json("/api/session")[1]["authenticated"] is False


@pytest.mark.parametrize("args,message", [
    (("--jwt-secret-file", "/nonexistent/secret"), "cannot read"),
    (("--jwt-audience", "x"), "need --jwt-secret-file or --jwt-public-key"),
])
def test_bad_jwt_settings_are_one_line_and_exit_2(logs, args, message):
    done = subprocess.run([sys.executable, "-m", "logstream", str(logs), *args], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_a_short_secret_or_a_pem_as_secret_is_refused_at_start(logs, tmp_path, keys):
    short = tmp_path / "short"
    short.write_text("too-short\n")
    for path, message in ((short, "at least 32 bytes"), (keys.rsa_public, "give it as --jwt-public-key")):
        done = subprocess.run([sys.executable, "-m", "logstream", str(logs), "--jwt-secret-file", str(path)],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 2 and message in done.stderr, done.stderr
