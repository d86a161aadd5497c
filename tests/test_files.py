"""The file list: every readable regular file under the root, kept live."""

import json
import os

from conftest import append


def test_files_lists_every_regular_file_recursively(server, logdir):
    (logdir / "nested" / "deeper").mkdir(parents=True)
    append(logdir / "app.log", "x")
    append(logdir / "nested" / "deeper" / "worker.log", "yy")
    os.mkfifo(logdir / "a.fifo")
    status, body = server.json("/api/files")
    assert status == 200
    assert [f["path"] for f in body["files"]] == ["app.log", "nested/deeper/worker.log"]
    assert body["files"][1]["size"] == 3 and body["files"][1]["mtime"] > 0


def test_file_events_stream_a_snapshot_then_changes(server, logdir):
    append(logdir / "old.log", "x")
    s = server.stream("/api/files/events")
    s.read_until(lambda c: c.of_type("snapshot"))
    assert [f["path"] for f in json.loads(s.of_type("snapshot")[0].data)["files"]] == ["old.log"]
    append(logdir / "new.log", "hello")
    # (a late "created" for old.log may come too: clients treat created as upsert)
    s.read_until(lambda c: any(json.loads(e.data)["path"] == "new.log" for e in c.of_type("created")),
                 message="created")
    os.rename(logdir / "new.log", logdir / "renamed.log")
    s.read_until(lambda c: c.of_type("moved"), message="moved")
    moved = json.loads(s.of_type("moved")[0].data)
    assert (moved["path"], moved["dest"]) == ("new.log", "renamed.log")
    os.unlink(logdir / "old.log")
    s.read_until(lambda c: c.of_type("deleted"), message="deleted")
    assert json.loads(s.of_type("deleted")[0].data) == {"path": "old.log"}
    append(logdir / "renamed.log", "more")
    s.read_until(lambda c: c.of_type("changed"), message="changed")
    assert json.loads(s.of_type("changed")[-1].data)["size"] == 11
