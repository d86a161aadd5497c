"""GET /api/search/<path>: the history (rotated siblings, compressed or not, then
the file) scanned for a pattern over real HTTP: hits with the ids the stream
gives the same lines, newest or oldest first, bounded by ids and a limit, with
context; progress and done; every bad input a JSON error; a client that hangs up
stops the scan."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from tests.conftest import append, metrics, wait_for


def search(server, query: str, path: str = "app.log"):
    """The events of one whole search: (hits, progress events, done)."""
    client = server.stream(f"/api/search/{path}?{query}")
    assert client.status == 200, client.raw
    assert client.headers["content-type"].startswith("text/event-stream")
    client.read_until(lambda c: c.of_type("done"), message="done")
    hits = [json.loads(e.data) for e in client.of_type("hit")]
    progress = [json.loads(e.data) for e in client.of_type("progress")]
    done = json.loads(client.of_type("done")[0].data)
    client.close()
    return hits, progress, done


def stream_ids(server, path: str, count: int) -> dict[str, str]:
    """text → id of the last ``count`` lines of ``path``, as the stream sends them."""
    client = server.stream(f"/api/stream/{path}?lines={count}")
    client.read_until(lambda c: b": caught up" in c.raw, message="backlog")
    ids = {e.data: e.last_event_id for e in client.events if e.type == "message"}
    client.close()
    return ids


@pytest.fixture
def history(logdir):
    """app.log.2.gz, app.log.1, app.log: four ERROR lines among others."""
    (logdir / "app.log.2.gz").write_bytes(gzip.compress(b"0 ERROR oldest\n1 info\n"))
    append(logdir / "app.log.1", "2 info", "3 ERROR middle", "4 debug")
    append(logdir / "app.log", "5 error lower", "6 ERROR newer", "7 info", "8 ERROR newest")
    return logdir


def test_hits_come_newest_first_across_the_chain_with_the_stream_ids(server, history):
    hits, progress, done = search(server, "q=ERROR")
    assert [h["text"] for h in hits] == ["8 ERROR newest", "6 ERROR newer", "3 ERROR middle", "0 ERROR oldest"]
    ids = {**stream_ids(server, "app.log", 10), **stream_ids(server, "app.log.1", 10)}
    for hit in hits[:3]:
        assert hit["id"] == ids[hit["text"]]
    ino = os.stat(history / "app.log.2.gz").st_ino
    assert hits[3]["id"] == f"{ino:x}-15"  # the offset in the decompressed content
    status, page = server.json("/api/lines/app.log?limit=100")
    assert status == 200
    assert {h["text"]: h["id"] for h in hits} == {line["text"]: line["id"] for line in page["lines"]
                                                  if "ERROR" in line["text"]}
    assert done["hits"] == 4 and done["complete"] is True
    total = sum(os.path.getsize(history / n) for n in ("app.log.2.gz", "app.log.1", "app.log"))
    assert progress[0]["total_bytes"] == total and progress[-1]["scanned_bytes"] == total == done["scanned_bytes"]
    assert {p["file"] for p in progress} <= {"app.log", "app.log.1", "app.log.2.gz"}


def test_order_oldest_case_insensitive_and_invert(server, history):
    hits, _, _ = search(server, "q=(%3Fi)error&order=oldest")
    assert [h["text"][0] for h in hits] == ["0", "3", "5", "6", "8"]
    hits, _, _ = search(server, "q=ERROR&invert=1&order=oldest")
    assert [h["text"][0] for h in hits] == ["1", "2", "4", "5", "7"]


def test_limit_stops_the_scan_and_says_so(server, history):
    hits, _, done = search(server, "q=ERROR&limit=2")
    assert [h["text"][0] for h in hits] == ["8", "6"]
    assert done == {**done, "hits": 2, "complete": False}


@pytest.mark.parametrize("order, limit", [("newest", 3000), ("oldest", 3000), ("newest", 100_000)])
def test_blocks_scanned_two_at_once_send_every_hit_once_in_order(server, logdir, order, limit):
    # 8 MiB: blocks of 64 KiB growing to 4 MiB, two scanned at once; long lines
    # (over the 16 KiB probe) make blocks find their first line's start further back.
    lines = [(b"ERROR %06d " % i if i % 7 == 0 else b"info %06d " % i) + b"x" * (20_000 if i % 997 == 0 else 80)
             for i in range(80_000)]
    (logdir / "app.log").write_bytes(b"\n".join(lines) + b"\n")
    want = [line.decode()[:12] for line in lines if line.startswith(b"ERROR")]
    want = want if order == "oldest" else want[::-1]
    hits, _, done = search(server, f"q=ERROR&order={order}&limit={limit}")
    assert [h["text"][:12] for h in hits] == want[:limit]
    assert done["hits"] == min(limit, len(want)) and done["complete"] == (limit > len(want))


def test_context_lines_each_side_within_the_file(server, history):
    hits, _, _ = search(server, "q=middle|newer&context=1")
    assert hits[0]["context_before"] == [{"id": stream_ids(server, "app.log", 10)["5 error lower"],
                                          "text": "5 error lower"}]
    assert [c["text"] for c in hits[0]["context_after"]] == ["7 info"]
    assert [c["text"] for c in hits[1]["context_before"]] == ["2 info"]
    assert [c["text"] for c in hits[1]["context_after"]] == ["4 debug"]


def test_before_and_after_bound_the_history(server, history):
    ids = stream_ids(server, "app.log", 10)
    hits, _, _ = search(server, f"q=ERROR&before={ids['6 ERROR newer']}")
    assert [h["text"][0] for h in hits] == ["3", "0"]
    hits, _, _ = search(server, f"q=ERROR&after={ids['6 ERROR newer']}")
    assert [h["text"][0] for h in hits] == ["8"]
    middle = stream_ids(server, "app.log.1", 10)["3 ERROR middle"]
    hits, _, _ = search(server, f"q=ERROR&after={middle}&before={ids['8 ERROR newest']}&order=oldest")
    assert [h["text"][0] for h in hits] == ["6"]


def test_where_clauses_apply(server, logdir):
    append(logdir / "app.log", '{"level":"error","msg":"disk full"}', '{"level":"info","msg":"disk ok"}',
           "plain disk line")
    hits, _, _ = search(server, "q=disk&where=level%3Derror")
    assert [h["text"] for h in hits] == ['{"level":"error","msg":"disk full"}']
    hits, _, _ = search(server, "where=level%3Dinfo")
    assert [h["text"] for h in hits] == ['{"level":"info","msg":"disk ok"}']


def test_a_bad_pattern_gets_the_stream_filter_s_400(server, history):
    status, body = server.json("/api/search/app.log?q=a(b")
    stream_status, stream_body = server.json("/api/stream/app.log?filter=a(b")
    assert status == stream_status == 400
    assert body["error"] == stream_body["error"].replace("filter:", "q:", 1)


@pytest.mark.parametrize("query, words", [
    ("", "q: give a pattern"),
    ("q=a&limit=0", "limit: must be between"),
    ("q=a&limit=x", "limit: expected a whole number"),
    ("q=a&context=21", "context: must be between"),
    ("q=a&context=-1", "context: must be between"),
    ("q=a&order=sideways", "order: expected newest or oldest"),
    ("q=a&before=nonsense", "malformed event id"),
    ("q=a&after=12-3,4-5", "names 2 file(s)"),
    ("q=a&where=level", "where:"),
    ("q=" + "a" * 1001, "longer than"),
])
def test_bad_parameters_get_a_json_400(server, history, query, words):
    status, body = server.json(f"/api/search/app.log?{query}")
    assert status == 400 and words in body["error"], body


def test_ids_that_name_no_line_of_the_history(server, history):
    ino = os.stat(history / "app.log").st_ino
    for bad, words in ((f"{ino:x}-3", "line boundary"), (f"{ino:x}-999999", "past the end")):
        status, body = server.json(f"/api/search/app.log?q=a&before={bad}")
        assert (status, body) == server.json(f"/api/lines/app.log?before={bad}")
        assert status == 404 and words in body["error"]
    append(history / "other.log", "x")
    other = os.stat(history / "other.log").st_ino
    status, body = server.json(f"/api/search/app.log?q=a&after={other:x}-2")
    assert status == 400 and "other.log" in body["error"]
    status, body = server.json("/api/search/app.log?q=a&after=fffffffff-0")
    assert status == 404 and "gone" in body["error"]


def test_paths_get_the_stream_s_errors(server, logdir):
    os.mkfifo(logdir / "pipe.log")
    for path in ("pipe.log", "missing.log", "../outside.log", "%2e%2e/etc/passwd"):
        got = server.get(f"/api/search/{path}?q=a", timeout=5)
        want = server.get(f"/api/stream/{path}", timeout=5)
        assert got[0] == want[0] and got[0] in (400, 403, 404)
        assert json.loads(got[2]) == json.loads(want[2])


def test_closing_the_connection_stops_the_scan(server, logdir):
    # A where= clause that holds for no line: every line is parsed, nothing is sent
    # but progress, so only the hang-up can end the scan early.
    line = b'{"level":"info","msg":"%s"}\n' % (b"x" * 60)
    with open(logdir / "app.log", "wb") as f:
        f.write(line * (64 * 1024 * 1024 // len(line)))
    assert_a_hang_up_stops_the_scan(server, "app.log", "logstream_search_scanned_bytes_total",
                                    os.path.getsize(logdir / "app.log"))


def assert_a_hang_up_stops_the_scan(server, path: str, counter: str, total: int) -> None:
    """Starts a search of ``path`` for ``level=error``, hangs up once it has read
    something, and checks through ``/metrics`` that it ended with less than
    ``total`` (what ``counter`` counts in the whole history) read, and stays ended."""
    client = server.stream(f"/api/search/{path}?where=level%3Derror")
    client.read_until(lambda c: any(json.loads(e.data)["scanned_bytes"] > 0 for e in c.of_type("progress")),
                      message="the scan to start")
    assert metrics(server)["logstream_searches"] == 1
    client.close()
    wait_for(lambda: metrics(server)["logstream_searches"] == 0, message="the search to end")
    scanned = metrics(server)[counter]
    assert 0 < scanned < total
    assert metrics(server)[counter] == scanned  # and it stays stopped


def test_since_and_until_bound_the_history_by_time(server, logdir):
    append(logdir / "app.log.1", "2026-11-30T04:00:00Z ERROR a", "2026-11-30T04:10:00Z ERROR b")
    append(logdir / "app.log", "2026-11-30T04:20:00Z ERROR c", "  continued ERROR c2",
           "2026-11-30T04:30:00Z ERROR d")
    hits, _, _ = search(server, "q=ERROR&since=2026-11-30T04:05:00Z&until=2026-11-30T04:25:00Z&order=oldest")
    assert [h["text"][-2:].strip() for h in hits] == ["b", "c", "c2"]
    hits, _, _ = search(server, "q=ERROR&since=2026-11-30T04:20:00Z")
    assert [h["text"][-2:].strip() for h in hits] == ["d", "c2", "c"]


@pytest.mark.parametrize("query, status, words", [
    ("q=a&since=yesterday-ish", 400, "since:"),
    ("q=a&until=2026-13-40", 400, "until:"),
    ("q=a&since=2h", 400, "no timestamp found"),
    # Nothing can be both: an empty search would read as "no such line".
    ("q=a&since=2026-11-30T05:00:00Z&until=2026-11-30T04:00:00Z", 400, "until: earlier than since"),
])
def test_bad_times_get_a_json_400(server, logdir, query, status, words):
    append(logdir / "app.log", "a line without a time")
    got, body = server.json(f"/api/search/app.log?{query}")
    assert got == status and words in body["error"], body
