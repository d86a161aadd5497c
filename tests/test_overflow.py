"""When the kernel's inotify queue overflows (a burst of events, or a paused
process), events are lost: the server rescans, sends every file-list client a new
snapshot and makes every tailer check its file, so nothing is silently missed.

The overflow is made deterministic: the server is stopped (SIGSTOP) while more
events than the queue holds happen, then continued (SIGCONT)."""

import json
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import append, wait_for

QUEUE = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
pytestmark = pytest.mark.skipif(QUEUE > 200_000, reason="the inotify queue is too long to fill in a test")


@contextmanager
def stopped(server):
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)


def fill_the_queue(directory: Path) -> None:
    """More distinct events than the queue holds: writes alternating between two
    files (the kernel merges only an event identical to the last one queued)."""
    fds = [os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND) for name in ("a.tmp", "b.tmp")]
    try:
        for i in range(QUEUE + 1000):
            os.write(fds[i % 2], b"x")
    finally:
        for fd in fds:
            os.close(fd)


def snapshot_paths(client) -> list[list[str]]:
    return [[f["path"] for f in json.loads(e.data)["files"]] for e in client.of_type("snapshot")]


def test_overflow_sends_a_new_snapshot_and_wakes_every_tailer(logserver, logdir):
    # The followed and the new file live in sub/, the burst in the root: the events
    # that survive the overflow wake only the root's tailers. The 1 s safety-net
    # poll is off: only inotify (or the overflow's wake-up) moves a tailer.
    (logdir / "sub").mkdir()
    append(logdir / "sub" / "app.log", "before")
    srv = logserver(logdir, "--heartbeat", "1", "--poll-interval", "3600")
    files = srv.stream("/api/files/events")
    files.read_until(lambda c: c.of_type("snapshot"), message="first snapshot")
    s = srv.stream("/api/stream/sub/app.log")
    s.wait_lines(1)
    with stopped(srv):
        fill_the_queue(logdir)
        append(logdir / "sub" / "app.log", "appended while the queue was full")
        append(logdir / "sub" / "new.log", "created while the queue was full")
    assert s.wait_lines(2)[-1] == "appended while the queue was full"
    files.read_until(lambda c: any("sub/new.log" in paths for paths in snapshot_paths(c)),
                     message="a snapshot with the file whose creation was lost")
    wait_for(lambda: srv.stderr().count("inotify queue overflowed (events were lost)") == 1,
             message="one line in the log")
    append(logdir / "sub" / "app.log", "after")  # inotify still works afterwards
    assert s.wait_lines(3)[-1] == "after"


def test_reading_files_does_not_fill_the_inotify_queue(logserver, logdir):
    # Readers (grep, backups, our own tailers and downloads) open files all day:
    # the watcher does not ask for open/close-without-write events, so they cannot
    # overflow the queue and make events be lost.
    log = logdir / "app.log"
    append(log, "before")
    srv = logserver(logdir, "--heartbeat", "1", "--poll-interval", "3600")
    s = srv.stream("/api/stream/app.log")
    s.wait_lines(1)
    with stopped(srv):
        for _ in range(QUEUE):
            os.close(os.open(log, os.O_RDONLY))
        append(log, "after the readers")
    assert s.wait_lines(2)[-1] == "after the readers"  # queued behind the readers' events, if any
    assert "overflowed" not in srv.stderr()
