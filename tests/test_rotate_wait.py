"""logrotate's `create`: the application goes on writing to the renamed file until
it reopens its log. Those lines are delivered, before `rotate`, with ids that
resume exactly; what comes after --rotate-wait is reported, never silent."""

import json
import os

from conftest import append, assert_each_id_resumes


def test_lines_appended_to_the_renamed_file_before_the_writer_reopens_arrive_in_order(logserver, logdir):
    log = logdir / "app.log"
    append(log, "before")
    srv = logserver(logdir, "--rotate-wait", "5")
    s = srv.stream("/api/stream/app.log")
    s.wait_lines(1)
    writer = open(log, "ab", buffering=0)  # the application's descriptor, opened with O_APPEND
    try:
        writer.write(b"still the old file\n")
        os.rename(log, logdir / "app.log.1")
        log.touch()  # logrotate's create
        s.read_until(lambda c: "still the old file" in c.lines, message="the line before the rename")
        writer.write(b"late\n")  # through the old descriptor: the app has not reopened yet
    finally:
        writer.close()
    append(log, "new")  # the application reopened its log
    s.read_until(lambda c: "new" in c.lines, timeout=15, message="the new file's line")
    kinds = [e.type if e.type != "message" else e.data for e in s.events]
    assert kinds == ["before", "still the old file", "late", "rotate", "new"]
    assert not s.of_type("late")

    # Every id on the way resumes exactly, after a restart too.
    messages = [e for e in s.events if e.type == "message"]
    srv.stop()
    srv.start()
    assert_each_id_resumes(srv, "/api/stream/app.log", messages)


def test_lines_written_to_the_renamed_file_after_the_wait_are_reported(logserver, logdir):
    log = logdir / "app.log"
    append(log, "before")
    srv = logserver(logdir, "--rotate-wait", "0.3")
    s = srv.stream("/api/stream/app.log")
    s.wait_lines(1)
    writer = open(log, "ab", buffering=0)
    try:
        os.rename(log, logdir / "app.log.1")
        log.touch()
        s.read_until(lambda c: c.of_type("rotate"), message="rotate after the wait")
        writer.write(b"too late\n")
    finally:
        writer.close()
    [late] = s.read_until(lambda c: c.of_type("late"), timeout=10, message="a late event")
    info = json.loads(late.data)
    assert info["path"] == "app.log" and info["lost_bytes"] == len(b"too late\n")
    assert "too late" not in s.lines


def test_rotate_wait_zero_moves_on_at_once(logserver, logdir):
    log = logdir / "app.log"
    append(log, "before")
    srv = logserver(logdir, "--rotate-wait", "0")
    s = srv.stream("/api/stream/app.log")
    s.wait_lines(1)
    os.rename(log, logdir / "app.log.1")
    log.touch()
    s.read_until(lambda c: c.of_type("rotate"), timeout=3, message="rotate at once")
