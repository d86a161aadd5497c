"""SIGTERM/SIGINT: stop accepting, tell open streams, stop watching, exit within
two seconds; clients then resume by id."""

import signal
import time

import pytest

from conftest import append


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_tells_streams_and_exits_promptly(logserver, logdir, sig):
    append(logdir / "app.log", "a")
    srv = logserver(logdir, "--heartbeat", "30")
    streams = [srv.stream("/api/stream/app.log") for _ in range(20)] + [srv.stream("/api/files/events")]
    for s in streams[:-1]:
        s.wait_lines(1)
    last_id = streams[0].events[-1].last_event_id
    proc = srv.proc
    started = time.monotonic()
    proc.send_signal(sig)
    code = proc.wait(10)
    took = time.monotonic() - started
    assert code == 0
    assert took < 2.5, f"exit took {took:.1f} s"
    for s in streams:
        s.read_until(lambda c: c.ended, timeout=5, message="the stream to end")
        assert any("shutting down" in c for c in s.parser.comments)
    assert "Traceback" not in srv.stderr()
    srv.stop()  # the process is gone: this only tidies up
    append(logdir / "app.log", "while down")
    srv.start()
    again = srv.stream("/api/stream/app.log", headers={"Last-Event-ID": last_id})
    assert again.wait_lines(1) == ["while down"]
