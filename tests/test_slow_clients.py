"""A client that stops reading is switched to catching up from the file: memory
stays bounded, and when it reads again it gets every line exactly once."""

from conftest import append, metrics, wait_for


def test_stalled_client_catches_up_from_the_file_without_loss(logserver, logdir):
    log = logdir / "app.log"
    append(log, "seq 0")
    srv = logserver(logdir, "--queue-bytes", "20000", "--heartbeat", "1")
    slow = srv.stream("/api/stream/app.log", rcvbuf=4096)
    slow.wait_lines(1)
    fast = srv.stream("/api/stream/app.log?lines=0")
    total = 20_000
    for start in range(1, total, 2000):  # ~1.4 MB: far more than the small window and the queue
        append(log, *[f"seq {i} " + "x" * 60 for i in range(start, min(start + 2000, total))])
    fast.wait_lines(total - 1, timeout=60)  # the healthy client was never held up
    wait_for(lambda: metrics(srv)["logstream_catchups_total"] >= 1, message="a catch-up")
    lines = slow.wait_lines(total, timeout=60)
    assert [int(line.split()[1]) for line in lines] == list(range(total))
    assert len({e.last_event_id for e in slow.events}) == total
