"""Behind a reverse proxy (--trusted-proxies N): the client's scheme and address
come from the proxy's X-Forwarded-Proto and X-Forwarded-For, so the login cookie is
Secure whenever the browser speaks https, --max-per-ip counts browsers rather than
the proxy, and the access log names the client. Without the setting (the default)
those headers are ignored: a client reaching logstream directly cannot spoof them.

The headers are sent here directly, as the proxy would; tests/test_deploy.py does
the same through the documented nginx block."""

import http.client
import json

import pytest

from conftest import append, wait_for

TOKEN = "s3cret-token-for-tests"
HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def post(server, path, body=None, headers=None) -> tuple[int, list[str]]:
    """POST ``body`` as JSON; the status and every Set-Cookie header."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", path, body=json.dumps(body or {}),
                     headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        resp.read()
        return resp.status, [v for k, v in resp.getheaders() if k.lower() == "set-cookie"]
    finally:
        conn.close()


def attributes(cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}


@pytest.fixture
def proxied(logserver, logdir):
    """A guarded server under /logs that believes one proxy."""
    append(logdir / "app.log", "hello")
    return logserver(logdir, "--token", TOKEN, "--base-path", "/logs", "--trusted-proxies", "1", "--heartbeat", "1")


def test_login_and_logout_cookies_are_secure_when_the_proxy_says_https(proxied):
    status, [cookie] = post(proxied, "/logs/api/login", {"token": TOKEN}, HTTPS)
    assert status == 200
    assert {"secure", "httponly", "samesite", "path"} <= attributes(cookie)
    assert "Path=/logs/" in cookie
    session = cookie.split(";")[0]
    assert proxied.json("/logs/api/session", headers={"Cookie": session, **HTTPS})[1]["authenticated"]
    status, [deleted] = post(proxied, "/logs/api/logout", None, {"Cookie": session, **HTTPS})
    assert status == 200 and "secure" in attributes(deleted) and "Max-Age=0" in deleted


def test_base_path_stays_ours_behind_the_proxy(proxied):
    """X-Forwarded-Prefix and -Host are not believed (--base-path says where the
    app lives), and the base path's redirect is relative: it keeps the browser's
    https origin whatever logstream sees."""
    status, headers, _ = proxied.get("/logs", headers=HTTPS)
    assert status == 308 and headers["location"] == "/logs/"
    forged = {**HTTPS, "X-Forwarded-Prefix": "/elsewhere", "X-Forwarded-Host": "evil.example"}
    status, [cookie] = post(proxied, "/logs/api/login", {"token": TOKEN}, forged)
    assert status == 200 and "Path=/logs/" in cookie and "Domain" not in cookie


@pytest.mark.parametrize("headers", [{"X-Forwarded-Proto": "http"}, {}], ids=["proxy-says-http", "no-header"])
def test_cookie_is_not_secure_when_the_client_spoke_plain_http(proxied, headers):
    status, [cookie] = post(proxied, "/logs/api/login", {"token": TOKEN}, headers)
    assert status == 200 and "secure" not in attributes(cookie)


def test_without_trusted_proxies_forwarded_headers_are_ignored(logserver, logdir):
    append(logdir / "app.log", "hello")
    srv = logserver(logdir, "--token", TOKEN, "--max-per-ip", "1", "--heartbeat", "1")
    status, [cookie] = post(srv, "/api/login", {"token": TOKEN}, HTTPS)
    assert status == 200 and "secure" not in attributes(cookie)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    first = srv.stream("/api/stream/app.log", headers={**auth, "X-Forwarded-For": "198.51.100.1"})
    assert first.wait_lines(1) == ["hello"]
    # Another X-Forwarded-For from the same socket peer is the same client.
    status, headers, _ = srv.get("/api/stream/app.log", headers={**auth, "X-Forwarded-For": "198.51.100.2"})
    assert status == 429 and headers["retry-after"]
    srv.stop()
    log = srv.stderr()
    assert "GET /api/stream/app.log" in log
    assert "198.51.100" not in log and " via " not in log  # the access log names the socket's peer only


def test_max_per_ip_counts_each_forwarded_client_not_the_proxy(logserver, logdir):
    append(logdir / "app.log", "hello")
    srv = logserver(logdir, "--max-per-ip", "1", "--trusted-proxies", "1", "--heartbeat", "1")
    a = srv.stream("/api/stream/app.log", headers={"X-Forwarded-For": "198.51.100.1"})
    b = srv.stream("/api/stream/app.log", headers={"X-Forwarded-For": "198.51.100.2"})
    assert a.wait_lines(1) == ["hello"] and b.wait_lines(1) == ["hello"]
    assert a.status == b.status == 200
    # A second stream of client 1, whatever it claims before the proxy's value: the
    # proxy appends the address it saw, and only that last value is believed.
    for claimed in ("198.51.100.1", "198.51.100.9, 198.51.100.1"):
        status, headers, _ = srv.get("/api/stream/app.log", headers={"X-Forwarded-For": claimed})
        assert status == 429 and headers["retry-after"]
    # The file list's event stream is admitted by the same address.
    status, _, _ = srv.get("/api/files/events", headers={"X-Forwarded-For": "198.51.100.1"})
    assert status == 429
    a.close()
    wait_for(lambda: srv.json("/healthz")[1]["subscribers"] == 1, message="client 1's stream released")
    again = srv.stream("/api/stream/app.log", headers={"X-Forwarded-For": "198.51.100.1"})
    assert again.status == 200 and again.wait_lines(1) == ["hello"]
    srv.stop()
    log = srv.stderr()
    assert "198.51.100.1 via 127.0.0.1 - - " in log and "198.51.100.2 via 127.0.0.1 - - " in log


def test_two_trusted_proxies_take_the_second_to_last_address(logserver, logdir):
    append(logdir / "app.log", "hello")
    srv = logserver(logdir, "--max-per-ip", "1", "--trusted-proxies", "2", "--heartbeat", "1")
    # CDN saw 198.51.100.1 and appended it; nginx appended the CDN's address.
    first = srv.stream("/api/stream/app.log", headers={"X-Forwarded-For": "10.9.9.9, 198.51.100.1, 192.0.2.50"})
    assert first.wait_lines(1) == ["hello"]
    other = srv.stream("/api/stream/app.log", headers={"X-Forwarded-For": "198.51.100.2, 192.0.2.50"})
    assert other.status == 200 and other.wait_lines(1) == ["hello"]
    status, _, _ = srv.get("/api/stream/app.log", headers={"X-Forwarded-For": "198.51.100.1, 192.0.2.51"})
    assert status == 429

