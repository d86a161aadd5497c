"""group=1 at a file's edges (found in review): after a rotation or a
truncation the new file's first line never continues the old file's trace, and
a resume inside a trace the filter showed gets the rest of it."""
import os
import time

from conftest import append


def msgs(s):
    return [e for e in s.events if e.type in ("message", "continuation")]


def test_a_new_files_first_line_comes_as_a_continuation_of_the_rotated_files_trace(server, logdir):
    log = logdir / "app.log"
    append(log, "ERROR x", "  at one")
    s = server.stream("/api/stream/app.log?group=1")
    s.read_until(lambda c: msgs(c), message="trace")
    log.rename(logdir / "app.log.1")
    append(log, "  at two", "INFO n1")
    s.read_until(lambda c: any("INFO n1" in m.data for m in msgs(c)), message="n1")
    seq = [(e.type, e.data.split("\n")[0]) for e in s.events if e.type != "retry"]
    # after a rotate the new file's first line is a head (grouping: 'a file's first line is a head')
    after = [e.type for e in s.events][[e.type for e in s.events].index("rotate") + 1]
    assert after != "continuation", seq


def test_truncate_then_indented_line_is_a_continuation_of_the_old_contents(server, logdir):
    log = logdir / "app.log"
    append(log, "ERROR x", "  at one")
    s = server.stream("/api/stream/app.log?group=1")
    s.read_until(lambda c: msgs(c), message="trace")
    os.truncate(log, 0)
    append(log, "  indented first", "INFO n1")
    s.read_until(lambda c: any("INFO n1" in m.data for m in msgs(c)), message="n1")
    seq = [(e.type, e.data.split("\n")[0]) for e in s.events]
    types = [e.type for e in s.events]
    assert types[types.index("truncate") + 1] != "continuation", seq


def test_resume_inside_a_shown_group_with_a_filter_drops_its_continuation(server, logdir):
    log = logdir / "app.log"
    append(log, "INFO a")
    s = server.stream("/api/stream/app.log?group=1&filter=ERROR")
    append(log, "ERROR boom", "  at one")
    s.read_until(lambda c: msgs(c), message="trace")
    time.sleep(0.3)  # the scenario: the trace's hold (GROUP_HOLD) runs out while the client is connected
    last = [e for e in s.events if e.last_event_id][-1].last_event_id
    s.close()
    append(log, "  at two", "INFO b")
    r = server.stream("/api/stream/app.log?group=1&filter=ERROR", headers={"Last-Event-ID": last})
    r.read_until(lambda c: b"caught up" in c.raw, message="caught up")
    time.sleep(0.3)  # the scenario: the resumed trace's hold runs out before we look
    r.read_some(0.3)
    assert any(m.data == "  at two" for m in msgs(r)), "the rest of a shown trace is shown after a resume too"
