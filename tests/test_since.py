"""``since=TIME`` on a stream starts at the first line stamped at or after TIME,
in the file or back in its rotated siblings, then follows live; a resume by id
wins over it; a file without timestamps or a bad time is a 400."""

import os

from conftest import append

STAMP = "2026-11-30T04:{:02d}:{:02d}Z"


def lines_at(minute: int, count: int = 5) -> list[str]:
    return [f"{STAMP.format(minute, n)} line {minute}.{n}" for n in range(count)]


def test_since_starts_at_the_first_line_at_or_after_the_time_then_follows_live(server, logdir):
    log = logdir / "app.log"
    append(log, *lines_at(1), "  continuation of 1.4", *lines_at(2))
    s = server.stream(f"/api/stream/app.log?since={STAMP.format(1, 3)}")
    want = lines_at(1)[3:] + ["  continuation of 1.4"] + lines_at(2)
    assert s.wait_lines(len(want)) == want
    append(log, "live")
    assert s.wait_lines(len(want) + 1)[-1] == "live"


def test_since_reaches_back_into_a_rotated_sibling_and_walks_the_chain(server, logdir):
    log = logdir / "app.log"
    append(log, *lines_at(1))
    os.rename(log, logdir / "app.log.1")
    append(log, *lines_at(2))
    s = server.stream(f"/api/stream/app.log?since={STAMP.format(1, 2)}")
    want = lines_at(1)[2:] + lines_at(2)
    assert s.wait_lines(len(want)) == want
    assert [e.type for e in s.events if e.type != "message"] == ["rotate"]


def test_since_after_every_line_sends_only_new_lines(server, logdir):
    log = logdir / "app.log"
    append(log, *lines_at(1))
    s = server.stream(f"/api/stream/app.log?since={STAMP.format(9, 0)}")
    append(log, f"{STAMP.format(10, 0)} new")
    assert s.wait_lines(1) == [f"{STAMP.format(10, 0)} new"]


def test_a_resume_by_id_wins_over_since(server, logdir):
    log = logdir / "app.log"
    append(log, *lines_at(1))
    first = server.stream("/api/stream/app.log?lines=5")
    events = first.wait_lines(5) and [e for e in first.events if e.type == "message"]
    again = server.stream(f"/api/stream/app.log?since={STAMP.format(1, 0)}",
                          headers={"Last-Event-ID": events[3].last_event_id})
    assert again.wait_lines(1) == lines_at(1)[4:]


def test_since_on_a_file_without_timestamps_or_with_a_bad_time_is_a_400(server, logdir):
    append(logdir / "plain.log", "no", "times")
    append(logdir / "app.log", *lines_at(1))
    status, body = server.json("/api/stream/plain.log?since=1h")
    assert status == 400 and "no timestamp found in plain.log" in body["error"]
    status, body = server.json("/api/stream/app.log?since=soon")
    assert status == 400 and body["error"].startswith("since: expected an RFC 3339 time")


def test_since_on_a_merged_stream_starts_each_file_at_the_time(server, logdir):
    append(logdir / "a.log", *lines_at(1))
    append(logdir / "b.log", *lines_at(2))
    s = server.stream(f"/api/stream?path=a.log&path=b.log&since={STAMP.format(1, 3)}")
    want = sorted([f"a.log\n{t}" for t in lines_at(1)[3:]] + [f"b.log\n{t}" for t in lines_at(2)])
    assert sorted(s.wait_lines(len(want))) == want  # a merged stream's lines carry their file's path
