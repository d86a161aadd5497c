"""Limits answer with JSON and Retry-After, never a hang."""

import json

from conftest import append, metrics, wait_for


def test_max_connections_gives_503_with_retry_after(logserver, logdir):
    append(logdir / "a.log", "x")
    srv = logserver(logdir, "--max-connections", "3", "--heartbeat", "1")
    open_streams = [srv.stream("/api/stream/a.log") for _ in range(2)] + [srv.stream("/api/files/events")]
    for s in open_streams:
        s.read_some()
    status, headers, body = srv.get("/api/stream/a.log")
    assert status == 503 and headers["retry-after"] and json.loads(body)["error"]
    open_streams[0].close()
    wait_for(lambda: srv.json("/healthz")[1]["subscribers"] == 1, timeout=5)
    assert srv.stream("/api/stream/a.log").wait_lines(1) == ["x"]


def test_max_per_ip_gives_429(logserver, logdir):
    append(logdir / "a.log", "x")
    srv = logserver(logdir, "--max-per-ip", "2")
    streams = [srv.stream("/api/stream/a.log") for _ in range(2)]
    for s in streams:
        s.wait_lines(1)
    status, headers, body = srv.get("/api/stream/a.log")
    assert status == 429 and headers["retry-after"] == "5"


def test_max_backlog_caps_lines(logserver, logdir):
    append(logdir / "a.log", "x")
    srv = logserver(logdir, "--max-backlog", "50")
    status, body = srv.json("/api/stream/a.log?lines=51")
    assert status == 400 and "50" in body["error"]


def test_oversized_request_line_and_headers_get_json_errors(server):
    status, headers, body = server.get("/api/files?" + "a" * 9000)
    assert status == 414 and json.loads(body)["error"]
    status, headers, body = server.get("/api/files", headers={f"X-H{i}": "v" for i in range(150)})
    assert status == 400 and json.loads(body)["error"]


def test_refused_streams_do_not_free_admission_slots(logserver, logdir):
    append(logdir / "a.log", "x")
    srv = logserver(logdir, "--max-connections", "1")
    for _ in range(3):  # each fails after admission: a merged stream naming a missing file
        assert srv.get("/api/stream?path=a.log&path=missing.log")[0] == 404
    s = srv.stream("/api/stream/a.log")
    assert s.wait_lines(1) == ["x"]
    assert srv.get("/api/stream/a.log")[0] == 503
    assert metrics(srv)["logstream_open_streams"] == 1
