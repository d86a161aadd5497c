"""Connection churn and faults: aborts mid-headers and mid-stream, garbage,
half-open sockets, clients that stop reading. Afterwards the server answers
normally and holds no leaked greenlets, descriptors or tailers."""

import socket
import time

from conftest import append, metrics, wait_for

REQUESTS = [
    b"GET /api/stream/app.log HTTP/1.1\r\nHost: x\r\n\r\n",  # then abort mid-stream
    b"GET /api/stream/app.log HTTP/1.1\r\nHo",  # abort mid-headers
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage-tls-hello\r\n\r\n",
    b"GET /api/stream/app.log?lines=5&filter=(((( HTTP/1.1\r\n\r\n",
    b"NONSENSE\r\n\r\n",
    b"GET /api/files/events HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /api/stream?path=app.log&path=other.log HTTP/1.1\r\nLast-Event-ID: zz\r\n\r\n",
    b"",  # connect, then close at once
]


def test_ten_thousand_connect_abort_cycles_leave_the_server_healthy(logserver, logdir):
    log = logdir / "app.log"
    append(log, *[f"line {i}" for i in range(100)])
    append(logdir / "other.log", "o")
    srv = logserver(logdir, "--heartbeat", "1", "--write-timeout", "2")
    for _ in range(30):
        _abort(srv.port, REQUESTS[0], read=True)
    wait_for(lambda: srv.json("/healthz")[1]["subscribers"] == 0)
    base = metrics(srv)
    half_open = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(20)]  # never send a byte
    deadline = time.monotonic() + 150
    for i in range(10_000):
        request = REQUESTS[i % len(REQUESTS)]
        _abort(srv.port, request, read=i % 3 == 0 and request.endswith(b"\r\n\r\n"))
        if i % 1000 == 0:
            append(log, f"during {i}")
        assert time.monotonic() < deadline, f"only {i} cycles in the time allowed"
    s = srv.stream("/api/stream/app.log?lines=1")  # answers normally meanwhile
    assert s.wait_lines(1) == ["during 9000"]
    s.close()
    for sock in half_open:
        sock.close()
    wait_for(lambda: (h := srv.json("/healthz")[1])["subscribers"] == 0 and h["tailers"] == 0, timeout=15,
             message="every stream released")
    wait_for(lambda: (m := metrics(srv))["process_open_fds"] <= base["process_open_fds"]
             and m["logstream_greenlets"] <= base["logstream_greenlets"], timeout=15,
             message="descriptors and greenlets back to baseline")


def _abort(port: int, request: bytes, read: bool) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        if request:
            s.sendall(request)
        if read:
            s.settimeout(0.5)  # an incomplete request gets no answer: do not wait for one
            try:
                s.recv(1024)
            except OSError:
                pass
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST


def test_half_open_client_is_dropped_after_the_write_timeout(logserver, logdir):
    append(logdir / "app.log", "x")
    srv = logserver(logdir, "--write-timeout", "1", "--heartbeat", "1")
    silent = socket.create_connection(("127.0.0.1", srv.port))
    try:
        silent.settimeout(10)
        assert silent.recv(10) == b""  # the server hung up on a client that never spoke
    finally:
        silent.close()
