"""docs/deploy.md's nginx block, run for real in front of logstream: events pass
through unbuffered, Last-Event-ID reaches the server, idle streams survive; with
--trusted-proxies 1, the login cookie is Secure over https and --max-per-ip counts
browsers, not nginx."""

import http.client
import json
import re
import shutil
import ssl
import subprocess

import pytest

from conftest import ROOT, SSEClient, append, free_port, wait_for


def nginx_block() -> str:
    text = (ROOT / "docs" / "deploy.md").read_text()
    return re.search(r"```nginx\n(.*?)```", text, re.S).group(1)


@pytest.fixture
def nginx(tmp_path):
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not shutil.which(binary):
        pytest.fail("nginx is not installed (./run.sh test installs it)")

    def start(upstream_port: int, tls: tuple | None = None) -> int:
        """nginx on a free loopback port in front of ``upstream_port``; over
        https with ``tls`` = (certificate, key)."""
        port = free_port()
        listen = f"127.0.0.1:{port}" + (f" ssl; ssl_certificate {tls[0]}; ssl_certificate_key {tls[1]}" if tls else "")
        block = nginx_block().replace("127.0.0.1:8080", f"127.0.0.1:{upstream_port}")
        for d in ("logs", "tmp"):
            (tmp_path / d).mkdir(exist_ok=True)
        conf = tmp_path / "nginx.conf"
        conf.write_text(f"""
            worker_processes 1;
            error_log {tmp_path}/logs/error.log;
            pid {tmp_path}/nginx.pid;
            events {{ worker_connections 256; }}
            http {{
                access_log off;
                client_body_temp_path {tmp_path}/tmp;
                proxy_temp_path {tmp_path}/tmp;
                fastcgi_temp_path {tmp_path}/tmp;
                uwsgi_temp_path {tmp_path}/tmp;
                scgi_temp_path {tmp_path}/tmp;
                server {{
                    listen {listen};
                    {block}
                }}
            }}""")
        procs.append(subprocess.Popen([binary, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                                      stderr=subprocess.PIPE))
        return port

    procs: list[subprocess.Popen] = []
    yield start
    for p in procs:
        p.terminate()
        p.wait(10)
        p.stderr.close()


def test_stream_through_the_documented_nginx_block(logserver, logdir, nginx):
    append(logdir / "app.log", "one")
    srv = logserver(logdir, "--base-path", "/logs", "--heartbeat", "1")
    port = nginx(srv.port)

    def connect():
        try:
            return SSEClient(port, "/logs/api/stream/app.log", None, 10)
        except OSError:
            return None

    s = wait_for(connect, timeout=10, message="nginx to listen")
    assert s.status == 200
    assert s.wait_lines(1) == ["one"]
    append(logdir / "app.log", "two")
    assert s.wait_lines(2, timeout=5) == ["one", "two"]  # not held in a proxy buffer
    s.read_until(lambda c: "ping" in c.parser.comments, timeout=5, message="a heartbeat through the proxy")
    last = s.events[-1].last_event_id
    s.close()
    append(logdir / "app.log", "three")
    r = SSEClient(port, "/logs/api/stream/app.log", {"Last-Event-ID": last}, 10)
    assert r.wait_lines(1) == ["three"]
    r.close()
    viewer = SSEClient(port, "/logs/", None, 10)
    assert viewer.status == 200
    viewer.close()


TOKEN = "s3cret-token-for-tests"


def self_signed(tmp_path) -> tuple:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_login_cookie_is_secure_through_the_documented_block_over_https(logserver, logdir, nginx, tmp_path):
    """Issue 12, item 15: nginx terminates TLS and sends X-Forwarded-Proto: https."""
    append(logdir / "app.log", "one")
    srv = logserver(logdir, "--base-path", "/logs", "--token", TOKEN, "--trusted-proxies", "1")
    cert, key = self_signed(tmp_path)
    port = nginx(srv.port, tls=(cert, key))
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False

    def request(method, path, body=None, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.getheader("Set-Cookie"), resp.read()
        finally:
            conn.close()

    def listening():
        try:
            return request("GET", "/logs/healthz")[0] == 200
        except OSError:
            return False

    wait_for(listening, timeout=10, message="nginx to listen")
    status, cookie, _ = request("POST", "/logs/api/login", json.dumps({"token": TOKEN}),
                                {"Content-Type": "application/json"})
    assert status == 200
    assert "; Secure" in cookie and "HttpOnly" in cookie and "Path=/logs/" in cookie
    status, _, body = request("GET", "/logs/api/session", headers={"Cookie": cookie.split(";")[0]})
    assert status == 200 and json.loads(body)["authenticated"]
    status, deleted, _ = request("POST", "/logs/api/logout", headers={"Cookie": cookie.split(";")[0]})
    assert status == 200 and "; Secure" in deleted


def test_max_per_ip_counts_each_browser_behind_the_documented_block(logserver, logdir, nginx):
    """Two browsers (loopback source addresses 127.0.0.2 and 127.0.0.3) behind one
    nginx: each gets its own --max-per-ip 1; one cannot claim another address."""
    append(logdir / "app.log", "one")
    srv = logserver(logdir, "--base-path", "/logs", "--max-per-ip", "1", "--trusted-proxies", "1",
                    "--heartbeat", "1")
    port = nginx(srv.port)
    opened = []

    def open_stream(source: str, headers: dict | None = None) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
        conn.request("GET", "/logs/api/stream/app.log", headers=headers or {})
        resp = conn.getresponse()
        opened.append(conn)  # held open: the stream counts until it closes
        return resp.status

    def first():
        try:
            return open_stream("127.0.0.2")
        except OSError:
            return None

    try:
        assert wait_for(first, timeout=10, message="nginx to listen") == 200
        assert open_stream("127.0.0.3") == 200  # not nginx's address, shared by all
        assert open_stream("127.0.0.2") == 429
        assert open_stream("127.0.0.2", {"X-Forwarded-For": "127.0.0.9"}) == 429  # nginx appends the real one
    finally:
        for conn in opened:
            conn.close()
    srv.stop()
    assert "127.0.0.2 via 127.0.0.1 - - " in srv.stderr() and "127.0.0.3 via 127.0.0.1 - - " in srv.stderr()
