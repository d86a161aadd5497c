"""docs/deploy.md's nginx block, run for real in front of logstream: events pass
through unbuffered, Last-Event-ID reaches the server, idle streams survive."""

import re
import shutil
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

    def start(upstream_port: int) -> int:
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
                server {{
                    listen 127.0.0.1:{port};
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
