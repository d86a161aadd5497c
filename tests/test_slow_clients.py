"""A client that stops reading is switched to catching up from the file: memory
stays bounded, and when it reads again it gets every line exactly once."""

import threading

from conftest import append, metrics, wait_for


def test_stalled_client_catches_up_from_the_file_without_loss(logserver, logdir):
    log = logdir / "app.log"
    append(log, "seq 0")
    srv = logserver(logdir, "--queue-bytes", "20000", "--heartbeat", "1")
    slow = srv.stream("/api/stream/app.log", rcvbuf=4096)
    slow.wait_lines(1)
    fast = srv.stream("/api/stream/app.log?lines=0")
    total = 120_000  # ~9 MB: more than the socket buffers and the queue can hold
    reader = threading.Thread(target=fast.wait_lines, args=(total - 1, 90), daemon=True)
    reader.start()
    for start in range(1, total, 5000):
        append(log, *[f"seq {i} " + "x" * 60 for i in range(start, min(start + 5000, total))])
    reader.join(100)
    assert len(fast.lines) == total - 1  # the healthy client was never held up
    lines = slow.wait_lines(total, timeout=90)
    wait_for(lambda: metrics(srv)["logstream_catchups_total"] >= 1, message="a catch-up")
    assert [int(line.split()[1]) for line in lines] == list(range(total))
    assert len({e.last_event_id for e in slow.events}) == total


def test_stuck_client_is_disconnected_after_write_timeout_and_resumes_by_id(logserver, logdir):
    log = logdir / "app.log"
    append(log, "seq 0")
    srv = logserver(logdir, "--write-timeout", "1", "--heartbeat", "1")
    stuck = srv.stream("/api/stream/app.log", rcvbuf=4096)
    stuck.wait_lines(1)
    healthy = srv.stream("/api/stream/app.log?lines=0")
    total = 120_000  # ~9 MB: more than the kernel's socket buffers can hide
    # The healthy client reads all along (in a thread), so it never looks stuck itself.
    reader = threading.Thread(target=healthy.wait_lines, args=(total - 1, 90), daemon=True)
    reader.start()
    for start in range(1, total, 5000):
        append(log, *[f"seq {i} " + "y" * 60 for i in range(start, min(start + 5000, total))])
    reader.join(100)
    assert len(healthy.lines) == total - 1
    wait_for(lambda: metrics(srv).get('logstream_disconnects_total{reason="write_timeout"}', 0) >= 1,
             timeout=20, message="the stuck client to be cut off")
    # What it did get, it got in order; then it resumes by id with nothing lost or repeated.
    while stuck.read_some(0.5):
        pass
    got = stuck.lines
    resumed = srv.stream("/api/stream/app.log", headers={"Last-Event-ID": stuck.parser.last_event_id})
    rest = resumed.wait_lines(total - len(got), timeout=60)
    assert [int(line.split()[1]) for line in got + rest] == list(range(total))
