"""One tailer per file however many clients; each batch encoded once; everything
a client held is released when it goes, also after 1,000 connect/disconnect cycles."""

import socket
import time

from conftest import append, metrics, wait_for


def health(server):
    return server.json("/healthz")[1]


def test_one_tailer_per_file_started_by_first_and_stopped_after_last(server, logdir):
    append(logdir / "a.log", "a")
    append(logdir / "b.log", "b")
    clients = [server.stream("/api/stream/a.log") for _ in range(5)] + [server.stream("/api/stream/b.log")]
    for c in clients:
        c.wait_lines(1)
    assert health(server)["tailers"] == 2
    assert health(server)["subscribers"] == 6
    m = metrics(server)
    assert m['logstream_subscribers{file="a.log"}'] == 5
    for c in clients[:5]:
        c.close()
    wait_for(lambda: health(server)["tailers"] == 1, message="a.log's tailer to stop")
    clients[5].close()
    wait_for(lambda: health(server)["tailers"] == 0, message="b.log's tailer to stop")


def test_each_batch_is_encoded_once_for_all_clients_with_the_same_view(server, logdir):
    log = logdir / "app.log"
    append(log, "x")
    clients = [server.stream("/api/stream/app.log?lines=0") for _ in range(10)]
    filtered = [server.stream("/api/stream/app.log?lines=0&filter=hello") for _ in range(3)]
    wait_for(lambda: health(server)["subscribers"] == 13)
    before = metrics(server)["logstream_batch_encodings_total"]
    append(log, "hello world")
    for c in clients + filtered:
        assert c.wait_lines(1) == ["hello world"]
    assert metrics(server)["logstream_batch_encodings_total"] - before == 2  # one per distinct filter


def test_idle_client_that_hangs_up_is_released_by_the_next_heartbeat(server, logdir):
    append(logdir / "app.log", "x")
    c = server.stream("/api/stream/app.log")
    c.wait_lines(1)
    assert health(server)["subscribers"] == 1
    c.close()
    wait_for(lambda: health(server)["subscribers"] == 0, timeout=5, message="subscriber released")
    assert health(server)["tailers"] == 0


def _cycle(port: int, path: str, read_first: bool) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        if read_first:
            s.recv(4096)


def test_thousand_connect_disconnect_cycles_leak_nothing(server, logdir):
    log = logdir / "app.log"
    append(log, *[f"line {i}" for i in range(200)])
    for _ in range(50):  # warm up caches and pools before the baseline
        _cycle(server.port, "/api/stream/app.log", True)
    wait_for(lambda: health(server)["subscribers"] == 0)
    base = metrics(server)
    deadline = time.monotonic() + 120
    for i in range(1000):
        _cycle(server.port, "/api/stream/app.log" if i % 3 else "/api/stream/app.log?lines=0", i % 2 == 0)
        if i % 100 == 0:
            append(log, f"during {i}")
        assert time.monotonic() < deadline
    wait_for(lambda: health(server)["subscribers"] == 0 and health(server)["tailers"] == 0, timeout=10,
             message="all subscribers released")
    # Handlers of the last few connections may still be finishing: poll until settled.
    after = wait_for(lambda: (m := metrics(server))["process_open_fds"] <= base["process_open_fds"]
                     and m["logstream_greenlets"] <= base["logstream_greenlets"] and m,
                     timeout=10, message="descriptors and greenlets back to baseline")
    grown = after["process_resident_memory_bytes"] - base["process_resident_memory_bytes"]
    assert grown < 16 * 1024 * 1024, f"RSS grew by {grown / 1e6:.1f} MB"
    # And the server still answers normally.
    c = server.stream("/api/stream/app.log?lines=1")
    assert c.wait_lines(1) == ["during 900"]
