"""CORS: closed unless opened, exactly the named origins, never * with credentials."""

import http.client

from conftest import append

ORIGIN = "https://ops.example.com"


def request(server, method, path, headers):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        if method == "OPTIONS" or "stream" not in path:
            resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def test_closed_by_default(server, logdir):
    append(logdir / "a.log", "x")
    _, headers = request(server, "GET", "/api/files", {"Origin": ORIGIN})
    assert "access-control-allow-origin" not in headers


def test_named_origin_gets_credentials_and_last_event_id_preflight(logserver, logdir):
    append(logdir / "a.log", "x")
    srv = logserver(logdir, "--cors-origin", ORIGIN, "--cors-origin", "http://localhost:3000")
    _, headers = request(srv, "GET", "/api/files", {"Origin": ORIGIN})
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-credentials"] == "true"
    status, headers = request(srv, "OPTIONS", "/api/stream/a.log", {
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "last-event-id, authorization"})
    assert status == 200
    assert headers["access-control-allow-origin"] == ORIGIN
    allowed = headers["access-control-allow-headers"].lower()
    assert "last-event-id" in allowed and "authorization" in allowed
    _, headers = request(srv, "GET", "/api/files", {"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in headers


def test_wildcard_never_comes_with_credentials(logserver, logdir):
    append(logdir / "a.log", "x")
    srv = logserver(logdir, "--cors-origin", "*")
    _, headers = request(srv, "GET", "/api/files", {"Origin": "https://anyone.example"})
    assert headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in headers
