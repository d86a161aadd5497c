"""--token: every API route needs it; the viewer logs in for a cookie; the token
is compared in constant time, never logged, never hinted at."""

import http.client
import json
import ssl
import subprocess

import pytest

from conftest import Server, append

TOKEN = "s3cret-token-for-tests"
REFUSAL = {"error": "authentication required"}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("guarded")
    append(logdir / "app.log", "hello")
    srv = Server(logdir, ("--token", TOKEN, "--query-token", "--heartbeat", "1"))
    yield srv
    srv.stop()


def post(server, path, body, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json",
                                                                    **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), json.loads(resp.read())
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/api/files", "/api/files/events", "/api/stream/app.log",
                                  "/api/stream?path=app.log", "/api/download/app.log", "/metrics",
                                  "/api/stream/missing.log", "/api/stream/../../etc/passwd"])
@pytest.mark.parametrize("credentials", [{}, {"Authorization": "Bearer wrong-token"},
                                         {"Authorization": f"Basic {TOKEN}"},
                                         {"Cookie": "logstream_session=1.deadbeef"}])
def test_every_api_route_refuses_without_a_valid_token_and_gives_no_hint(guarded, path, credentials):
    status, headers, body = guarded.get(path, headers=credentials)
    assert status == 401
    assert json.loads(body) == REFUSAL
    assert headers["www-authenticate"].startswith("Bearer")


def test_bearer_token_opens_every_route(guarded):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert guarded.get("/api/files", headers=auth)[0] == 200
    assert guarded.stream("/api/stream/app.log", headers=auth).wait_lines(1) == ["hello"]
    assert guarded.get("/metrics", headers=auth)[0] == 200


def test_viewer_login_sets_a_strict_httponly_cookie_that_opens_event_streams(guarded):
    status, _, body = post(guarded, "/api/login", {"token": "wrong"})
    assert status == 401 and body == REFUSAL
    status, headers, body = post(guarded, "/api/login", {"token": TOKEN})
    assert status == 200 and body["authenticated"]
    cookie = dict(headers)["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert TOKEN not in cookie
    session = cookie.split(";")[0]
    s = guarded.stream("/api/stream/app.log", headers={"Cookie": session})
    assert s.wait_lines(1) == ["hello"]
    signed_in = guarded.json("/api/session", headers={"Cookie": session})[1]
    assert {k: signed_in[k] for k in ("required", "authenticated", "via", "user", "scoped")} == {
        "required": True, "authenticated": True, "via": "token", "user": None, "scoped": False}
    signed_out = guarded.json("/api/session")[1]
    assert (signed_out["required"], signed_out["authenticated"], "via" in signed_out) == (True, False, False)


def test_static_viewer_and_healthz_stay_open(guarded):
    assert guarded.get("/healthz")[0] == 200
    assert guarded.json("/healthz")[1]["root"] is None  # no directory name to strangers
    assert guarded.get("/")[0] == 200


def test_query_token_works_only_when_enabled_and_is_kept_out_of_logs(logserver, logdir):
    append(logdir / "app.log", "hello")
    guarded = logserver(logdir, "--token", TOKEN, "--query-token")
    s = guarded.stream(f"/api/stream/app.log?access_token={TOKEN}")
    assert s.wait_lines(1) == ["hello"]
    guarded.get(f"/api/files?access_token={TOKEN}")
    guarded.get("/api/files", headers={"Authorization": f"Bearer {TOKEN}"})
    guarded.stop()
    log = guarded.stderr()
    assert "GET /api/files" in log  # the access log is there...
    assert TOKEN not in log  # ...without the token
    plain = logserver(logdir, "--token", TOKEN)
    assert plain.get(f"/api/files?access_token={TOKEN}")[0] == 401


def test_token_file_is_read_and_bad_token_settings_are_refused(logserver, logdir, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    srv = logserver(logdir, "--token-file", str(token_file))
    assert srv.get("/api/files", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
    assert srv.get("/api/files")[0] == 401


def test_https_with_tls_cert_and_secure_cookie(logserver, logdir, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    append(logdir / "app.log", "over tls")
    srv = logserver(logdir, "--tls-cert", str(cert), "--tls-key", str(key), "--token", TOKEN)
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.check_hostname = False
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=10)
    try:
        conn.request("POST", "/api/login", body=json.dumps({"token": TOKEN}),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
        assert "Secure" in resp.getheader("Set-Cookie")
        conn.request("GET", "/api/stream/app.log?format=text&lines=1", headers={"Authorization": f"Bearer {TOKEN}"})
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.read1(100) == b"over tls\n"
    finally:
        conn.close()
