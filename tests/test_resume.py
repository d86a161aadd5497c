"""Resumption: Last-Event-ID (header or query) continues at exactly the next line,
also after the server restarts; an id that cannot be honoured gets a reset."""

import pytest

from conftest import append


def ids_and_lines(stream):
    return [(e.last_event_id, e.data) for e in stream.events if e.type == "message"]


@pytest.mark.parametrize("via", ["header", "query"])
def test_resume_delivers_exactly_the_missing_lines(server, logdir, via):
    log = logdir / "app.log"
    append(log, *[f"a{i}" for i in range(10)])
    first = server.stream("/api/stream/app.log")
    first.wait_lines(10)
    last_id = first.events[-1].last_event_id
    first.close()
    append(log, *[f"b{i}" for i in range(5)])
    if via == "header":
        second = server.stream("/api/stream/app.log", headers={"Last-Event-ID": last_id})
    else:
        second = server.stream(f"/api/stream/app.log?last_event_id={last_id}")
    assert second.wait_lines(5) == [f"b{i}" for i in range(5)]
    append(log, "c")
    assert second.wait_lines(6)[-1] == "c"
    assert not second.of_type("reset")


def test_resume_after_restart_delivers_exactly_the_missing_lines(logserver, logdir):
    log = logdir / "app.log"
    append(log, *[f"a{i}" for i in range(50)])
    srv = logserver(logdir)
    s = srv.stream("/api/stream/app.log?lines=1000")
    s.wait_lines(50)
    last_id = s.events[-1].last_event_id
    s.close()
    srv.stop()
    append(log, "while down 1", "while down 2")
    srv.start()
    again = srv.stream("/api/stream/app.log", headers={"Last-Event-ID": last_id})
    assert again.wait_lines(2) == ["while down 1", "while down 2"]
    append(log, "after")
    assert again.wait_lines(3)[-1] == "after"


def test_resume_in_the_middle_of_the_file(server, logdir):
    log = logdir / "app.log"
    append(log, *[f"l{i}" for i in range(1000)])
    s = server.stream("/api/stream/app.log?lines=1000")
    s.wait_lines(1000)
    middle = s.events[499].last_event_id
    r = server.stream("/api/stream/app.log", headers={"Last-Event-ID": middle})
    assert r.wait_lines(500) == [f"l{i}" for i in range(500, 1000)]


@pytest.mark.parametrize("bad_id,reason", [
    ("garbage", "malformed"),
    ("1-2,3-4", "file(s)"),
    ("ffffffff-10", "gone"),
])
def test_unusable_id_gets_reset_then_backlog(server, logdir, bad_id, reason):
    append(logdir / "app.log", "x", "y")
    s = server.stream("/api/stream/app.log?lines=1", headers={"Last-Event-ID": bad_id})
    s.wait_lines(1)
    [reset] = s.of_type("reset")
    assert reason in reset.data
    assert s.events[0].type == "reset" and s.lines == ["y"]


def test_id_past_the_end_or_mid_line_gets_reset(server, logdir):
    log = logdir / "app.log"
    append(log, "hello", "world")
    s = server.stream("/api/stream/app.log")
    s.wait_lines(2)
    ino = s.events[-1].last_event_id.split("-")[0]
    for bad, why in ((f"{ino}-999", "past the end"), (f"{ino}-3", "line boundary")):
        r = server.stream("/api/stream/app.log?lines=1", headers={"Last-Event-ID": bad})
        r.wait_lines(1)
        assert why in r.of_type("reset")[0].data
        assert r.lines == ["world"]


def test_resume_from_a_rotated_file_still_in_the_directory(logserver, logdir):
    log = logdir / "app.log"
    append(log, "a1", "a2")
    srv = logserver(logdir)
    s = srv.stream("/api/stream/app.log")
    s.wait_lines(2)
    last_id = s.events[-1].last_event_id
    s.close()
    srv.stop()
    append(log, "a3")
    log.rename(logdir / "app.log.1")
    append(log, "b1")
    srv.start()
    r = srv.stream("/api/stream/app.log", headers={"Last-Event-ID": last_id})
    assert r.wait_lines(2) == ["a3", "b1"]
    assert [e.type for e in r.events] == ["message", "rotate", "message"]
