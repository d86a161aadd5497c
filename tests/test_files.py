"""The file list: every readable regular file under the root, kept live, each
under one name that JSON, URLs and SSE carry, whatever the bytes of its name."""

import json
import os
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import append, wait_for
from logstream import paths


def test_files_lists_every_regular_file_recursively(server, logdir):
    (logdir / "nested" / "deeper").mkdir(parents=True)
    append(logdir / "app.log", "x")
    append(logdir / "nested" / "deeper" / "worker.log", "yy")
    os.mkfifo(logdir / "a.fifo")
    # The list is an index kept from the watcher's events: what was just created
    # is listed as soon as its event has been read, its size within a second.
    body = wait_for(lambda: (lambda b: [f["size"] for f in b["files"]] == [2, 3] and b)(server.json("/api/files")[1]),
                    message="both files listed with their sizes")
    assert [f["path"] for f in body["files"]] == ["app.log", "nested/deeper/worker.log"]
    assert body["files"][1]["size"] == 3 and body["files"][1]["mtime"] > 0
    assert body["total"] == 2 and body["truncated"] is False


def test_file_events_stream_a_snapshot_then_changes(server, logdir):
    append(logdir / "old.log", "x")
    wait_for(lambda: server.json("/api/files")[1]["files"], message="old.log listed")  # the index has its event
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


# -- names: every file has one stable name that JSON, URLs and SSE carry ----------------------

def make(root, name: bytes, content: bytes = b"hello\n") -> None:
    """A file whose name is any bytes (``os`` takes bytes paths as they are)."""
    path = os.path.join(os.fsencode(root), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "ab") as f:
        f.write(content)


names = st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\0" not in b)


@given(name=names)
def test_public_names_round_trip_and_fit_json_urls_and_sse(name):
    fs = os.fsdecode(name)
    public = paths.public_name(fs)
    assert paths.fs_name(public) == fs  # reversible, so one name per file
    public.encode("utf-8")  # no lone surrogate: JSON in UTF-8 and URLs carry it
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in public)  # no line break for SSE or a label
    assert paths.public_name(paths.fs_name(public)) == public  # stable


@pytest.mark.parametrize("name, public", [
    (b"caf\xe9.log", "caf%E9.log"),  # Latin-1 bytes: not UTF-8
    ("café.log".encode(), "café.log"),  # UTF-8 stays itself
    (b"a\nb.log", "a%0Ab.log"),
    (b"tab\there\x1b[31m.log", "tab%09here%1B[31m.log"),
    (b"100%.log", "100%.log"),
    (b"caf%E9.log", "caf%25E9.log"),  # a literal %XX is not taken for an escape
])
def test_names_are_listed_in_their_public_form(name, public):
    assert paths.public_name(os.fsdecode(name)) == public


def quoted(public: str) -> str:
    """How the viewer puts a public name in a URL (encodeURIComponent per segment)."""
    return "/".join(urllib.parse.quote(part, safe="") for part in public.split("/"))


def test_a_name_that_is_not_utf8_cannot_break_the_file_list_and_streams_under_its_listed_name(server, logdir):
    append(logdir / "app.log", "x")
    make(logdir, b"caf\xe9.log", b"from caf\xe9\n")
    make(logdir, b"caf%E9.log", b"literal percent\n")  # a real name that looks like the escape
    make(logdir, b"d\xff/app.log", b"in a bad directory\n")
    make(logdir, b"new\nline.log", b"newline\n")
    body = wait_for(lambda: (lambda b: len(b["files"]) == 5 and b)(server.json("/api/files")[1]),
                    message="every file listed")
    listed = [f["path"] for f in body["files"]]
    assert listed == sorted(["app.log", "caf%E9.log", "caf%25E9.log", "d%FF/app.log", "new%0Aline.log"])
    events = server.stream("/api/files/events")
    events.read_until(lambda c: c.of_type("snapshot"), message="snapshot")  # it used to die after retry:
    assert sorted(f["path"] for f in json.loads(events.of_type("snapshot")[0].data)["files"]) == listed
    for public, line in [("caf%E9.log", "from caf\ufffd"), ("caf%25E9.log", "literal percent"),
                         ("d%FF/app.log", "in a bad directory"), ("new%0Aline.log", "newline")]:
        s = server.stream(f"/api/stream/{quoted(public)}")
        assert s.wait_lines(1) == [line], public
        status, headers, body = server.get(f"/api/download/{quoted(public)}")
        assert status == 200 and body.decode(errors="replace").rstrip("\n") == line, public
    query = urllib.parse.urlencode([("path", "caf%E9.log"), ("path", "new%0Aline.log")])
    merged = server.stream(f"/api/stream?{query}")  # labels are public names: no line break
    assert sorted(merged.wait_lines(2)) == ["caf%E9.log\nfrom caf\ufffd", "new%0Aline.log\nnewline"]


def test_file_events_carry_public_names_for_every_kind(logserver, logdir):
    srv = logserver(logdir, "--heartbeat", "1", "--poll-interval", "3600")  # inotify alone wakes the tailer
    s = srv.stream("/api/files/events")
    s.read_until(lambda c: c.of_type("snapshot"), message="snapshot")

    def got(kind, **data):
        s.read_until(lambda c: any(all(json.loads(e.data).get(k) == v for k, v in data.items())
                                   for e in c.of_type(kind)), message=f"{kind} {data}")

    make(logdir, b"d\xff/caf\xe9.log")
    got("created", path="d%FF/caf%E9.log")
    follow = srv.stream(f"/api/stream/{quoted('d%FF/caf%E9.log')}")
    follow.wait_lines(1)
    make(logdir, b"d\xff/caf\xe9.log", b"appended\n")
    assert follow.wait_lines(2)[-1] == "appended"  # the watcher woke its tailer
    got("changed", path="d%FF/caf%E9.log")
    os.rename(os.fsencode(logdir) + b"/d\xff/caf\xe9.log", os.fsencode(logdir) + b"/d\xff/\x01.log")
    got("moved", path="d%FF/caf%E9.log", dest="d%FF/%01.log")
    os.unlink(os.fsencode(logdir) + b"/d\xff/\x01.log")
    got("deleted", path="d%FF/%01.log")


def test_resume_after_restart_finds_the_rotated_file_in_a_directory_with_a_bad_name(logserver, logdir):
    bad = os.fsencode(logdir) + b"/d\xff"
    make(logdir, b"d\xff/app.log", b"a\n")
    srv = logserver(logdir)
    s = srv.stream(f"/api/stream/{quoted('d%FF/app.log')}")
    s.wait_lines(1)
    last = s.events[-1].last_event_id
    srv.stop()
    make(logdir, b"d\xff/app.log", b"b\n")
    os.rename(bad + b"/app.log", bad + b"/app.log.1")  # rotated while the server was down
    make(logdir, b"d\xff/app.log", b"c\n")
    srv.start()
    again = srv.stream(f"/api/stream/{quoted('d%FF/app.log')}", headers={"Last-Event-ID": last})
    assert again.wait_lines(2) == ["b", "c"]
    assert not again.of_type("reset")


def test_a_served_directory_with_a_bad_name_is_named_the_same_way(logserver, tmp_path):
    root = os.fsdecode(os.fsencode(tmp_path) + b"/logs\xe9")
    os.mkdir(root)
    make(root, b"app.log")
    srv = logserver(root)
    assert srv.json("/api/files")[1]["root"] == "logs%E9"
    assert srv.json("/healthz")[1]["root"] == "logs%E9"
