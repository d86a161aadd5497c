"""The file list is an index kept from the watcher's events (issue 15): what is
created anywhere in the tree is listed without a walk per request, appends are
heard in directories made after the start, and the list filters server side."""

import json
import os
import urllib.parse

from hypothesis import given
from hypothesis import strategies as st

from conftest import append, wait_for
from logstream.file_index import listing, select


def listed(srv, query: str = "") -> dict:
    status, body = srv.json("/api/files" + query)
    assert status == 200, body
    return body


def test_a_file_created_deep_in_the_tree_is_listed_and_announced(logserver, logdir):
    append(logdir / "top.log", "x")
    srv = logserver(logdir, "--heartbeat", "1")
    events = srv.stream("/api/files/events")
    events.read_until(lambda c: c.of_type("snapshot"), message="snapshot")
    deep = logdir / "svc" / "host-1" / "a" / "b"
    deep.mkdir(parents=True)
    append(deep / "new.log", "created")
    events.read_until(lambda c: any(json.loads(e.data)["path"] == "svc/host-1/a/b/new.log"
                                    for e in c.of_type("created")), message="created event")
    wait_for(lambda: "svc/host-1/a/b/new.log" in [f["path"] for f in listed(srv)["files"]],
             message="listed by /api/files")
    os.rename(logdir / "svc", logdir / "moved")  # a directory moved: its files are listed under the new name
    wait_for(lambda: [f["path"] for f in listed(srv)["files"]] == ["moved/host-1/a/b/new.log", "top.log"],
             message="the moved tree listed under its new name")


def test_appends_in_a_directory_made_after_the_start_wake_the_tailer_without_polling(logserver, logdir):
    srv = logserver(logdir, "--heartbeat", "1", "--poll-interval", "3600")  # inotify alone wakes the tailer
    assert listed(srv)["files"] == []  # the first walk of the tree is over
    (logdir / "later" / "deeper").mkdir(parents=True)
    append(logdir / "later" / "deeper" / "app.log", "first")
    wait_for(lambda: listed(srv)["files"], message="the new file listed")
    s = srv.stream("/api/stream/later/deeper/app.log")
    assert s.wait_lines(1) == ["first"]
    # A daemon's log stays open: its writes make IN_MODIFY and nothing else (closing
    # the file would wake the tailer through watchdog's IN_CLOSE_WRITE instead).
    fd = os.open(logdir / "later" / "deeper" / "app.log", os.O_WRONLY | os.O_APPEND)
    try:
        for n in range(3):
            os.write(fd, f"appended {n}\n".encode())
            assert s.wait_lines(2 + n)[-1] == f"appended {n}"
    finally:
        os.close(fd)


def test_the_list_filters_by_prefix_and_substring_with_a_limit(logserver, logdir):
    for name in ("api/web-1.log", "api/web-2.log", "api/worker.log", "apiary/bees.log", "db/WEB.log", "top.log"):
        (logdir / name).parent.mkdir(exist_ok=True)
        append(logdir / name, "x")
    srv = logserver(logdir)
    every = listed(srv)
    assert [f["path"] for f in every["files"]] == ["api/web-1.log", "api/web-2.log", "api/worker.log",
                                                   "apiary/bees.log", "db/WEB.log", "top.log"]
    assert (every["total"], every["truncated"]) == (6, False)
    under = listed(srv, "?prefix=api/")
    assert [f["path"] for f in under["files"]] == ["api/web-1.log", "api/web-2.log", "api/worker.log"]
    found = listed(srv, "?q=web")  # any case
    assert [f["path"] for f in found["files"]] == ["api/web-1.log", "api/web-2.log", "db/WEB.log"]
    cut = listed(srv, "?" + urllib.parse.urlencode({"prefix": "api/", "q": "web", "limit": 1}))
    assert [f["path"] for f in cut["files"]] == ["api/web-1.log"]
    assert (cut["total"], cut["truncated"]) == (2, True)
    assert listed(srv, "?prefix=nothing/")["files"] == []


def test_bad_list_parameters_get_a_json_400(server):
    for query in ("?limit=0", "?limit=many", "?q=" + "x" * 300):
        status, headers, body = server.get("/api/files" + query)
        assert status == 400 and headers["content-type"] == "application/json", query
        assert json.loads(body)["error"]


names = st.lists(st.text("ab/.Xx", min_size=1, max_size=6), unique=True).map(sorted)


@given(names=names, prefix=st.text("ab/", max_size=3), q=st.text("abX/", max_size=2),
       limit=st.one_of(st.none(), st.integers(1, 5)))
def test_select_and_listing_agree_with_a_plain_filter(names, prefix, q, limit):
    expected = [n for n in names if n.startswith(prefix) and q.casefold() in n.casefold()]
    assert list(select(names, prefix, q)) == expected
    fragments = {n: json.dumps(n) for n in names}
    got = listing(names, fragments, prefix, q, limit)
    assert json.loads(got.files) == (expected[:limit] if limit else expected)
    assert (got.total, got.truncated) == (len(expected), limit is not None and len(expected) > limit)
