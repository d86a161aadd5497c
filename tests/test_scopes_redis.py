"""Scopes on a scale-out web node (--redis): patterns name ``HOST/path``; a file
of another host or directory is missing from the file list and its live events,
and streaming it (alone or merged with an allowed one) is a 404 exactly as for a
missing file. The agents and Redis are real (tests/test_redis.py's fixtures)."""

import json

from conftest import append, wait_for
from jwt_keys import Keys, bearer
from test_redis import redis_server, scale  # noqa: F401 (fixtures)
from test_scopes import answer


def test_a_scoped_token_sees_and_streams_only_its_hosts_paths(scale, tmp_path):  # noqa: F811
    keys = Keys(tmp_path)
    web, db = scale.agent("web-1"), scale.agent("db-1")
    append(web.root / "nginx.log", "GET /")
    append(db.root / "secret.log", "SECRET")
    node = scale.node("--jwt-secret-file", str(keys.secret_file))
    everything = bearer(keys.token())
    wait_for(lambda: len(node.json("/api/files", headers=everything)[1]["files"]) == 2, message="both listed")
    scoped = bearer(keys.token(logstream_paths=["web-*/*.log"]))
    assert [f["path"] for f in node.json("/api/files", headers=scoped)[1]["files"]] == ["web-1/nginx.log"]
    assert node.stream("/api/stream/web-1/nginx.log", headers=scoped).wait_lines(1) == ["GET /"]
    for url in ("/api/stream/{}", "/api/stream?path=web-1/nginx.log&path={}"):
        forbidden = answer(node, url.format("db-1/secret.log"), scoped)
        missing = answer(node, url.format("db-1/missing.log"), scoped)
        assert forbidden[0] == missing[0] == 404
        assert forbidden[1] == missing[1].replace(b"db-1/missing.log", b"db-1/secret.log")
    events = node.stream("/api/files/events", headers=scoped)
    events.read_until(lambda c: c.of_type("snapshot"), message="snapshot")
    watcher = node.stream("/api/files/events", headers=everything)
    watcher.read_until(lambda c: c.of_type("snapshot"), message="snapshot")
    append(db.root / "later.log", "x")  # offered to both listeners before web-1's below
    watcher.read_until(lambda c: any(json.loads(e.data)["path"] == "db-1/later.log" for e in c.of_type("created")),
                       message="db-1/later.log created")
    append(web.root / "later.log", "y")
    events.read_until(lambda c: any(json.loads(e.data)["path"] == "web-1/later.log" for e in c.of_type("created")),
                      message="web-1/later.log created")
    assert "db-1" not in events.raw.decode()
