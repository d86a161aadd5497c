"""Following a file through logrotate's moves, copytruncate, deletion and
re-creation, and holding unfinished lines."""

import json
import os

from conftest import append


def test_mv_and_recreate_delivers_old_tail_then_new_file(server, logdir):
    log = logdir / "app.log"
    append(log, "old 1")
    s = server.stream("/api/stream/app.log")
    s.wait_lines(1)
    with open(log, "ab") as writer:  # an app that still holds the old file open
        os.rename(log, logdir / "app.log.1")
        writer.write(b"old 2 (after mv)\n")
        writer.flush()
        append(log, "new 1", "new 2")
    s.wait_lines(4)
    assert s.lines == ["old 1", "old 2 (after mv)", "new 1", "new 2"]
    types = [e.type for e in s.events]
    assert types == ["message", "message", "rotate", "message", "message"]
    rotate = s.of_type("rotate")[0]
    assert json.loads(rotate.data)["path"] == "app.log"
    assert rotate.last_event_id.endswith("-0")


def test_copytruncate_announces_truncate_then_new_lines(server, logdir):
    log = logdir / "app.log"
    append(log, "before 1", "before 2")
    s = server.stream("/api/stream/app.log")
    s.wait_lines(2)
    os.truncate(log, 0)
    s.read_until(lambda c: c.of_type("truncate"), message="truncate event")
    append(log, "after")
    assert s.wait_lines(3)[-1] == "after"
    assert json.loads(s.of_type("truncate")[0].data)["lost_bytes"] == 0


def test_deleted_file_is_announced_and_streaming_resumes_when_it_returns(server, logdir):
    log = logdir / "app.log"
    append(log, "first life")
    s = server.stream("/api/stream/app.log")
    s.wait_lines(1)
    os.unlink(log)
    s.read_until(lambda c: c.of_type("deleted"), message="deleted event")
    append(log, "second life")
    assert s.wait_lines(2) == ["first life", "second life"]
    assert [e.type for e in s.events] == ["message", "deleted", "rotate", "message"]
    assert json.loads(s.of_type("rotate")[0].data)["reason"] == "recreated"


def test_unfinished_line_is_held_until_its_newline(server, logdir):
    log = logdir / "app.log"
    append(log, "done")
    s = server.stream("/api/stream/app.log")
    s.wait_lines(1)
    append(log, raw=b"half")
    append(log, "marker-not-yet")  # proves the server read past "half": same line
    s.wait_lines(2)
    assert s.lines == ["done", "halfmarker-not-yet"]


def test_unfinished_line_at_connect_is_not_in_backlog(server, logdir):
    log = logdir / "app.log"
    append(log, raw=b"a\nb\npart")
    s = server.stream("/api/stream/app.log")
    s.wait_lines(2)
    append(log, raw=b"ial\n")
    assert s.wait_lines(3) == ["a", "b", "partial"]


def test_resume_across_a_rotation_seen_live(server, logdir):
    log = logdir / "app.log"
    append(log, "a")
    s = server.stream("/api/stream/app.log")
    s.wait_lines(1)
    before = s.events[-1].last_event_id
    s.close()
    os.rename(log, logdir / "app.log.1")
    append(log, "b")
    watcher = server.stream("/api/stream/app.log?lines=0")
    watcher.read_some(0.5)
    r = server.stream("/api/stream/app.log", headers={"Last-Event-ID": before})
    assert r.wait_lines(1) == ["b"]
    assert not r.of_type("reset")


def test_copytruncate_hidden_by_immediate_regrowth_is_still_noticed(logserver, logdir):
    log = logdir / "app.log"
    append(log, "2026-11-28T10:00:00.001Z before")
    srv = logserver(logdir, "--poll-interval", "3600")
    s = srv.stream("/api/stream/app.log")
    s.wait_lines(1)
    with open(log, "r+b") as f:  # truncate and regrow past the old offset before anyone looks
        f.truncate(0)
        f.write(b"2026-11-28T10:00:09.999Z after, and longer than before\n")
    s.read_until(lambda c: c.of_type("truncate"), message="truncate event")
    assert s.wait_lines(2)[-1] == "2026-11-28T10:00:09.999Z after, and longer than before"
