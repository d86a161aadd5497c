"""docs/deploy.md, exercised as far as a test can: its nginx block runs for real in
front of logstream, over TLS with a self-signed certificate (events pass through
unbuffered, Last-Event-ID reaches the server, idle streams survive); its systemd
unit passes ``systemd-analyze verify``, and its install commands agree with the
unit (the user, the group, the token file's owner, mode and path); its settings
for slow clients cut a dripped head and bound the streams per address; with
--trusted-proxies 1, the login cookie is Secure over https and --max-per-ip counts
browsers, not nginx."""

import http.client
import json
import os
import re
import shlex
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SSEClient, append, free_port, wait_for


def nginx_block() -> str:
    text = (ROOT / "docs" / "deploy.md").read_text()
    return re.search(r"```nginx\n(.*?)```", text, re.S).group(1)


def slow_client_block() -> tuple[str, str]:
    """docs/deploy.md's second nginx block: its ``http`` part and its ``server`` part."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    block = re.findall(r"```nginx\n(.*?)```", text, re.S)[1]
    http, _, server = block.partition("# server { }")
    return http, server


def run_nginx(binary: str, tmp_path, http_body: str) -> subprocess.Popen:
    """nginx in the foreground with ``http_body`` inside its ``http { }``, its
    files under ``tmp_path``; the caller terminates it."""
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
            {http_body}
        }}""")
    return subprocess.Popen([binary, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                            stderr=subprocess.PIPE)


@pytest.fixture
def nginx(tmp_path):
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not shutil.which(binary):
        pytest.fail("nginx is not installed (./run.sh test installs it)")

    def start(upstream_port: int, http_extra: str = "", server_extra: str = "") -> int:
        port = free_port()
        cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                        "-days", "1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
        block = nginx_block()
        assert "listen 443 ssl;" in block and "ssl_certificate " in block and "ssl_certificate_key " in block
        block = block.replace("127.0.0.1:8080", f"127.0.0.1:{upstream_port}")
        block = block.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;\n{server_extra}")
        block = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", block)
        block = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", block)
        procs.append(run_nginx(binary, tmp_path, f"{http_extra}\n{block}"))
        return port

    procs: list[subprocess.Popen] = []
    yield start
    for p in procs:
        p.terminate()
        p.wait(10)
        p.stderr.close()


TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate


def test_stream_through_the_documented_nginx_block(logserver, logdir, nginx):
    append(logdir / "app.log", "one")
    srv = logserver(logdir, "--base-path", "/logs", "--heartbeat", "1")
    port = nginx(srv.port)

    def connect():
        try:
            return SSEClient(port, "/logs/api/stream/app.log", None, 10, tls=TLS)
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
    r = SSEClient(port, "/logs/api/stream/app.log", {"Last-Event-ID": last}, 10, tls=TLS)
    assert r.wait_lines(1) == ["three"]
    r.close()
    viewer = SSEClient(port, "/logs/", None, 10, tls=TLS)
    assert viewer.status == 200
    viewer.close()


def deploy_section(lang: str, after: str) -> str:
    """The first ```lang block of docs/deploy.md after the heading ``after``."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    return re.search(rf"```{lang}\n(.*?)```", text[text.index(after):], re.S).group(1)


def unit() -> dict[str, str]:
    return dict(line.split("=", 1) for line in deploy_section("ini", "## systemd").splitlines()
                if "=" in line and not line.startswith("#"))


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    text = deploy_section("ini", "## systemd").replace("/opt/logstream/venv/bin/logstream",
                                                       f"{sys.executable} -m logstream")
    (tmp_path / "logstream.service").write_text(text)
    done = subprocess.run([analyze, "verify", str(tmp_path / "logstream.service")], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "logstream.service" not in done.stderr, done.stderr


def test_the_install_commands_agree_with_the_unit():
    commands = []  # each simple command of the block: lines cut at pipes and &&
    for line in deploy_section("sh", "## systemd").splitlines():
        words = shlex.split(line, comments=True)
        while words:
            cut = next((i for i, w in enumerate(words) if w in ("|", "&&")), len(words))
            commands.append(words[:cut])
            words = words[cut + 1:]
    u = unit()
    useradd = next(c for c in commands if c[0] == "useradd")
    assert useradd[-1] == u["User"] and "--system" in useradd
    assert useradd[useradd.index("--groups") + 1] == u["Group"]  # the group that may read the logs
    install = next(c for c in commands if c[0] == "install" and "/dev/stdin" in c)
    assert install[install.index("-o") + 1] == u["User"] and install[install.index("-m") + 1] == "600"
    assert install[-1] == unit_environment()["LOGSTREAM_TOKEN_FILE"]


def unit_environment() -> dict[str, str]:
    lines = [line.split("=", 1)[1] for line in deploy_section("ini", "## systemd").splitlines()
             if line.startswith("Environment=")]
    return dict(line.split("=", 1) for line in lines)


def test_the_documented_token_file_is_private_and_accepted(logserver, logdir, tmp_path):
    # The documented command, run as it is but for the owner (this user) and the path.
    line = next(line for line in deploy_section("sh", "## systemd").splitlines() if "install -o" in line)
    path = tmp_path / "token"
    line = line.replace("-o logstream -g logstream", f"-o {os.getuid()} -g {os.getgid()}")
    line = line.replace(unit_environment()["LOGSTREAM_TOKEN_FILE"], str(path))
    subprocess.run(line, shell=True, check=True, timeout=30)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_uid == os.getuid()
    token = path.read_text().strip()
    srv = logserver(logdir, "--token-file", str(path))
    assert srv.get("/api/files")[0] == 401
    assert srv.get("/api/files", headers={"Authorization": f"Bearer {token}"})[0] == 200


def test_the_documented_slow_client_settings_cut_dripped_heads_and_bound_streams_per_address(
        logserver, logdir, nginx):
    append(logdir / "app.log", "one")
    srv = logserver(logdir, "--base-path", "/logs", "--heartbeat", "1")
    http, server = slow_client_block()
    for documented, quicker in (("client_header_timeout 10s;", "client_header_timeout 1s;"),
                                ("limit_conn logstream_addr 20;", "limit_conn logstream_addr 2;")):
        assert documented in server
        server = server.replace(documented, quicker)
    port = nginx(srv.port, http_extra=http, server_extra=server)

    def connect():
        try:
            return SSEClient(port, "/logs/api/stream/app.log", None, 10, tls=TLS)
        except OSError:
            return None

    streams = [wait_for(connect, timeout=10, message="nginx to listen"), connect()]
    assert [s.wait_lines(1) for s in streams] == [["one"], ["one"]]
    third = connect()
    assert third.status == 503  # a third stream from this address
    third.close()

    drip = TLS.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    drip.sendall(b"GET /logs/api/stream/app.log HTTP/1.1\r\nHost: x\r\n")
    start = time.monotonic()
    drip.settimeout(0.2)
    answer = b""
    while time.monotonic() - start < 10:
        try:
            chunk = drip.recv(65536)
        except TimeoutError:
            drip.sendall(b"X")
            continue
        except (ConnectionResetError, ssl.SSLError):
            break
        if not chunk:
            break
        answer += chunk
    assert time.monotonic() - start < 5, "nginx let the dripper go on"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer  # nginx may just close
    drip.close()
    for s in streams:
        s.close()


TOKEN = "s3cret-token-for-tests"


def https(port: int, method: str, path: str, body=None, headers=None, source: str | None = None):
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=TLS, timeout=10,
                                       source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Set-Cookie"), resp.read()
    finally:
        conn.close()


def test_login_cookie_is_secure_through_the_documented_block_over_https(logserver, logdir, nginx):
    """Issue 12, item 15: nginx terminates TLS and sends X-Forwarded-Proto: https."""
    append(logdir / "app.log", "one")
    srv = logserver(logdir, "--base-path", "/logs", "--token", TOKEN, "--trusted-proxies", "1")
    port = nginx(srv.port)

    def listening():
        try:
            return https(port, "GET", "/logs/healthz")[0] == 200
        except OSError:
            return False

    wait_for(listening, timeout=10, message="nginx to listen")
    status, cookie, _ = https(port, "POST", "/logs/api/login", json.dumps({"token": TOKEN}),
                              {"Content-Type": "application/json"})
    assert status == 200
    assert "; Secure" in cookie and "HttpOnly" in cookie and "Path=/logs/" in cookie
    status, _, body = https(port, "GET", "/logs/api/session", headers={"Cookie": cookie.split(";")[0]})
    assert status == 200 and json.loads(body)["authenticated"]
    status, deleted, _ = https(port, "POST", "/logs/api/logout", headers={"Cookie": cookie.split(";")[0]})
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
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=TLS, timeout=10, source_address=(source, 0))
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
