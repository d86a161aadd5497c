"""The history endpoints on a scale-out web node, over a real ``redis-server``:
``/api/lines`` pages the entries Redis retains with the entries' own ids (the
ids the node's streams give), ``since``/``until`` resolve by the entries' ids,
range downloads and ``since=`` on a stream work as on a local server."""

from __future__ import annotations

import json
import time
import urllib.parse

import test_redis
from conftest import append, wait_for
from test_redis import entries

# The scale-out fixtures (a real redis-server, agents, web nodes) and skip mark, shared.
pytestmark, redis_server, scale = test_redis.pytestmark, test_redis.redis_server, test_redis.scale

HOST, FILE = "web-1", "app.log"


def shipped(scale, count: int = 30):
    agent = scale.agent(HOST)
    texts = [f"{'ERROR' if i % 3 == 0 else 'INFO'} {i}" for i in range(count)]
    append(agent.root / FILE, *texts)
    r = scale.redis.client()
    wait_for(lambda: len([f for _, f in entries(r, HOST, FILE) if "l" in f]) == count, message="lines shipped")
    node = scale.node()
    wait_for(lambda: node.json("/api/files")[1]["files"], message="file listed")
    lines = [(i, f["l"]) for i, f in entries(r, HOST, FILE) if "l" in f and "k" not in f]
    return node, lines


def get(node, **params):
    return node.json(f"/api/lines/{HOST}/{FILE}?" + urllib.parse.urlencode(params))


def test_pages_back_and_forward_over_the_retained_entries_with_their_ids(scale):
    node, lines = shipped(scale)
    status, body = get(node, limit=5)
    assert status == 200 and [(x["id"], x["text"]) for x in body["lines"]] == lines[-5:]
    assert body["more_before"] and not body["more_after"]
    s = node.stream(f"/api/stream/{HOST}/{FILE}?lines=5")
    s.wait_lines(5)
    assert [e.last_event_id for e in s.events if e.type == "message"] == [i for i, _ in lines[-5:]]
    got, params = [], {"limit": 7}
    while True:
        _, page = get(node, **params)
        got[:0] = [(x["id"], x["text"]) for x in page["lines"]]
        if not page["more_before"]:
            break
        params = {"limit": 7, "before": page["start"]}
    assert got == lines
    _, after = get(node, after=lines[3][0], limit=4)
    assert [x["text"] for x in after["lines"]] == [t for _, t in lines[4:8]]
    _, back = get(node, before=after["start"], limit=2)
    assert [x["text"] for x in back["lines"]] == [t for _, t in lines[2:4]]
    _, around = get(node, around=lines[10][0], limit=5)
    assert [x["text"] for x in around["lines"]] == [t for _, t in lines[8:13]]
    _, errors = get(node, filter="ERROR", limit=3)
    assert [x["text"] for x in errors["lines"]] == ["ERROR 21", "ERROR 24", "ERROR 27"]


def test_since_and_until_resolve_by_entry_ids_and_bad_ids_get_the_streams_reasons(scale):
    node, lines = shipped(scale, 10)
    append(scale.agents[0].root / FILE, "later 0", "later 1")
    r = scale.redis.client()
    wait_for(lambda: [f.get("l") for _, f in entries(r, HOST, FILE)][-1] == "later 1", message="later lines")
    later = [(i, f["l"]) for i, f in entries(r, HOST, FILE) if f.get("l", "").startswith("later")]
    ms = int(later[0][0].split("-")[0])
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"
    _, body = get(node, since=since, limit=50)
    everything = lines + later
    first = next(n for n, (i, _) in enumerate(everything) if int(i.split("-")[0]) >= ms)
    assert [x["text"] for x in body["lines"]] == [t for _, t in everything[first:]]
    _, bounded = get(node, until=since.replace(f".{ms % 1000:03d}Z", f".{(ms - 1) % 1000:03d}Z"), limit=50)
    assert all(int(x["id"].split("-")[0]) < ms for x in bounded["lines"])
    s = node.stream(f"/api/stream/{HOST}/{FILE}?since={urllib.parse.quote(since)}")
    assert s.wait_lines(len(everything) - first) == [t for _, t in everything[first:]]
    assert get(node, before="nope")[0] == 400
    status, missing = get(node, before="1-1")
    assert status == 404 and "trimmed" in missing["error"]
    status, headers, raw = node.get(f"/api/download/{HOST}/{FILE}?from={lines[2][0]}&to={lines[4][0]}&format=ndjson")
    assert status == 200 and headers["logstream-first-id"] == lines[2][0]
    assert [json.loads(x)["text"] for x in raw.decode().splitlines()] == [t for _, t in lines[2:5]]
    assert node.json(f"/api/lines/{HOST}/missing.log")[0] == 404
    assert node.json("/api/lines/..%2Fx")[0] == 403
