"""Streaming one file over real HTTP: framing, backlog, live lines, formats, filters."""

import gzip
import json

import pytest

from conftest import append, wait_for


def test_headers_and_framing_follow_the_spec(server, logdir):
    append(logdir / "app.log", "one", "two")
    s = server.stream("/api/stream/app.log")
    assert s.status == 200
    assert s.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert s.headers["cache-control"] == "no-cache, no-transform"
    assert s.headers["x-accel-buffering"] == "no"
    assert "content-encoding" not in s.headers
    s.wait_lines(2)
    assert bytes(s.raw).startswith(b"retry: 2000\n\n")
    assert s.lines == ["one", "two"]
    assert [e.last_event_id.split("-")[1] for e in s.events] == ["4", "8"]


def test_appended_lines_arrive_live_without_waiting_for_more(server, logdir):
    log = logdir / "app.log"
    append(log, "old")
    s = server.stream("/api/stream/app.log")
    s.wait_lines(1)
    for i in range(5):
        append(log, f"new {i}")
        s.wait_lines(2 + i, timeout=5)  # each one alone, not held for the next
    assert s.lines == ["old"] + [f"new {i}" for i in range(5)]


def test_backlog_defaults_to_100_and_lines_sets_it(server, logdir):
    append(logdir / "app.log", *[f"l{i}" for i in range(300)])
    s = server.stream("/api/stream/app.log")
    s.wait_lines(100)
    assert s.lines[0] == "l200" and s.lines[-1] == "l299"
    s5 = server.stream("/api/stream/app.log?lines=5")
    assert s5.wait_lines(5) == ["l295", "l296", "l297", "l298", "l299"]
    s0 = server.stream("/api/stream/app.log?lines=0")
    append(logdir / "app.log", "fresh")
    assert s0.wait_lines(1) == ["fresh"]


@pytest.mark.parametrize("query", ["lines=-1", "lines=abc", "lines=10001", "format=xml",
                                   "filter=(", "filter=[z-a]", "filter=a**"])
def test_bad_parameters_get_a_json_400(server, logdir, query):
    append(logdir / "app.log", "x")
    status, headers, body = server.get(f"/api/stream/app.log?{query}")
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]


def test_missing_file_is_a_json_404(server):
    status, body = server.json("/api/stream/nope.log")
    assert status == 404 and "nope.log" in body["error"]


def test_text_format_prints_just_the_lines(server, logdir):
    append(logdir / "app.log", "alpha", "beta")
    s = server.stream("/api/stream/app.log?format=text")
    assert s.headers["content-type"] == "text/plain; charset=utf-8"
    wait_for(lambda: s.read_some() and bytes(s.raw) == b"alpha\nbeta\n", timeout=5)
    append(logdir / "app.log", "gamma")
    wait_for(lambda: s.read_some() and bytes(s.raw) == b"alpha\nbeta\ngamma\n", timeout=5)


def test_filter_passes_only_matching_lines_backlog_and_live(server, logdir):
    log = logdir / "app.log"
    append(log, "INFO a", "ERROR b", "INFO c", "ERROR d")
    s = server.stream("/api/stream/app.log?filter=ERR(OR)%3F")
    assert s.wait_lines(2) == ["ERROR b", "ERROR d"]
    append(log, "INFO e", "ERROR f", "INFO g")
    assert s.wait_lines(3) == ["ERROR b", "ERROR d", "ERROR f"]
    # The id moves past the dropped "INFO g", so a resume does not re-read it.
    s.read_until(lambda c: c.parser.last_event_id.endswith(f"-{log.stat().st_size}"))
    inv = server.stream("/api/stream/app.log?filter=ERROR&invert=1&lines=2")
    assert inv.wait_lines(2) == ["INFO e", "INFO g"]


def test_filter_backlog_counts_matching_lines(server, logdir):
    append(logdir / "app.log", *[("ERROR" if i % 50 == 0 else "info") + f" {i}" for i in range(1000)])
    s = server.stream("/api/stream/app.log?filter=ERROR&lines=3")
    assert s.wait_lines(3) == ["ERROR 850", "ERROR 900", "ERROR 950"]


def test_hostile_regex_runs_in_linear_time(server, logdir):
    append(logdir / "app.log", "a" * 60000 + "b")
    s = server.stream("/api/stream/app.log?filter=(a%2B)%2B%24&lines=1")
    append(logdir / "app.log", "aaa")
    assert s.wait_lines(1, timeout=5) == ["aaa"]


def test_heartbeat_comments_when_idle(logserver, logdir):
    append(logdir / "app.log", "x")
    srv = logserver(logdir, "--heartbeat", "0.2")
    s = srv.stream("/api/stream/app.log")
    s.read_until(lambda c: c.parser.comments.count("ping") >= 2, timeout=5, message="two pings")


def test_healthz_answers_json(server):
    status, body = server.json("/healthz")
    assert status == 200 and body["status"] == "ok" and body["watcher"] == "inotify"


def test_unknown_route_is_json_404(server):
    status, headers, body = server.get("/api/nothing")
    assert status == 404 and json.loads(body)["error"]


@pytest.mark.parametrize("query", ["", "?filter=nothing-matches", "?lines=0"])
def test_a_caught_up_comment_follows_the_backlog_and_precedes_live_lines(server, logdir, query):
    # So a client can tell "nothing there" from "still reading" (the viewer's empty states).
    log = logdir / "app.log"
    append(log, "one", "two")
    s = server.stream(f"/api/stream/app.log{query}")
    s.read_until(lambda c: "caught up" in c.parser.comments, message="the caught-up comment")
    assert s.lines == (["one", "two"] if query == "" else [])
    raw = bytes(s.raw)
    assert raw.index(b": caught up\n") > raw.rfind(b"data: ")
    append(log, "three")
    append(logdir / "other.log", "x")
    merged = server.stream("/api/stream?path=app.log&path=other.log")
    merged.read_until(lambda c: "caught up" in c.parser.comments, message="the merged caught-up comment")
    text = server.stream("/api/stream/app.log?format=text")
    text.read_until(lambda c: bytes(c.raw).endswith(b"three\n"), message="plain lines")
    assert b"caught up" not in bytes(text.raw)


@pytest.mark.parametrize("query", ["/api/stream/access.log.1.gz", "/api/stream?path=access.log&path=access.log.1.gz"])
def test_a_compressed_file_is_refused_plainly_not_streamed_as_noise(server, logdir, query):
    append(logdir / "access.log", "current")
    with gzip.open(logdir / "access.log.1.gz", "wb") as f:
        f.write(b"old line\n")
    status, body = server.json(query)
    assert status == 415
    assert body["error"].startswith("access.log.1.gz is compressed: download it")
    assert server.get("/api/download/access.log.1.gz")[0] == 200  # still downloads


@pytest.mark.parametrize("target", ["/api/stream/app.log", "/api/stream?path=app.log&path=other.log",
                                    "/api/stream/app.log?format=text", "/api/search/app.log?q=one",
                                    "/api/download/app.log?from=0&format=ndjson", "/api/files/events"])
def test_a_head_request_gets_the_head_alone_and_the_connection_stays_usable(server, logdir, target):
    # A streamed answer has no length, so it goes out in chunks; to a HEAD, pywsgi
    # sent the last chunk anyway, and a keep-alive client read those five bytes
    # as the start of its next response.
    import http.client

    append(logdir / "app.log", "one", "two")
    append(logdir / "other.log", "three")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("HEAD", target.replace("from=0", f"from={first_id(server)}"))
        head = conn.getresponse()
        assert head.status == 200 and head.read() == b""
        conn.request("GET", "/api/files")
        after = conn.getresponse()
        assert after.status == 200 and "app.log" in {f["path"] for f in json.loads(after.read())["files"]}
    finally:
        conn.close()


def first_id(server) -> str:
    """The id of app.log's first line, from /api/lines."""
    import urllib.request

    with urllib.request.urlopen(f"{server.url}/api/lines/app.log?after=&limit=1", timeout=10) as r:
        return json.loads(r.read())["lines"][0]["id"]
