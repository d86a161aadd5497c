"""A resume walks the whole rotation chain: from the file its id names, through
every rotation after it still on disk, to the file followed now, each from the
right offset; where a link is gone, compressed or not this path's at all, the
client is told. Also for the scale-out agent catching up after it was down."""

import os

from conftest import append, assert_each_id_resumes


def rotate(log):
    """logrotate's default: rename the numbered files up by one, then app.log to
    app.log.1; the application then creates a new app.log."""
    names = sorted((p for p in log.parent.glob(log.name + ".*") if p.suffix[1:].isdigit()),
                   key=lambda p: -int(p.suffix[1:]))
    for p in names:
        os.rename(p, log.parent / f"{log.name}.{int(p.suffix[1:]) + 1}")
    os.rename(log, log.parent / f"{log.name}.1")


def events(stream):
    return [(e.type, e.data if e.type == "message" else None) for e in stream.events]


def read_a_then_rotate_twice(log):
    append(log, "b0", "b1")
    rotate(log)
    append(log, "c0", "c1")
    rotate(log)
    append(log, "d0", "d1")


def test_resume_after_restart_walks_every_rotation_in_order(logserver, logdir):
    # The minimal case: c0 c1 sit in app.log.1 and used to be skipped.
    log = logdir / "app.log"
    append(log, "a0", "a1", "a2")
    srv = logserver(logdir)
    s = srv.stream("/api/stream/app.log")
    s.wait_lines(3)
    last_id = s.events[-1].last_event_id
    s.close()
    srv.stop()
    read_a_then_rotate_twice(log)
    srv.start()
    again = srv.stream("/api/stream/app.log", headers={"Last-Event-ID": last_id})
    again.wait_lines(6)
    assert again.lines == ["b0", "b1", "c0", "c1", "d0", "d1"]
    assert [t for t, _ in events(again) if t != "message"] == ["rotate", "rotate"]
    assert not again.of_type("reset")
    append(log, "live")
    assert again.wait_lines(7)[-1] == "live"


def test_resume_walks_the_chain_when_nobody_followed_the_path_meanwhile(server, logdir):
    # No restart: the last client left (the tailer stopped), the file rotated twice.
    log = logdir / "app.log"
    append(log, "a0", "a1", "a2")
    s = server.stream("/api/stream/app.log")
    s.wait_lines(3)
    last_id = s.events[-1].last_event_id
    s.close()
    server.get("/healthz")  # let the server notice the close before the rotations
    read_a_then_rotate_twice(log)
    again = server.stream("/api/stream/app.log", headers={"Last-Event-ID": last_id})
    assert again.wait_lines(6) == ["b0", "b1", "c0", "c1", "d0", "d1"]
    assert not again.of_type("reset")


def test_every_id_on_the_way_resumes_exactly(logserver, logdir):
    # Ids handed out while walking the chain resume too, after another restart.
    log = logdir / "app.log"
    append(log, "a0")
    srv = logserver(logdir)
    s = srv.stream("/api/stream/app.log")
    s.wait_lines(1)
    first_id = s.events[-1].last_event_id
    s.close()
    srv.stop()
    read_a_then_rotate_twice(log)
    srv.start()
    walk = srv.stream("/api/stream/app.log", headers={"Last-Event-ID": first_id})
    walk.wait_lines(6)
    messages = [e for e in walk.events if e.type == "message"]
    srv.stop()
    srv.start()
    assert_each_id_resumes(srv, "/api/stream/app.log", messages)


def test_a_compressed_rotation_on_the_way_is_named_not_skipped_silently(logserver, logdir):
    import gzip

    log = logdir / "app.log"
    append(log, "a0")
    srv = logserver(logdir)
    s = srv.stream("/api/stream/app.log")
    s.wait_lines(1)
    last_id = s.events[-1].last_event_id
    s.close()
    srv.stop()
    read_a_then_rotate_twice(log)  # app.log.2 (a, b), app.log.1 (c), app.log (d)
    one = logdir / "app.log.1"
    mtime = one.stat().st_mtime
    with open(one, "rb") as src, gzip.open(logdir / "app.log.1.gz", "wb") as dst:
        dst.write(src.read())
    os.utime(logdir / "app.log.1.gz", (mtime, mtime))
    one.unlink()  # logrotate's compress
    srv.start()
    again = srv.stream("/api/stream/app.log", headers={"Last-Event-ID": last_id})
    assert again.wait_lines(4) == ["b0", "b1", "d0", "d1"]
    rotates = again.of_type("rotate")
    assert any("app.log.1.gz" in e.data and "skipped" in e.data for e in rotates), rotates


def test_an_id_of_another_file_is_not_taken_as_this_files_past(server, logdir):
    other, log = logdir / "other.log", logdir / "app.log"
    append(other, "o0", "o1")
    append(log, "x0", "x1")
    s = server.stream("/api/stream/other.log")
    s.wait_lines(2)
    other_id = s.events[-1].last_event_id
    wrong = server.stream("/api/stream/app.log", headers={"Last-Event-ID": other_id})
    wrong.read_until(lambda c: c.of_type("reset") and len(c.lines) >= 2, message="reset and backlog")
    [reset] = wrong.of_type("reset")
    assert "not this file's" in reset.data and "other.log" in reset.data
    assert not wrong.of_type("rotate")
    assert wrong.lines == ["x0", "x1"]


def test_an_id_of_another_file_is_refused_after_a_restart_too(logserver, logdir):
    other, log = logdir / "other.log", logdir / "app.log"
    append(other, "o0")
    append(log, "x0")
    srv = logserver(logdir)
    s = srv.stream("/api/stream/other.log")
    s.wait_lines(1)
    other_id = s.events[-1].last_event_id
    srv.stop()
    srv.start()
    wrong = srv.stream("/api/stream/app.log", headers={"Last-Event-ID": other_id})
    wrong.read_until(lambda c: c.of_type("reset") and c.lines, message="reset and backlog")
    assert wrong.lines == ["x0"] and not wrong.of_type("rotate")
