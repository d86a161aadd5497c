"""group=1 over HTTP: a head line and its continuation lines are one event, its
id the position past its last line; a trace interrupted by a quiet pause longer
than the hold goes on as ``event: continuation``; a resume by id inside a group
gets the rest of it; a backlog never starts in the middle of a trace."""

import json
import time
from collections import Counter

from conftest import append
from test_grouping import JAVA, PYTHON  # the traces the pure part groups


def write_in_pieces(path, lines, pieces=4):
    """The lines as bytes, in ``pieces`` writes cut anywhere (also inside a line)."""
    data = "".join(line + "\n" for line in lines).encode()
    step = max(1, len(data) // pieces)
    for start in range(0, len(data), step):
        append(path, raw=data[start:start + step])
        time.sleep(0.01)  # the scenario: separate writes, read in separate turns


def messages(stream):
    return [e for e in stream.events if e.type in ("message", "continuation")]


def attached(stream):
    """The events as a client shows them: a continuation appended to the event
    before it (README "Multi-line events"). Whether one comes depends on timing
    (a write delayed past the hold); what the client shows does not."""
    out = []
    for e in messages(stream):
        if e.type == "continuation" and out:
            out[-1] += "\n" + e.data
        else:
            out.append(e.data)
    return out


def test_java_and_python_traces_written_in_pieces_are_one_event_each(server, logdir):
    log = logdir / "app.log"
    append(log, "before")
    s = server.stream("/api/stream/app.log?group=1")
    s.wait_lines(1)
    write_in_pieces(log, ["INFO start", *JAVA, *PYTHON, "INFO after"])
    s.wait_lines(5)
    assert attached(s) == ["before", "INFO start", "\n".join(JAVA), "\n".join(PYTHON), "INFO after"]
    ends = [int(e.last_event_id.split("-")[1]) for e in messages(s)]
    trace_end = len("before\nINFO start\n") + sum(len(line) + 1 for line in JAVA)
    assert trace_end in ends and ends[-1] == log.stat().st_size  # ids: past each event's last line


def test_a_quiet_pause_sends_the_group_and_the_rest_follows_as_a_continuation(server, logdir):
    log = logdir / "app.log"
    append(log, "start")
    s = server.stream("/api/stream/app.log?group=1")
    s.wait_lines(1)
    append(log, *JAVA[:2])
    assert s.wait_lines(2)[-1] == "\n".join(JAVA[:2])  # held at most the hold, then sent
    time.sleep(0.3)  # the scenario: a quiet pause longer than the hold
    append(log, *JAVA[2:])
    s.read_until(lambda c: c.of_type("continuation"), message="a continuation event")
    append(log, "next")
    s.wait_lines(3)
    kinds = [(e.type, e.data) for e in messages(s)]
    assert kinds == [("message", "start"), ("message", "\n".join(JAVA[:2])),
                     ("continuation", "\n".join(JAVA[2:])), ("message", "next")]


def test_resume_by_id_inside_a_group_continues_with_the_rest_of_it(server, logdir):
    log = logdir / "app.log"
    append(log, "start", *JAVA[:2])
    s = server.stream("/api/stream/app.log?group=1")
    s.wait_lines(2)
    inside = s.events[-1].last_event_id
    s.close()
    append(log, *JAVA[2:], "next")
    r = server.stream("/api/stream/app.log?group=1", headers={"Last-Event-ID": inside})
    r.read_until(lambda c: len(messages(c)) >= 2, message="the rest of the trace and the next line")
    assert [(e.type, e.data) for e in messages(r)] == [("continuation", "\n".join(JAVA[2:])), ("message", "next")]
    assert not r.of_type("reset")


def test_a_backlog_starting_inside_a_trace_starts_at_its_head(server, logdir):
    log = logdir / "app.log"
    append(log, *[f"line {i}" for i in range(5)], *JAVA, *PYTHON, "last")
    s = server.stream("/api/stream/app.log?group=1&lines=4")  # the last 4 lines are inside the traceback
    s.wait_lines(2)
    assert s.lines == ["\n".join(PYTHON), "last"]
    s = server.stream("/api/stream/app.log?group=1&lines=7")
    s.wait_lines(3)
    assert s.lines == ["\n".join(JAVA), "\n".join(PYTHON), "last"]


def test_a_filter_for_error_shows_the_whole_trace(server, logdir):
    log = logdir / "app.log"
    append(log, "INFO fine")
    s = server.stream("/api/stream/app.log?group=1&filter=Exception")
    s.read_until(lambda c: c.raw.find(b"caught up") >= 0, message="caught up")
    write_in_pieces(log, ["INFO fine again", *JAVA, "INFO ok", *PYTHON, "INFO last"])
    end = f"-{log.stat().st_size}\n".encode()
    s.read_until(lambda c: end in c.raw, message="an id-only event past the last line")  # resume stays exact
    assert attached(s) == ["\n".join(JAVA)]


def parts(event_id: str) -> list[int]:
    return [int(part.split("-")[1]) for part in event_id.split(",")]


def test_a_merged_stream_groups_each_file_and_labels_each_event(server, logdir):
    append(logdir / "a.log", "a first")
    append(logdir / "b.log", "b first")
    s = server.stream("/api/stream?path=a.log&path=b.log&group=1")
    s.wait_lines(2)
    write_in_pieces(logdir / "a.log", ["INFO a", *JAVA, "INFO a done"])
    append(logdir / "b.log", *PYTHON, "b done")
    s.read_until(lambda c: sum(e.data.endswith("done") for e in messages(c)) == 2, message="both files' last lines")
    by_file: dict[str, list[str]] = {}
    for event in attached(s):
        path, _, text = event.partition("\n")
        by_file.setdefault(path, []).append(text)
    assert by_file == {"a.log": ["a first", "INFO a", "\n".join(JAVA), "INFO a done"],
                       "b.log": ["b first", "\n".join(PYTHON), "b done"]}


def test_a_merged_id_never_passes_lines_a_file_still_holds(server, logdir):
    """While a.log's trace is held (its group still open), b.log's events carry
    a.log's part before the trace: a resume with any id received gets the rest,
    each line once, whatever the timing."""
    a, b = logdir / "a.log", logdir / "b.log"
    append(a, "a0")
    append(b, "b0")
    s = server.stream("/api/stream?path=a.log&path=b.log&group=1")
    s.wait_lines(2)
    sent = {0: len("a0\n"), 1: len("b0\n")}  # each file's end of the last event of it received
    for round_ in range(5):
        append(a, f"INFO a{round_}", *JAVA[:3])  # a trace that may go on: its group stays open
        append(b, f"b{round_ + 1}")
        s.read_until(lambda c, n=round_: f"b.log\nb{n + 1}" in [e.data for e in messages(c)], message="b's line")
    for event in s.events:
        if event.type not in ("message", "continuation") or not event.data:
            continue
        index = 0 if event.data.startswith("a.log\n") else 1
        ids = parts(event.last_event_id)
        sent[index] = ids[index]
        assert ids[1 - index] <= sent[1 - index], "an id passed lines of the other file not yet sent"
    # A resume with the last id received gets what was held, once.
    last = s.events[-1].last_event_id
    s.close()
    r = server.stream("/api/stream?path=a.log&path=b.log&group=1", headers={"Last-Event-ID": last})
    append(a, "a end")
    r.read_until(lambda c: "a.log\na end" in [e.data for e in messages(c)], message="a's last line")
    got = [line for e in [*messages(s), *messages(r)] for line in e.data.split("\n")[1:]]
    expected = [line for f in (a, b) for line in f.read_text().splitlines()]
    assert Counter(got) == Counter(expected)  # every line once: none lost, none repeated


def test_text_format_prints_a_group_as_its_lines(server, logdir):
    log = logdir / "app.log"
    append(log, *JAVA, "next")
    s = server.stream("/api/stream/app.log?group=1&format=text&lines=10")
    s.read_until(lambda c: c.raw.endswith(b"next\n"), message="the lines")
    assert bytes(s.raw).decode() == "".join(line + "\n" for line in [*JAVA, "next"])


def test_a_filtered_backlog_shows_the_whole_trace_its_match_is_in(server, logdir):
    log = logdir / "app.log"
    append(log, "INFO a", *JAVA, "INFO b")
    s = server.stream("/api/stream/app.log?group=1&lines=1&filter=IOException")
    assert s.wait_lines(1) == ["\n".join(JAVA)]


def test_ndjson_carries_a_group_as_one_object_and_a_late_one_marked(server, logdir):
    log = logdir / "app.log"
    append(log, "start", *JAVA[:2])
    s = server.stream("/api/stream/app.log?group=1&format=ndjson&lines=10")
    s.read_until(lambda c: c.raw.count(b"\n") >= 2, message="two objects")
    time.sleep(0.3)  # the scenario: a quiet pause longer than the hold
    append(log, *JAVA[2:], "next")
    s.read_until(lambda c: c.raw.count(b"\n") >= 4, message="four objects")
    records = [json.loads(line) for line in bytes(s.raw).decode().splitlines()]
    assert [(r["text"], r.get("continuation", False)) for r in records] == [
        ("start", False), ("\n".join(JAVA[:2]), False), ("\n".join(JAVA[2:]), True), ("next", False)]
    assert records[-1]["id"].endswith(f"-{log.stat().st_size}")
