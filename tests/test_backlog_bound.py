"""Never silent: a backlog that stops looking back at its bound (64 MiB of a
file) says so with a `backlog` event, so an empty pane never reads as "no match"
when most of the file was not searched. Filtered and unfiltered alike."""

import json

from conftest import append
from logstream.lines import MAX_BACKLOG_SCAN

FILLER = ("x" * 1023 + "\n").encode()  # 1 KiB lines


def write_big(path, head: bytes, mib: int) -> None:
    with open(path, "wb") as f:
        f.write(head)
        block = FILLER * 1024  # 1 MiB
        for _ in range(mib):
            f.write(block)


def test_a_filtered_backlog_that_stopped_looking_says_how_far_it_looked(server, logdir):
    log = logdir / "big.log"
    write_big(log, b"row 17 imported\n", MAX_BACKLOG_SCAN // 2**20 + 2)
    s = server.stream("/api/stream/big.log?filter=row%2017%20imported")
    [event] = s.read_until(lambda c: c.of_type("backlog"), message="a backlog event")
    info = json.loads(event.data)
    assert info["path"] == "big.log" and info["complete"] is False
    assert info["found"] == 0 and info["requested"] == 100
    assert info["scanned_bytes"] >= MAX_BACKLOG_SCAN
    assert "64 MiB" in info["reason"] and "not searched" in info["reason"]
    assert not s.lines
    append(log, "row 17 imported again")
    assert s.wait_lines(1) == ["row 17 imported again"]


def test_a_backlog_of_giant_lines_that_stopped_looking_says_so_too(logserver, logdir):
    # Unfiltered sibling: fewer newlines than lines asked for within the bound.
    log = logdir / "giant.log"
    with open(log, "wb") as f:
        for _ in range(MAX_BACKLOG_SCAN // 2**20 + 4):
            f.write(b"g" * (2**20 - 1) + b"\n")
    srv = logserver(logdir, "--max-line", "100")
    s = srv.stream("/api/stream/giant.log?lines=200")
    s.read_until(lambda c: c.of_type("backlog") and len(c.lines) >= 63, message="backlog event and lines")
    info = json.loads(s.of_type("backlog")[0].data)
    assert info["found"] < 200 and info["requested"] == 200 and "of 200 lines" in info["reason"]


def test_a_complete_backlog_sends_no_backlog_event(server, logdir):
    log = logdir / "small.log"
    append(log, "a", "b", "needle")
    s = server.stream("/api/stream/small.log?filter=needle")
    assert s.wait_lines(1) == ["needle"]
    append(log, "needle 2")
    s.wait_lines(2)
    assert not s.of_type("backlog")
