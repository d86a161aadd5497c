"""Downloads (/api/download/<path>): the whole file as an attachment under its own
name (RFC 6266), resumable (Range, ETag, conditional requests), and exactly the
bytes its headers promise, even when the file grows, is rotated or is truncated
while it is sent."""

import http.client
import os
import socket
import time
import urllib.parse

import pytest
from werkzeug.http import parse_options_header

from conftest import append


def download(server, path: str, headers: dict | None = None, method: str = "GET"):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, "/api/download/" + urllib.parse.quote(path), headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("name", ["日志.log", "café.log", 'quote"back\\slash.log', "semi;comma,space .log",
                                  "plain.log"])
def test_download_names_the_file_with_rfc6266_filename_star_and_an_ascii_fallback(server, logdir, name):
    append(logdir / name, "content")
    status, headers, body = download(server, name)
    assert status == 200 and body == b"content\n"
    disposition, params = parse_options_header(headers["content-disposition"])
    assert disposition == "attachment"
    assert params["filename"] == name  # Werkzeug reads filename* (UTF-8) over the fallback
    headers["content-disposition"].encode("ascii")  # a header is Latin-1 at most; this one is ASCII
    if not name.isascii():
        assert "filename*=UTF-8''" in headers["content-disposition"]


def test_download_headers_type_and_validators(server, logdir):
    append(logdir / "app.log", "x")
    (logdir / "old.log.2.gz").write_bytes(b"\x1f\x8b not really gzip")
    status, headers, _ = download(server, "app.log")
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["accept-ranges"] == "bytes" and headers["etag"] and headers["last-modified"]
    assert headers["content-length"] == "2"
    status, headers, _ = download(server, "old.log.2.gz")
    assert headers["content-type"] == "application/gzip" and "content-encoding" not in headers


def test_download_resumes_with_range_and_revalidates_with_etag(server, logdir):
    log = logdir / "app.log"
    log.write_bytes(bytes(range(256)) * 4)
    status, headers, body = download(server, "app.log", {"Range": "bytes=1000-"})
    assert status == 206 and body == log.read_bytes()[1000:]
    assert headers["content-range"] == "bytes 1000-1023/1024"
    etag = download(server, "app.log", method="HEAD")[1]["etag"]
    assert download(server, "app.log", {"If-None-Match": etag})[0] == 304
    status, _, body = download(server, "app.log", {"Range": "bytes=0-9", "If-Range": etag})
    assert (status, body) == (206, log.read_bytes()[:10])
    append(log, "grown")  # another representation now: a resume must start over
    status, _, body = download(server, "app.log", {"Range": "bytes=0-9", "If-Range": etag})
    assert status == 200 and body == log.read_bytes()
    status, headers, body = download(server, "app.log", {"Range": "bytes=5000-"})
    assert status == 416 and headers["content-range"] == "bytes */1030"


def test_download_head_sends_the_headers_only(server, logdir):
    append(logdir / "app.log", "abc")
    status, headers, body = download(server, "app.log", method="HEAD")
    assert (status, headers["content-length"], body) == (200, "4", b"")


def test_a_file_growing_during_a_download_sends_exactly_its_content_length(server, logdir):
    # A live log grows while it is sent: what was there at the start goes out, and
    # the connection stays usable (extra bytes would be read as the next response).
    log = logdir / "app.log"
    log.write_bytes(b"x" * (8 << 20))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/api/download/app.log")
        resp = conn.getresponse()
        first = resp.read(1 << 20)
        append(log, raw=b"y" * (1 << 20))
        body = first + resp.read()
        assert len(body) == 8 << 20 and body.count(b"y") == 0
        conn.request("GET", "/api/files")  # the same kept-alive connection
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def raw_download(server, path: str) -> tuple[socket.socket, int, bytes]:
    """A slow reader: a socket with a small receive window, after the headers."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(f"GET /api/download/{path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(65536)
    head, rest = buffer.split(b"\r\n\r\n", 1)
    length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")][0].split(b":")[1])
    return sock, length, rest


def read_to_eof(sock, got: int, deadline: float) -> tuple[int, bool]:
    """Read until the server closes; (bytes, closed) or (bytes, False) at the deadline."""
    sock.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 20)
        except TimeoutError:
            continue
        if not chunk:
            return got, True
        got += len(chunk)
    return got, False


def test_a_file_truncated_during_a_download_ends_the_transfer_at_once_as_incomplete(server, logdir):
    # The file is larger than what loopback's socket buffers hold (the server's send
    # buffer grows to 4 MiB), so the server is still reading it when it is truncated.
    log = logdir / "big.log"
    log.write_bytes(b"z" * (32 << 20))
    sock, length, got = raw_download(server, "big.log")
    try:
        assert length == 32 << 20
        got = len(got)
        while got < 1 << 20:
            got += len(sock.recv(65536))
        os.truncate(log, 0)  # copytruncate while a slow client downloads
        got, closed = read_to_eof(sock, got, time.monotonic() + 10)
        assert closed, "the connection stayed open: the client waits forever for the promised bytes"
        assert got < length  # short of its Content-Length: the client knows it is incomplete
    finally:
        sock.close()


def test_a_file_rotated_during_a_download_is_sent_whole(server, logdir):
    log = logdir / "app.log"
    content = os.urandom(8 << 20)
    log.write_bytes(content)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/api/download/app.log")
        resp = conn.getresponse()
        first = resp.read(1 << 20)
        os.rename(log, logdir / "app.log.1")  # logrotate's move: the download reads on from the same file
        append(log, "new file")
        assert first + resp.read() == content
    finally:
        conn.close()
