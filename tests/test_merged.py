"""Several files over one connection: labelled lines, one id for all positions."""

import json

from conftest import append


def parts(event):
    path, _, text = event.data.partition("\n")
    return path, text


def test_merged_stream_labels_each_line_with_its_file(server, logdir):
    (logdir / "sub").mkdir()
    append(logdir / "a.log", "a1")
    append(logdir / "sub" / "b.log", "b1")
    s = server.stream("/api/stream?path=a.log&path=sub/b.log")
    s.wait_lines(2)
    append(logdir / "sub" / "b.log", "b2")
    append(logdir / "a.log", "a2")
    s.wait_lines(4)
    got = [parts(e) for e in s.events if e.type == "message"]
    assert got[:2] == [("a.log", "a1"), ("sub/b.log", "b1")]
    assert sorted(got[2:]) == [("a.log", "a2"), ("sub/b.log", "b2")]
    assert all(len(e.last_event_id.split(",")) == 2 for e in s.events)


def test_merged_stream_resumes_every_file_exactly(server, logdir):
    append(logdir / "a.log", "a1")
    append(logdir / "b.log", "b1")
    s = server.stream("/api/stream?path=a.log&path=b.log")
    s.wait_lines(2)
    last = s.events[-1].last_event_id
    s.close()
    append(logdir / "a.log", "a2", "a3")
    append(logdir / "b.log", "b2")
    r = server.stream("/api/stream?path=a.log&path=b.log", headers={"Last-Event-ID": last})
    r.wait_lines(3)
    assert sorted(parts(e) for e in r.events if e.type == "message") == [("a.log", "a2"), ("a.log", "a3"),
                                                                         ("b.log", "b2")]
    assert not r.of_type("reset")


def test_merged_text_format_prefixes_the_path(server, logdir):
    append(logdir / "a.log", "x")
    append(logdir / "b.log", "y")
    s = server.stream("/api/stream?path=a.log&path=b.log&format=text")
    s.read_until(lambda c: bytes(c.raw) == b"a.log: x\nb.log: y\n", message="two prefixed lines")


def test_merged_stream_needs_a_path_and_existing_files(server, logdir):
    append(logdir / "a.log", "x")
    assert server.json("/api/stream")[0] == 400
    status, body = server.json("/api/stream?path=a.log&path=missing.log")
    assert status == 404 and "missing.log" in body["error"]
    assert json.loads(server.get("/healthz")[2])["tailers"] == 0  # a.log was let go again
