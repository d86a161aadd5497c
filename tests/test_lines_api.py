"""``GET /api/lines/<path>`` over real HTTP: pages of a path's whole history
(rotated by rename, compressed) before, after and around an id, from a time,
bounded by a time, filtered as the stream filters; ids equal the live
stream's; every bad input is a JSON error with the stream's reasons."""

import gzip
import json
import os
import time
import urllib.parse

import pytest

from conftest import Server, append

STAMP = "2026-11-30T04:{:02d}:{:02d}Z"


def stamped(minute: int, n: int, word: str = "info") -> str:
    return f"{STAMP.format(minute, n)} {word} line {minute}.{n}"


@pytest.fixture(scope="module")
def history_server(tmp_path_factory):
    """app.log.2.gz (minute 1), app.log.1 (minute 2), app.log (minute 3), each
    10 lines, every third one an ``error``; plus plain.log without timestamps,
    other.log, a FIFO and a file outside the root."""
    base = tmp_path_factory.mktemp("history")
    root = base / "logs"
    root.mkdir()
    log = root / "app.log"
    texts = {m: [stamped(m, n, "error" if n % 3 == 0 else "info") for n in range(10)] for m in (1, 2, 3)}
    (root / "app.log.2.gz").write_bytes(gzip.compress("".join(t + "\n" for t in texts[1]).encode()))
    append(root / "app.log.1", *texts[2])
    append(log, *texts[3])
    append(root / "plain.log", "no", "time", "here")
    append(root / "app.json", *(json.dumps({"time": STAMP.format(5, n), "level": ["info", "error"][n % 2], "n": n})
                                for n in range(10)))
    append(root / "other.log", "x")
    os.mkfifo(root / "pipe.log")
    (base / "secret.log").write_text("secret\n")
    server = Server(root, ("--max-backlog", "500"))
    server.texts = [t for m in (1, 2, 3) for t in texts[m]]
    server.root_dir = root
    yield server
    server.stop()


def get(server, path: str, **params):
    query = urllib.parse.urlencode(params, doseq=True)
    status, body = server.json(f"/api/lines/{path}" + (f"?{query}" if query else ""))
    return status, body


def texts(body) -> list[str]:
    return [line["text"] for line in body["lines"]]


def test_the_last_page_is_the_end_of_the_file_and_ids_are_the_live_streams(history_server):
    status, body = get(history_server, "app.log", limit=4)
    assert status == 200
    assert texts(body) == history_server.texts[-4:]
    assert body["path"] == "app.log" and body["more_before"] and not body["more_after"]
    stream = history_server.stream("/api/stream/app.log?lines=4")
    events = stream.wait_lines(4) and [e for e in stream.events if e.type == "message"]
    assert [line["id"] for line in body["lines"]] == [e.last_event_id for e in events]
    stream.close()


def test_paging_back_crosses_every_rotation_and_the_compressed_sibling_down_to_the_first_line(history_server):
    got, params = [], {"limit": 7}
    while True:
        status, body = get(history_server, "app.log", **params)
        assert status == 200
        got[:0] = texts(body)
        if not body["more_before"]:
            break
        params = {"limit": 7, "before": body["start"]}
    assert got == history_server.texts


def test_paging_forward_from_the_first_line_reaches_the_end(history_server):
    status, first = get(history_server, "app.log", limit=1, since="2000-01-01T00:00:00Z")
    assert texts(first) == history_server.texts[:1] and not first["more_before"]
    got, params = texts(first), {"limit": 8, "after": first["end"]}
    while True:
        status, body = get(history_server, "app.log", **params)
        got.extend(texts(body))
        if not body["more_after"]:
            break
        params = {"limit": 8, "after": body["end"]}
    assert got == history_server.texts


def test_around_an_id_gives_the_line_and_its_neighbours(history_server):
    _, body = get(history_server, "app.log", limit=30)
    target = body["lines"][14]  # 2026-11-30T04:02:04Z, in app.log.1
    status, around = get(history_server, "app.log", around=target["id"], limit=5)
    assert status == 200
    i = history_server.texts.index(target["text"])
    assert texts(around) == history_server.texts[i - 2:i + 3]


def test_since_and_until_select_by_time_across_files(history_server):
    status, body = get(history_server, "app.log", since=STAMP.format(1, 8), until=STAMP.format(2, 1), limit=50)
    assert status == 200
    assert texts(body) == [stamped(1, 8, "info"), stamped(1, 9, "error"), stamped(2, 0, "error"),
                           stamped(2, 1, "info")]
    assert body["more_before"] and not body["more_after"]  # nothing more up to until
    _, back = get(history_server, "app.log", before=body["start"], limit=2)  # paging back from a since page
    assert texts(back) == [stamped(1, 6, "error"), stamped(1, 7, "info")]
    _, last = get(history_server, "app.log", until=STAMP.format(2, 1), limit=2)
    assert texts(last) == [stamped(2, 0, "error"), stamped(2, 1, "info")]


def test_filter_invert_and_where_give_n_matching_lines_however_far_apart(history_server):
    errors = [t for t in history_server.texts if " error " in t]
    _, body = get(history_server, "app.log", filter="error", limit=6)
    assert texts(body) == errors[-6:]
    _, inverted = get(history_server, "app.log", filter="error", invert="1", limit=3)
    assert texts(inverted) == [t for t in history_server.texts if " error " not in t][-3:]
    _, after = get(history_server, "app.log", filter="error", after=body["lines"][0]["id"], limit=2)
    assert texts(after) == errors[-5:-3]
    _, where = get(history_server, "app.json", where="level>=error", since=STAMP.format(5, 4), limit=2)
    assert [json.loads(t)["n"] for t in texts(where)] == [5, 7]


@pytest.mark.parametrize(("params", "status", "reason"), [
    ({"before": "nope"}, 400, "malformed event id"),
    ({"after": "12-x"}, 400, "malformed event id"),
    ({"around": "1,2"}, 400, "event id names 2 file(s)"),
    ({"before": "OTHER-2"}, 400, "it names other.log"),
    ({"before": "fffffffff-2"}, 404, "the file this id names is gone"),
    ({"before": "APP-9999"}, 404, "past the end of the file"),
    ({"before": "APP-3"}, 404, "line boundary"),
    ({"around": "APP-0"}, 404, "names no line"),
    ({"since": "yesterday"}, 400, "since: expected an RFC 3339 time"),
    ({"until": "2026-13-40T00:00:00Z"}, 400, "until: expected"),
    ({"since": "1h", "before": "APP-0"}, 400, "at most one of"),
    ({"until": "1h", "around": "APP-0"}, 400, "until: not with around"),
    ({"since": STAMP.format(3, 0), "until": STAMP.format(2, 0)}, 400, "until: earlier than since"),
    ({"since": "1h", "until": "2h"}, 400, "until: earlier than since"),
    ({"since": "9" * 400 + "s"}, 400, "since: '999"),
    ({"until": "99999999999999999999d"}, 400, "reaches back before the year 1"),
    ({"limit": "0"}, 400, "limit: must be between 1 and 500"),
    ({"limit": "501"}, 400, "limit: must be between 1 and 500"),
    ({"limit": "ten"}, 400, "limit: expected a whole number"),
    ({"filter": "("}, 400, "filter: invalid regular expression"),
    ({"where": "level>>"}, 400, "where"),
])
def test_bad_parameters_get_the_streams_reasons(history_server, params, status, reason):
    ino = {"APP": os.stat(history_server.root_dir / "app.log").st_ino,
           "OTHER": os.stat(history_server.root_dir / "other.log").st_ino}
    params = {k: v.replace("APP", f"{ino['APP']:x}").replace("OTHER", f"{ino['OTHER']:x}") for k, v in params.items()}
    got, body = get(history_server, "app.log", **params)
    assert (got, reason in body["error"]) == (status, True), body


@pytest.mark.parametrize(("path", "params", "status", "reason"), [
    ("plain.log", {"since": "1h"}, 400, "no timestamp found in plain.log"),
    ("plain.log", {"until": "1h"}, 400, "no timestamp found"),
    ("pipe.log", {}, 403, "not a regular file"),
    ("..%2Fsecret.log", {}, 403, "outside"),
    ("missing.log", {}, 404, "no such file"),
    ("app.log.2.gz", {}, 415, "compressed"),
])
def test_bad_paths_and_untimed_files_are_refused_as_the_stream_refuses_them(history_server, path, params, status,
                                                                           reason):
    got, body = get(history_server, path, **params)
    assert (got, reason in body["error"]) == (status, True), body


def test_a_page_without_filter_match_still_says_where_to_page_on(history_server):
    status, body = get(history_server, "app.log", filter="never-there", limit=5)
    assert status == 200 and body["lines"] == [] and not body["more_before"]
    assert json.dumps(body)  # plain JSON, no surprises


def test_group_1_never_starts_a_page_inside_a_stack_trace(tmp_path_factory):
    root = tmp_path_factory.mktemp("group") / "logs"
    root.mkdir()
    trace = [f"{STAMP.format(1, 0)} ERROR boom", "java.lang.IllegalStateException: boom",
             "    at a.b(C.java:1)", "    at d.e(F.java:2)"]
    append(root / "app.log", f"{STAMP.format(0, 59)} INFO before", *trace, f"{STAMP.format(1, 1)} INFO after")
    server = Server(root, ())
    try:
        _, plain = get(server, "app.log", limit=3)
        assert texts(plain) == trace[-2:] + [f"{STAMP.format(1, 1)} INFO after"]
        _, grouped = get(server, "app.log", limit=3, group="1")
        assert texts(grouped) == [*trace, f"{STAMP.format(1, 1)} INFO after"]
        assert grouped["more_before"]
        _, before = get(server, "app.log", limit=5, before=grouped["start"])
        assert texts(before) == [f"{STAMP.format(0, 59)} INFO before"]
    finally:
        server.stop()


def test_a_line_stamped_with_an_impossible_zone_is_a_line_without_a_time(server, logdir):
    append(logdir / "app.log", "2026-11-30T04:00:00+99:00 no clock has this zone", stamped(0, 1))
    append(logdir / "app.json", json.dumps({"time": "2026-11-30T04:00:00+99:00", "msg": "no clock"}))
    status, body = get(server, "app.log", since=STAMP.format(0, 0))
    assert (status, texts(body)) == (200, [stamped(0, 1)]), body
    status, body = get(server, "app.json", since=STAMP.format(0, 0))
    assert status == 400 and "no timestamp found" in body["error"]
    stream = server.stream("/api/stream/app.json?format=ndjson&lines=1")  # fields are parsed for NDJSON
    assert stream.status == 200
    stream.read_until(lambda c: b"no clock" in c.raw, message="the line")
    record = json.loads(bytes(stream.raw).split(b"\n")[0])
    assert record["fields"]["msg"] == "no clock"


def test_since_past_a_truncated_archive_answers_from_the_next_file_and_names_it(server, logdir):
    old = "".join(f"{STAMP.format(1, n % 60)} old {n}\n" for n in range(6000)).encode()
    archive = gzip.compress(old)
    (logdir / "app.log.2.gz").write_bytes(archive[:len(archive) // 2])  # every stamp it still has is early
    append(logdir / "app.log.1", *(stamped(2, n) for n in range(3)))
    append(logdir / "app.log", stamped(3, 0))
    status, body = get(server, "app.log", since=STAMP.format(2, 0), limit=2)
    assert (status, texts(body)) == (200, [stamped(2, 0), stamped(2, 1)]), body
    assert body["skipped"] == ["app.log.2.gz"]
    status, headers, data = server.get(f"/api/download/app.log?since={STAMP.format(2, 1)}")
    assert (status, data.decode().splitlines()) == (200, [stamped(2, 1), stamped(2, 2), stamped(3, 0)])


def peak_rss_mib(server) -> float:
    """The server process's peak resident memory (VmHWM), in MiB."""
    with open(f"/proc/{server.proc.pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def test_paging_back_into_an_archive_larger_than_the_cache_holds_a_window_not_the_archive(server, logdir):
    block = "".join(f"{STAMP.format(1, n % 60)} old {n:07d}\n" for n in range(30_000)).encode()  # 1 MiB
    member = gzip.compress(block, mtime=0)
    with open(logdir / "app.log.1.gz", "wb") as f:
        for _ in range(400):  # 400 MiB of text, well past the 256 MiB the archive cache holds
            f.write(member)
    append(logdir / "app.log", stamped(3, 0))
    status, body = get(server, "app.log", limit=3)
    assert (status, texts(body)[-1]) == (200, stamped(3, 0)), body
    assert texts(body)[:2] == [f"{STAMP.format(1, n % 60)} old {n:07d}" for n in (29_998, 29_999)]
    status, back = get(server, "app.log", before=body["start"], limit=2)
    assert status == 200 and texts(back) == [f"{STAMP.format(1, n % 60)} old {n:07d}" for n in (29_996, 29_997)]
    assert peak_rss_mib(server) < 600  # it held the whole 400 MiB, twice while joining it, before


def test_since_looks_for_a_files_first_stamp_in_its_first_mib_only_and_never_reads_a_long_line_through(
        server, logdir):
    with open(logdir / "app.log.1", "wb") as f:  # its one stamp comes after 2 MiB without one
        f.write(b"x" * (2 << 20) + b"\n" + stamped(1, 0).encode() + b"\n")
    append(logdir / "app.log", "no stamp here either")
    status, body = get(server, "app.log", since=STAMP.format(0, 0))
    assert status == 400 and "no timestamp found" in body["error"], body
    with open(logdir / "long.log.1", "wb") as f:  # a stamped line 3 MiB long: its head says when
        f.write(stamped(1, 0).encode() + b" " + b"y" * (3 << 20) + b"\n" + stamped(1, 1).encode() + b"\n")
    append(logdir / "long.log", stamped(2, 0))
    status, body = get(server, "long.log", since=STAMP.format(1, 0), limit=3)
    assert status == 200 and texts(body)[1:] == [stamped(1, 1), stamped(2, 0)], body
    assert texts(body)[0].startswith(stamped(1, 0) + " yyy") and texts(body)[0].endswith("bytes]")
    assert not body["more_before"]


def test_a_syslog_file_written_across_new_year_reads_december_as_the_year_before(server, logdir):
    log = logdir / "syslog"
    append(log, "Dec 31 23:59:58 host app: the old year", "Jan  1 00:00:02 host app: the new year")
    written = time.mktime((2027, 1, 1, 0, 0, 5, 0, 0, -1))  # the file's last write, in the server's zone
    os.utime(log, (written, written))
    status, body = get(server, "syslog", since="2027-01-01T00:00:00")  # no zone: the server's, as syslog's
    assert (status, texts(body)) == (200, ["Jan  1 00:00:02 host app: the new year"]), body
    status, body = get(server, "syslog", since="2026-12-31T23:59:57")
    assert texts(body) == ["Dec 31 23:59:58 host app: the old year", "Jan  1 00:00:02 host app: the new year"]
