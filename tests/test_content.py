"""Bad content never breaks the stream: invalid UTF-8, giant lines, NUL and
control characters, CR."""

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
