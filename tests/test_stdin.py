"""Standard input (``some-command | logstream -``) is served as a live log file:
lines arrive live and resume by id, a burst arrives complete and in order, bytes
are read as a file's are, the end of the input is an ``eof`` event, the spool on
disk stays within ``--spool-max`` and is removed at exit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import Server, wait_for


@pytest.fixture
def piped(tmp_path):
    """Factory: ``piped(*args)`` → a Server on ``logstream -`` whose ``write(bytes)`` feeds its standard input."""
    servers: list[Server] = []

    def start(*args: str) -> Server:
        srv = Server(tmp_path / "stdin", ("--heartbeat", "1", *args), root_arg="-", stdin=subprocess.PIPE)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()


def write(srv: Server, data: bytes) -> None:
    srv.proc.stdin.write(data)
    srv.proc.stdin.flush()


def end_input(srv: Server) -> None:
    srv.proc.stdin.close()


def spool_files(directory: Path) -> dict[str, int]:
    """The spool's files and their sizes, as they are while it may be rotating."""
    files = {}
    for entry in os.scandir(directory):
        try:
            files[entry.name] = entry.stat().st_size
        except FileNotFoundError:  # renamed or removed while listed
            pass
    return files


def test_piped_lines_arrive_live_as_the_only_file(piped):
    srv = piped()
    status, files = srv.json("/api/files")
    assert status == 200 and [f["path"] for f in files["files"]] == ["stdin.log"]
    write(srv, b"first\nsecond\n")
    s = srv.stream("/api/stream/stdin.log")
    assert s.wait_lines(2) == ["first", "second"]
    write(srv, b"live\n")
    assert s.wait_lines(3)[-1] == "live"


def test_stdin_name_names_the_file(piped):
    srv = piped("--stdin-name", "build.log")
    write(srv, b"compiling\n")
    _, files = srv.json("/api/files")
    assert [f["path"] for f in files["files"]] == ["build.log"]
    assert srv.stream("/api/stream/build.log").wait_lines(1) == ["compiling"]


def test_a_reconnect_resumes_at_exactly_the_next_piped_line(piped):
    srv = piped()
    write(srv, b"a\nb\n")
    s = srv.stream("/api/stream/stdin.log")
    s.wait_lines(2)
    last = [e for e in s.events if e.type == "message"][-1].last_event_id
    s.close()
    write(srv, b"c\nd\n")
    wait_for(lambda: srv.stream("/api/stream/stdin.log?lines=1").wait_lines(1) == ["d"])
    again = srv.stream("/api/stream/stdin.log", headers={"Last-Event-ID": last})
    assert again.wait_lines(2) == ["c", "d"]
    write(srv, b"e\n")
    assert again.wait_lines(3) == ["c", "d", "e"]
    assert not again.of_type("reset")


def test_a_burst_of_100000_lines_arrives_complete_and_in_order(piped):
    srv = piped()
    s = srv.stream("/api/stream/stdin.log?lines=0")
    expected = [f"line {n:06d} of the burst" for n in range(100_000)]
    write(srv, "".join(line + "\n" for line in expected).encode())
    lines = s.wait_lines(100_000, timeout=60)
    assert lines == expected
    ids = [int(e.last_event_id.rsplit("-", 1)[1]) for e in s.events if e.type == "message"]
    assert ids == sorted(set(ids))


def test_bytes_are_read_as_a_files_and_the_end_is_an_eof_event(piped):
    srv = piped()
    s = srv.stream("/api/stream/stdin.log")
    write(srv, b"ok\n\xff\xfe invalid utf-8\r\nno newline at the end")
    assert s.wait_lines(2) == ["ok", "\ufffd\ufffd invalid utf-8"]  # the unfinished line waits
    end_input(srv)
    s.read_until(lambda c: c.of_type("eof"), message="the eof event")
    assert s.lines == ["ok", "\ufffd\ufffd invalid utf-8", "no newline at the end"]
    assert s.events[-1].type == "eof"  # after the last line
    assert '"path": "stdin.log"' in s.events[-1].data
    # A client that comes later gets the backlog, then the end; one resuming at the end, only the end.
    late = srv.stream("/api/stream/stdin.log")
    late.read_until(lambda c: c.of_type("eof"), message="the eof event")
    assert late.lines == s.lines
    last = [e for e in s.events if e.type == "message"][-1].last_event_id
    resumed = srv.stream("/api/stream/stdin.log", headers={"Last-Event-ID": last})
    resumed.read_until(lambda c: c.of_type("eof"), message="the eof event")
    assert resumed.lines == [] and len(resumed.of_type("eof")) == 1
    assert srv.proc.poll() is None  # still serving until interrupted


def test_the_spool_stays_within_its_bound_and_is_removed_at_exit(piped, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    limit = 1024 * 1024
    srv = piped("--spool", str(spool), "--spool-max", str(limit))
    (directory,) = spool.iterdir()
    s = srv.stream("/api/stream/stdin.log?lines=0")
    sizes, names = [], set()
    for chunk in range(50):  # 6 MB through a 1 MiB spool
        write(srv, "".join(f"chunk {chunk:02d} line {n:04d} {'x' * 60}\n" for n in range(1400)).encode())
        files = spool_files(directory)
        sizes.append(sum(files.values()))
        names.add(tuple(sorted(files)))
    end_input(srv)
    s.read_until(lambda c: c.of_type("eof"), timeout=30, message="the eof event")
    assert max(sizes) <= limit
    # ("stdin.log.1",) alone: listed between the rename and the new file's creation;
    # () : a listing is no snapshot (stdin.log.1 stat()ed between its removal and the
    # rename, stdin.log between the rename and its creation), so it says nothing.
    names.discard(())
    assert names <= {("stdin.log",), ("stdin.log.1",), ("stdin.log", "stdin.log.1")}
    assert ("stdin.log", "stdin.log.1") in names
    assert len(s.of_type("rotate")) >= 5  # about 12 rotations; the client followed them
    assert s.lines[-1] == f"chunk 49 line 1399 {'x' * 60}"
    assert len(s.lines) == len(set(s.lines))  # rotations repeat nothing
    assert s.lines == sorted(s.lines)
    assert srv.stop() == 0
    assert list(spool.iterdir()) == []


def test_exit_on_eof_exits_once_the_clients_were_sent_the_end(piped):
    srv = piped("--exit-on-eof")
    s = srv.stream("/api/stream/stdin.log")
    write(srv, b"one\ntwo\n")
    s.wait_lines(2)
    end_input(srv)
    assert srv.proc.wait(15) == 0
    s.read_until(lambda c: c.ended or c.of_type("eof"), message="the eof event")
    assert s.of_type("eof") and s.lines == ["one", "two"]
    assert "Traceback" not in srv.stderr()


def test_nothing_of_the_spool_is_left_after_an_interrupt(piped, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    srv = piped("--spool", str(spool))
    write(srv, b"x\n")
    assert srv.stream("/api/stream/stdin.log").wait_lines(1) == ["x"]
    assert srv.stop() == 0
    assert not any(Path(spool).iterdir())
