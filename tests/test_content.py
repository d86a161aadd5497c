"""Bad content never breaks the stream: invalid UTF-8, giant lines, NUL and
control characters, CR."""

import os

from conftest import append


def test_invalid_utf8_arrives_as_replacement_characters(server, logdir):
    append(logdir / "app.log", raw=b"caf\xe9 \xff\xfe ok\n\xf0\x9f\x98\x80 emoji\n")
    s = server.stream("/api/stream/app.log")
    assert s.wait_lines(2) == ["caf\ufffd \ufffd\ufffd ok", "\U0001f600 emoji"]


def test_line_longer_than_max_line_is_cut_with_marker_and_stream_goes_on(logserver, logdir):
    srv = logserver(logdir, "--max-line", "1000")
    append(logdir / "app.log", "x" * 5000, "next")
    s = srv.stream("/api/stream/app.log")
    lines = s.wait_lines(2)
    assert lines[0] == "x" * 1000 + " […cut 4000 bytes]"
    assert lines[1] == "next"
    append(logdir / "app.log", "y" * 3_000_000)
    append(logdir / "app.log", "after giant")
    assert s.wait_lines(4)[2:] == ["y" * 1000 + " […cut 2999000 bytes]", "after giant"]


def test_nul_control_characters_and_cr_do_not_break_framing(server, logdir):
    append(logdir / "app.log", raw=b"nul\x00here\x1b[31mred\x1b[0m\x07\nwindows\r\nbare\rcr\nlast\n")
    s = server.stream("/api/stream/app.log")
    assert s.wait_lines(4) == ["nul\x00here\x1b[31mred\x1b[0m\x07", "windows", "bare\ncr", "last"]
    ids = [e.last_event_id for e in s.events]
    assert len(set(ids)) == 4


BOM = b"\xef\xbb\xbf"


def test_bom_at_the_start_of_a_file_is_not_part_of_the_first_line(server, logdir):
    log = logdir / "app.log"
    append(log, raw=BOM + b"ERROR x\nINFO y\n")
    backlog = server.stream("/api/stream/app.log?filter=^ERROR")
    backlog.wait_lines(1)
    assert backlog.lines == ["ERROR x"]
    ino = f"{os.stat(log).st_ino:x}"
    assert backlog.events[0].last_event_id == f"{ino}-11"  # ids unchanged: the offset past the newline


def test_bom_is_removed_live_and_after_truncation(server, logdir):
    log = logdir / "app.log"
    log.write_bytes(b"")
    s = server.stream("/api/stream/app.log?filter=^ERROR")
    s.read_some(0.3)
    append(log, raw=BOM[:2])  # a BOM arriving in two writes
    append(log, raw=BOM[2:] + b"ERROR first\n")
    assert s.wait_lines(1) == ["ERROR first"]
    os.truncate(log, 0)  # copytruncate: the writer starts a new file, BOM and all
    s.read_until(lambda c: c.of_type("truncate"), message="truncate event")
    append(log, raw=BOM + b"ERROR second\n")
    assert s.wait_lines(2) == ["ERROR first", "ERROR second"]
    # A client resuming at the new start (the truncate event's id) reads it from the file.
    start = s.of_type("truncate")[0].last_event_id
    assert start.endswith("-0")
    resumed = server.stream("/api/stream/app.log?filter=^ERROR&lines=0", headers={"Last-Event-ID": start})
    assert resumed.wait_lines(1) == ["ERROR second"]


def test_utf16_file_streams_as_undecoded_bytes_without_breaking(server, logdir):
    log = logdir / "win.log"
    log.write_bytes("\ufeffERROR x\nnext\n".encode("utf-16-le"))
    s = server.stream("/api/stream/win.log")
    lines = s.wait_lines(2)
    assert len(lines) == 2 and lines[0].startswith("\ufffd\ufffdE\x00R\x00")
    append(log, raw="more\n".encode("utf-16-le"))
    assert len(s.wait_lines(3)) == 3


def test_a_lone_cr_stays_inside_its_line_and_text_format_keeps_it(server, logdir):
    # A progress bar redraws with CR and ends with LF: one line, whose id is past
    # the LF. SSE shows each CR as a line break inside the data (as a browser reads
    # a CR); format=text gives the bytes as written, so a terminal redraws the bar.
    log = logdir / "build.log"
    append(log, raw=b"start\nprogress 10%\rprogress 50%\r")
    s = server.stream("/api/stream/build.log")
    text = server.stream("/api/stream/build.log?format=text&lines=5")
    assert s.wait_lines(1) == ["start"]
    append(log, raw=b"progress 100%\ndone\n")
    assert s.wait_lines(3)[1:] == ["progress 10%\nprogress 50%\nprogress 100%", "done"]
    assert s.events[1].last_event_id.endswith("-46")  # past the LF: 6 + 13 + 13 + 14 bytes
    text.read_until(lambda c: c.raw.endswith(b"done\n"), message="text lines")
    assert bytes(text.raw) == b"start\nprogress 10%\rprogress 50%\rprogress 100%\ndone\n"


def test_nul_hole_after_copytruncate_is_skipped_live_in_backlog_and_on_resume(server, logdir):
    # A writer that does not open with O_APPEND goes on at its old offset after
    # `truncate -s 0`: the file is then 65,600 NULs (a hole) and the writer's line.
    log = logdir / "app.log"
    writer = open(log, "wb")
    writer.write(b"".join(b"line %05d %s\n" % (i, b"x" * 88) for i in range(656)))
    writer.flush()
    assert writer.tell() == 65_600
    s = server.stream("/api/stream/app.log?lines=1")
    s.wait_lines(1)
    os.truncate(log, 0)
    s.read_until(lambda c: c.of_type("truncate"), message="truncate event")
    writer.write(b"marker\n")
    writer.flush()
    writer.close()
    assert s.wait_lines(2)[1:] == ["marker"]
    assert s.events[-1].last_event_id.endswith("-65607")
    assert [e.type for e in s.events] == ["message", "truncate", "message"]
    later = server.stream("/api/stream/app.log?lines=10")  # the backlog reads it the same way
    assert later.wait_lines(1) == ["marker"]
    resumed = server.stream("/api/stream/app.log?lines=0",  # and so does catching up from the new start
                            headers={"Last-Event-ID": s.of_type("truncate")[0].last_event_id})
    assert resumed.wait_lines(1) == ["marker"]
