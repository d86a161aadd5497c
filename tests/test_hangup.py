"""A client that closes an idle stream gives back its slot at once: its socket
turns readable (EOF) and the server is woken by it, not by the next heartbeat.
A burst of reconnecting browsers can then never lock everyone out."""

import os
import time

from conftest import append, metrics, wait_for

IDLE = ("--heartbeat", "60")  # the heartbeat cannot be what notices the hang-ups here


def test_closed_idle_streams_free_their_slots_before_any_heartbeat(logserver, logdir):
    # The case: 26 streams at --max-connections 20 (6 refused), all closed.
    append(logdir / "app.log", "x")
    srv = logserver(logdir, "--max-connections", "20", *IDLE)
    clients = [srv.stream("/api/stream/app.log") for _ in range(26)]
    assert sorted(c.status for c in clients) == [200] * 20 + [503] * 6
    for c in clients:
        if c.status == 200:
            c.wait_lines(1)
    for c in clients:
        c.close()
    wait_for(lambda: metrics(srv)["logstream_open_streams"] == 0, timeout=5, message="every slot freed")
    assert srv.json("/healthz")[1]["subscribers"] == 0
    assert srv.stream("/api/stream/app.log").wait_lines(1) == ["x"]


def test_closed_file_list_streams_free_their_slots_too(logserver, logdir):
    srv = logserver(logdir, "--max-connections", "3", *IDLE)
    lists = [srv.stream("/api/files/events") for _ in range(3)]
    for c in lists:
        c.read_until(lambda c: c.of_type("snapshot"), message="the snapshot")
    assert srv.get("/api/files/events")[0] == 503
    for c in lists:
        c.close()
    wait_for(lambda: metrics(srv)["logstream_file_list_streams"] == 0, timeout=5, message="listeners freed")
    again = srv.stream("/api/files/events")
    assert again.status == 200


def test_a_text_stream_and_a_merged_stream_are_released_at_once_too(logserver, logdir):
    append(logdir / "a.log", "a")
    append(logdir / "b.log", "b")
    srv = logserver(logdir, *IDLE)
    text = srv.stream("/api/stream/a.log?format=text")
    merged = srv.stream("/api/stream?path=a.log&path=b.log")
    merged.wait_lines(2)
    text.read_until(lambda c: b"a\n" in c.raw, message="the text line")
    text.close()
    merged.close()
    wait_for(lambda: metrics(srv)["logstream_open_streams"] == 0, timeout=5, message="both released")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_client_that_sends_bytes_after_its_request_keeps_its_stream_and_no_cpu(logserver, logdir):
    # Readable with data, not EOF: the stream goes on, and the server must not spin
    # on a socket that stays readable.
    log = logdir / "app.log"
    append(log, "x")
    srv = logserver(logdir, *IDLE)
    s = srv.stream("/api/stream/app.log")
    s.wait_lines(1)
    s.sock.sendall(b"unexpected bytes")
    before, start = cpu_seconds(srv.proc.pid), time.monotonic()
    deadline = start + 1.0
    while time.monotonic() < deadline:
        s.read_some(0.1)
    used = cpu_seconds(srv.proc.pid) - before
    assert used < 0.5, f"the server burned {used:.2f} s of CPU in 1 s: it spins on a readable socket"
    append(log, "y")
    assert s.wait_lines(2)[-1] == "y"
