"""The server's own log on stderr: one access line per request under
``logstream.access``, pywsgi's complaints about a malformed request under
``logstream.http``, both at INFO and neither with a token in it, and
--log-level (or LOGSTREAM_LOG_LEVEL) decides what is shown."""

import re
import socket

import pytest

from conftest import wait_for


def send_raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(4096)


def test_requests_go_to_the_access_log_and_malformed_ones_to_the_http_log(server):
    server.get("/healthz")
    assert send_raw(server.port, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400")
    access = re.compile(r'INFO logstream\.access: 127\.0\.0\.1 - - .*"GET /healthz HTTP/1\.1" 200')
    http = re.compile(r"INFO logstream\.http: .*Invalid HTTP method: 'NONSENSE")
    wait_for(lambda: access.search(server.stderr()) and http.search(server.stderr()), message="both log lines")


TOKEN = "s3cret-token-for-logs"


@pytest.mark.parametrize("request_line", [
    f"GET /api/files?access_token={TOKEN} HTTP/9.9",  # pywsgi quotes the whole line in its complaint
    f"POST /api/files?lines=1&access_token={TOKEN}",  # quoted twice: as the path and whole
])
def test_a_malformed_request_is_logged_without_its_token(logserver, logdir, request_line):
    srv = logserver(logdir, "--token", TOKEN, "--query-token")
    assert send_raw(srv.port, request_line.encode() + b"\r\n\r\n").startswith(b"HTTP/1.1 400")
    wait_for(lambda: "access_token=***" in srv.stderr(), message="the masked line")
    srv.stop()
    assert TOKEN not in srv.stderr()


@pytest.mark.parametrize("how", ["flag", "env"])
def test_log_level_hides_the_info_lines(logserver, logdir, how):
    srv = (logserver(logdir, "--log-level", "WARNING") if how == "flag"
           else logserver(logdir, env={"LOGSTREAM_LOG_LEVEL": "WARNING"}))
    srv.get("/healthz")
    srv.stop()
    assert "INFO" not in srv.stderr()
