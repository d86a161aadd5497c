"""Clients that never finish asking (slowloris): a request head has a total
deadline however slowly its bytes come, the TLS handshake included; an idle
keep-alive connection waits no longer than that. Real sockets on loopback."""

import json
import socket
import ssl
import subprocess
import time

from conftest import append

HEAD = b"GET /api/stream/app.log HTTP/1.1\r\nHost: x\r\n"  # no blank line: the head never ends


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    """A client socket from ``source`` (any 127.x address is this host: a second client address)."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def read_to_end(sock: socket.socket, timeout: float = 10) -> bytes:
    """Everything until the server closes; fails if it has not closed within ``timeout``."""
    sock.settimeout(timeout)
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except ConnectionResetError:
        pass
    return out


def test_a_request_head_dripped_byte_by_byte_is_cut_off_at_the_deadline(logserver, logdir):
    append(logdir / "app.log", "x")
    srv = logserver(logdir, "--header-timeout", "1")  # --write-timeout stays 30 s: each byte would reset it
    sock = connect(srv.port)
    sock.sendall(HEAD)
    start = time.monotonic()
    sock.settimeout(0.2)  # the drip interval
    drip = iter(b"X-Slow: " + b"x" * 200)
    answer = b""
    while not answer and time.monotonic() - start < 10:
        try:
            answer = sock.recv(65536)
        except TimeoutError:
            sock.sendall(bytes([next(drip)]))
    elapsed = time.monotonic() - start
    answer += read_to_end(sock)
    sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer
    assert json.loads(body) == {"error": "request timeout"}
    assert elapsed < 5, f"cut off after {elapsed:.1f} s, for a 1 s deadline"


def test_a_client_that_sends_nothing_is_closed_at_the_deadline_without_an_answer(logserver, logdir):
    srv = logserver(logdir, "--header-timeout", "1")
    sock = connect(srv.port)
    start = time.monotonic()
    assert read_to_end(sock) == b""
    assert time.monotonic() - start < 5
    sock.close()


def test_a_head_sent_in_pieces_within_the_deadline_is_served(logserver, logdir):
    append(logdir / "app.log", "x")
    srv = logserver(logdir, "--header-timeout", "2")
    sock = connect(srv.port)
    for piece in (b"GET /api/stream/app.log?format=text HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n\r\n"):
        sock.sendall(piece)
        time.sleep(0.1)  # the pieces' spacing is what this test is about
    answer = b""
    sock.settimeout(10)
    while b"\r\nx\n" not in answer:  # the backlog line, in its chunk
        chunk = sock.recv(65536)
        assert chunk, answer
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_a_stream_outlives_the_header_deadline(logserver, logdir):
    append(logdir / "app.log", "x")
    srv = logserver(logdir, "--header-timeout", "1", "--heartbeat", "1")
    s = srv.stream("/api/stream/app.log")
    s.wait_lines(1)
    s.read_until(lambda c: c.raw.count(b": ping") >= 2, message="two heartbeats, past the deadline")
    append(logdir / "app.log", "later")
    assert s.wait_lines(2)[-1] == "later"


def test_an_idle_keep_alive_connection_is_closed_at_the_deadline(logserver, logdir):
    srv = logserver(logdir, "--header-timeout", "1")
    sock = connect(srv.port)
    for _ in range(2):  # keep-alive itself works: two requests on one connection
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(10)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}\n"):
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 ")
    start = time.monotonic()
    assert read_to_end(sock) == b""  # then, idle, it is closed: no 408 for a request never begun
    assert time.monotonic() - start < 5
    sock.close()


def test_a_tls_client_that_never_completes_its_handshake_is_closed_at_the_deadline(logserver, logdir, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    srv = logserver(logdir, "--tls-cert", str(cert), "--tls-key", str(key), "--header-timeout", "1")
    silent = connect(srv.port)
    half = connect(srv.port)
    half.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # the start of a ClientHello, then nothing
    start = time.monotonic()
    assert read_to_end(silent) == b"" and read_to_end(half) == b""
    assert time.monotonic() - start < 5
    silent.close()
    half.close()
    ctx = ssl.create_default_context(cafile=str(cert))  # a whole handshake still works
    ctx.check_hostname = False
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port), timeout=10)) as tls:
        tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_to_end(tls).startswith(b"HTTP/1.1 200 ")
    assert "Traceback" not in srv.stderr()
