"""Clients that never finish asking (slowloris): a request head has a total
deadline however slowly its bytes come, the TLS handshake included; an idle
keep-alive connection waits no longer than that; connections still sending
their head are capped in total and per address, below the descriptor limit, so
others and the streams already admitted keep their room. Real sockets on
loopback; other client addresses are other 127.x addresses."""

import json
import socket
import ssl
import subprocess
import sys
import time

import pytest

from conftest import Server, append, metrics, wait_for
from logstream.listener import share_descriptors

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


def refused(port: int, source: str = "127.0.0.1") -> int | None:
    """Open a connection and send a whole request: the refusal status (503, 429)
    if it was turned away, None if it was served."""
    sock = connect(port, source)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = read_to_end(sock, timeout=5)
    finally:
        sock.close()
    status = int(answer.split(b" ", 2)[1])
    if status == 200:
        return None
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {"error": "too many unfinished requests; try again later"}
    assert b"\r\nRetry-After: 5\r\n" in answer
    return status


def half_open(port: int, source: str) -> socket.socket:
    sock = connect(port, source)
    sock.sendall(HEAD)
    return sock


def test_half_open_connections_past_the_per_address_cap_are_refused_while_others_are_served(logserver, logdir):
    append(logdir / "app.log", "x")
    srv = logserver(logdir, "--max-unfinished-per-ip", "3")
    attack = [half_open(srv.port, "127.0.0.2") for _ in range(3)]
    wait_for(lambda: metrics(srv)["logstream_unfinished_requests"] == 3, message="three heads counted")
    for _ in range(5):  # past the cap: refused at once, never left hanging
        assert refused(srv.port, "127.0.0.2") == 429
    assert refused(srv.port, "127.0.0.1") is None  # another address: /healthz answers
    s = srv.stream("/api/stream/app.log")
    assert s.wait_lines(1) == ["x"]
    for sock in attack:
        sock.close()
    wait_for(lambda: metrics(srv)["logstream_unfinished_requests"] == 0, message="the heads uncounted")
    assert refused(srv.port, "127.0.0.2") is None
    assert metrics(srv)['logstream_rejected_requests_total{status="429"}'] == 5


def test_half_open_connections_past_the_total_cap_are_refused_and_admitted_streams_go_on(logserver, logdir):
    append(logdir / "app.log", "x")
    srv = logserver(logdir, "--max-unfinished", "4", "--max-unfinished-per-ip", "0", "--heartbeat", "1")
    s = srv.stream("/api/stream/app.log")
    s.wait_lines(1)
    attack = [half_open(srv.port, f"127.0.0.{2 + i}") for i in range(4)]
    wait_for(lambda: refused(srv.port, "127.0.0.9") == 503, message="the cap reached")
    append(logdir / "app.log", "during the attack")
    assert s.wait_lines(2)[-1] == "during the attack"
    for sock in attack:
        sock.close()
    wait_for(lambda: refused(srv.port) is None, message="/healthz answering again")
    assert srv.stream("/api/stream/app.log?lines=1").wait_lines(1) == ["during the attack"]


def lowered_fd_limit(limit: int) -> tuple[str, ...]:
    """A launcher that starts the server with ``limit`` file descriptors (soft and hard)."""
    return (sys.executable, "-c", "import os, resource, sys; "
            f"resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit})); os.execv(sys.argv[1], sys.argv[1:])")


def test_at_a_low_descriptor_limit_a_flood_of_half_open_connections_leaves_room_for_others(logdir):
    append(logdir / "app.log", "x")
    srv = Server(logdir, ("--heartbeat", "1"), launcher=lowered_fd_limit(256))  # caps at their defaults
    try:
        s = srv.stream("/api/stream/app.log")
        s.wait_lines(1)
        attack = [half_open(srv.port, "127.0.0.2") for _ in range(300)]  # more than the descriptors
        wait_for(lambda: refused(srv.port, "127.0.0.2"), message="the attacker refused")
        assert refused(srv.port) is None  # /healthz answers during the attack
        assert srv.stream("/api/stream/app.log?lines=1").wait_lines(1) == ["x"]
        append(logdir / "app.log", "during the attack")
        assert s.wait_lines(2)[-1] == "during the attack"
        for sock in attack:
            sock.close()
    finally:
        srv.stop()
    log = srv.stderr()
    assert "--max-unfinished lowered to 48 (file descriptor limit 256)" in log
    assert "Traceback" not in log and "Too many open files" not in log


def answers(port: int) -> bool:
    """/healthz answers 200 within a few seconds."""
    try:
        return refused(port) is None
    except OSError:  # not accepted yet (a timeout), or reset
        return False


def test_when_descriptors_run_out_accepting_backs_off_quietly_and_recovers_by_itself(logdir):
    append(logdir / "app.log", "x")
    # The caps lifted, as behind a proxy that does this work: only the accept loop stands.
    args = ("--max-unfinished", "0", "--max-unfinished-per-ip", "0", "--header-timeout", "60")
    srv = Server(logdir, args, launcher=lowered_fd_limit(128))
    try:
        attack = []
        for _ in range(200):  # 128 descriptors, and the kernel's listen queue (128) behind them
            sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            sock.sendall(HEAD)
            attack.append(sock)
        wait_for(lambda: "cannot accept connections" in srv.stderr(), message="the server out of descriptors")
        for sock in attack:
            sock.close()
        wait_for(lambda: answers(srv.port), timeout=20, message="/healthz answering")
        assert srv.stream("/api/stream/app.log").wait_lines(1) == ["x"]
    finally:
        srv.stop()
    log = srv.stderr()
    assert "Traceback" not in log
    assert log.count("cannot accept connections: Too many open files") == 1, log[-3000:]
    assert "accepting connections again: every waiting client taken" in log


@pytest.mark.parametrize("limit, asked, caps", [
    (20000, (10000, 1000, 100), (10000, 1000, 100)),  # room for all: nothing lowered
    (512, (10000, 1000, 100), (336, 112, 56)),  # the case: a quarter of 448 for heads, the rest streams
    (256, (10000, 1000, 100), (144, 48, 24)),
    (512, (10000, 0, 0), (448, 0, 0)),  # no cap on heads: streams get all the room, as before
    (20000, (10000, 10, 10), (10000, 10, 5)),  # one address at most half of the heads
    (10, (10000, 1000, 100), (1, 1, 1)),
])
def test_descriptors_are_shared_between_unfinished_heads_and_streams(limit, asked, caps):
    assert share_descriptors(limit, *asked) == caps
