"""docs/deploy.md's nginx blocks, run for real in front of logstream: events pass
through unbuffered, Last-Event-ID reaches the server, idle streams survive; the
slow-client settings cut a dripped head and bound the streams per address."""

import re
import shutil
import socket
import subprocess
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


@pytest.fixture
def nginx(tmp_path):
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not shutil.which(binary):
        pytest.fail("nginx is not installed (./run.sh test installs it)")

    def start(upstream_port: int, http_extra: str = "", server_extra: str = "") -> int:
        port = free_port()
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
                {http_extra}
                server {{
                    listen 127.0.0.1:{port};
                    {server_extra}
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
            return SSEClient(port, "/logs/api/stream/app.log", None, 10)
        except OSError:
            return None

    streams = [wait_for(connect, timeout=10, message="nginx to listen"), connect()]
    assert [s.wait_lines(1) for s in streams] == [["one"], ["one"]]
    third = connect()
    assert third.status == 503  # a third stream from this address
    third.close()

    drip = socket.create_connection(("127.0.0.1", port), timeout=10)
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
        except ConnectionResetError:
            break
        if not chunk:
            break
        answer += chunk
    assert time.monotonic() - start < 5, "nginx let the dripper go on"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer  # nginx may just close
    drip.close()
    for s in streams:
        s.close()
