"""An idle stream holds no greenlet (logstream/parking.py): its connection
greenlet ends once it is caught up, the socket stays open, and the stream still
gets every line and its heartbeats, is released at once when its client hangs up,
and a parked client that stops reading holds up nobody else."""

import socket
import threading

import pytest

from conftest import append, metrics, wait_for
from logstream.parking import TERMINATOR, ParkedConnection

STREAMS = 20


def greenlets(srv) -> float:
    return metrics(srv)["logstream_greenlets"]


def test_idle_streams_hold_no_greenlet_yet_get_lines_and_heartbeats(logserver, logdir):
    log = logdir / "app.log"
    append(log, "before")
    srv = logserver(logdir, "--heartbeat", "1")
    warm = srv.stream("/api/stream/app.log")  # the tailer and the pinger are running
    warm.wait_lines(1)
    base = greenlets(srv)
    # format=text with no backlog has no byte to send: it parks all the same (its head sent).
    kinds = ["/api/stream/app.log", "/api/stream/app.log?format=text&lines=0", "/api/stream?path=app.log&path=b.log"]
    append(logdir / "b.log", "b")
    paths = [kinds[i % 3] for i in range(STREAMS)]
    clients = [srv.stream(path) for path in paths]
    for c in clients:
        c.read_until(lambda c: b"caught up" in c.raw or not c.raw, message="caught up")
    # Not one greenlet per idle stream (before parking: one each, 20 more).
    wait_for(lambda: greenlets(srv) < base + 3, timeout=5, message="the streams to park")
    for path, c in zip(paths, clients, strict=True):
        if "format=text" not in path:  # plain text has no comments
            c.read_until(lambda c: b": ping" in c.raw, message="a heartbeat")
    append(log, "after")
    for c in clients:
        c.read_until(lambda c: b"after\n" in c.raw, message="the line appended while parked")
    sse = [c for path, c in zip(paths, clients, strict=True) if "format=text" not in path]
    assert [sum(line.endswith("after") for line in c.lines) for c in sse] == [1] * len(sse)  # merged: "app.log\nafter"
    wait_for(lambda: greenlets(srv) < base + 3, timeout=5, message="the streams to park again")
    for c in clients:
        c.close()
    wait_for(lambda: metrics(srv)["logstream_open_streams"] == 1, timeout=5, message="every parked slot freed")
    assert srv.json("/healthz")[1]["subscribers"] == 1


def test_a_parked_client_that_stops_reading_holds_up_nobody(logserver, logdir):
    log = logdir / "app.log"
    append(log, "seq 0")
    srv = logserver(logdir, "--write-timeout", "2", "--heartbeat", "1", "--queue-bytes", "20000")
    warm = srv.stream("/api/stream/app.log")  # the tailer and the pinger are running
    warm.wait_lines(1)
    base = greenlets(srv)  # with one stream open
    stuck = srv.stream("/api/stream/app.log", rcvbuf=4096)
    stuck.wait_lines(1)
    healthy = srv.stream("/api/stream/app.log?lines=0")
    healthy.read_until(lambda c: b"caught up" in c.raw, message="caught up")
    warm.close()  # it would stop reading too
    wait_for(lambda: metrics(srv)["logstream_open_streams"] == 2, timeout=5, message="the first one gone")
    wait_for(lambda: greenlets(srv) <= base, timeout=5, message="both streams parked")
    total = 60_000  # ~4 MB: more than the socket buffers hold
    reader = threading.Thread(target=healthy.wait_lines, args=(total - 1, 90), daemon=True)
    reader.start()
    for start in range(1, total, 5000):
        append(log, *[f"seq {i} " + "z" * 60 for i in range(start, min(start + 5000, total))])
    reader.join(100)
    assert [int(line.split()[1]) for line in healthy.lines] == list(range(1, total))
    wait_for(lambda: metrics(srv).get('logstream_disconnects_total{reason="write_timeout"}', 0) >= 1,
             timeout=20, message="the stuck client to be cut off")
    wait_for(lambda: metrics(srv)["logstream_open_streams"] == 1, timeout=5, message="its slot freed")
    wait_for(lambda: greenlets(srv) <= base, timeout=5, message="the healthy stream to park again")


def test_a_parked_connection_keeps_what_a_send_left_and_ends_with_the_last_chunk():
    # In-process, over a real socket pair: the parts a parked stream's socket work is made of.
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    conn = ParkedConnection(ours.detach(), chunked=True, write_timeout=0.2)
    try:
        big = b"x" * 1_000_000
        sent = conn.send_nowait(big)  # never blocks: the socket takes what fits
        assert sent is not None and conn.pending and not conn.ready_to_send_nowait()
        with pytest.raises(TimeoutError):
            conn.flush_pending()  # nobody reads: cut off after the write timeout
    finally:
        conn.close(finished=False)
        theirs.close()

    ours, theirs = socket.socketpair()
    conn = ParkedConnection(ours.detach(), chunked=True, write_timeout=1)
    assert conn.send_nowait(b"data: a\n\n") == len(b"9\r\ndata: a\n\n\r\n") and not conn.pending
    assert not conn.peer_gone()
    conn.close(finished=True)
    received = b""
    while chunk := theirs.recv(65536):
        received += chunk
    assert received == b"9\r\ndata: a\n\n\r\n" + TERMINATOR
    theirs.close()

    ours, theirs = socket.socketpair()
    conn = ParkedConnection(ours.detach(), chunked=False, write_timeout=1)
    theirs.close()
    assert conn.peer_gone()  # a client that hung up reads as end-of-file
    conn.close(finished=True)
