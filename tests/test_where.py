"""Field filters and NDJSON over HTTP: where= on JSON and logfmt logs, combined
with filter=, on the backlog and live; bad clauses get a 400 that says where;
format=ndjson gives scripts the parse."""

import json
from urllib.parse import quote

from conftest import append

JSON_LINES = [
    json.dumps({"time": "2026-11-30T04:25:58Z", "level": "info", "msg": "request", "http": {"status": 200}}),
    json.dumps({"time": "2026-11-30T04:25:59Z", "level": "warn", "msg": "slow", "http": {"status": 200}, "ms": 1203}),
    json.dumps({"time": "2026-11-30T04:26:00Z", "level": "error", "msg": "boom", "http": {"status": 503}}),
    "plain text line, no fields: level=error alone is prose",
    json.dumps({"level": 50, "msg": "pino error", "http": {"status": 500}}),
]
LOGFMT_LINES = [
    'ts=2026-11-30T04:25:58Z level=info msg="user signed in" user=42',
    'ts=2026-11-30T04:25:59Z level=warn msg="disk 91% full" user=7',
    'ts=2026-11-30T04:26:00Z level=error msg="payment failed" user=42',
]


def where(*clauses):
    return "&".join("where=" + quote(c) for c in clauses)


def test_where_on_json_lines_backlog_and_live(server, logdir):
    log = logdir / "app.json"
    append(log, *JSON_LINES)
    s = server.stream(f"/api/stream/app.json?{where('level>=warn')}")
    assert s.wait_lines(3) == [JSON_LINES[1], JSON_LINES[2], JSON_LINES[4]]
    append(log, json.dumps({"level": "debug", "msg": "quiet"}), json.dumps({"level": "fatal", "msg": "down"}))
    assert json.loads(s.wait_lines(4)[-1])["msg"] == "down"


def test_clauses_all_hold_and_combine_with_filter(server, logdir):
    append(logdir / "app.json", *JSON_LINES)
    s = server.stream(f"/api/stream/app.json?{where('level>=warn', 'http.status>=500')}&filter=boom")
    assert s.wait_lines(1) == [JSON_LINES[2]]
    t = server.stream(f"/api/stream/app.json?{where('ms>1000')}")
    assert t.wait_lines(1) == [JSON_LINES[1]]


def test_where_on_logfmt_lines(server, logdir):
    append(logdir / "app.log", *LOGFMT_LINES)
    s = server.stream(f"/api/stream/app.log?{where('user=42', 'msg~(?i)PAYMENT')}")
    assert s.wait_lines(1) == [LOGFMT_LINES[2]]
    t = server.stream(f"/api/stream/app.log?{where('level!=info')}&format=text")
    t.read_until(lambda c: c.raw.count(b"\n") >= 2, message="two text lines")
    assert t.raw.decode().splitlines() == LOGFMT_LINES[1:]


def test_a_bad_clause_is_a_400_that_says_where(server, logdir):
    append(logdir / "app.json", *JSON_LINES)
    for clause, position in (("level>>warn", 7), ("http.status", 12), ("msg~(", 5)):
        status, body = server.json(f"/api/stream/app.json?{where(clause)}")
        assert status == 400 and f"at character {position}" in body["error"], body


def test_ndjson_gives_ids_text_and_fields_and_resumes(server, logdir):
    log = logdir / "app.json"
    append(log, *JSON_LINES)
    s = server.stream("/api/stream/app.json?format=ndjson&lines=2")
    assert s.headers["content-type"].startswith("application/x-ndjson")
    s.read_until(lambda c: c.raw.count(b"\n") >= 2, message="two records")
    records = [json.loads(line) for line in s.raw.decode().splitlines()]
    assert [r["text"] for r in records] == JSON_LINES[3:]
    assert "fields" not in records[0] and records[1]["fields"] == json.loads(JSON_LINES[4])
    assert all(r["id"] for r in records)
    again = server.stream("/api/stream/app.json?format=ndjson", headers={"Last-Event-ID": records[0]["id"]})
    again.read_until(lambda c: c.raw.count(b"\n") >= 1, message="the record after the id")
    assert json.loads(again.raw.decode().splitlines()[0])["text"] == JSON_LINES[4]


def test_ndjson_carries_control_events_as_objects(server, logdir):
    log = logdir / "app.json"
    append(log, json.dumps({"msg": "one"}))
    s = server.stream("/api/stream/app.json?format=ndjson")
    s.read_until(lambda c: b"\n" in c.raw, message="the first record")
    with open(log, "r+b") as f:
        f.truncate(0)
    s.read_until(lambda c: b'"event": "truncate"' in c.raw, message="a truncate record")
    record = json.loads(s.raw.decode().splitlines()[-1])
    assert record["event"] == "truncate" and record["path"] == "app.json" and "id" in record
