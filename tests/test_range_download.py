"""``/api/download/<path>`` with a range: exactly the lines of the history asked
for (by ids or by times, across rotations and a compressed sibling), filtered,
as text or NDJSON, with headers naming the first id served and the range asked;
without range parameters the whole file's bytes as before."""

import gzip
import http.client
import json
import os

import pytest

from conftest import append

STAMP = "2026-11-30T04:{:02d}:{:02d}Z"


@pytest.fixture
def rotated(logdir):
    old = [f"{STAMP.format(1, n)} old {n}" for n in range(5)]
    mid = [f"{STAMP.format(2, n)} mid {n}" for n in range(5)]
    new = [f"{STAMP.format(3, n)} new {n}" for n in range(5)]
    (logdir / "app.log.2.gz").write_bytes(gzip.compress("".join(t + "\n" for t in old).encode()))
    append(logdir / "app.log.1", *mid)
    append(logdir / "app.log", *new)
    return old + mid + new


def test_since_until_gives_exactly_that_range_across_rotations_with_checkable_headers(server, rotated):
    status, headers, body = server.get(f"/api/download/app.log?since={STAMP.format(1, 3)}&until={STAMP.format(2, 1)}")
    assert status == 200 and headers["content-type"] == "text/plain; charset=utf-8"
    assert body.decode().splitlines() == rotated[3:7]
    assert headers["logstream-range"] == f"since={STAMP.format(1, 3)[:-1]}.000Z; until={STAMP.format(2, 1)[:-1]}.000Z"
    gz_ino = os.stat(server.root / "app.log.2.gz").st_ino
    assert headers["logstream-first-id"] == f"{gz_ino:x}-{len(''.join(t + chr(10) for t in rotated[:4]).encode())}"
    assert "attachment" in headers["content-disposition"]


def test_from_to_ids_are_inclusive_and_ndjson_carries_each_lines_id(server, rotated):
    _, page = server.json("/api/lines/app.log?limit=15")
    ids = [line["id"] for line in page["lines"]]
    status, headers, body = server.get(f"/api/download/app.log?from={ids[4]}&to={ids[11]}&format=ndjson")
    assert status == 200 and headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in body.decode().splitlines()]
    assert [(r["id"], r["text"]) for r in records] == list(zip(ids[4:12], rotated[4:12], strict=True))
    assert headers["logstream-first-id"] == ids[4]
    assert headers["logstream-range"] == f"from={ids[4]}; to={ids[11]}"


def test_a_filter_alone_downloads_the_matching_lines_of_the_whole_history(server, rotated):
    status, headers, body = server.get("/api/download/app.log?filter=%20[13]$")
    assert body.decode().splitlines() == [t for t in rotated if t.endswith((" 1", " 3"))]
    assert headers["logstream-range"] == "all"
    _, _, inverted = server.get(f"/api/download/app.log?filter=%20[13]$&invert=1&until={STAMP.format(1, 4)}")
    assert inverted.decode().splitlines() == ["2026-11-30T04:01:00Z old 0", "2026-11-30T04:01:02Z old 2",
                                              "2026-11-30T04:01:04Z old 4"]
    _, _, where = server.get("/api/download/app.log?where=nope=1")
    assert where == b""


def test_without_range_parameters_the_download_is_the_files_bytes(server, rotated):
    status, headers, body = server.get("/api/download/app.log")
    assert status == 200 and body == (server.root / "app.log").read_bytes()
    assert "logstream-first-id" not in headers


@pytest.mark.parametrize(("query", "status", "reason"), [
    ("from=nope", 400, "malformed event id"),
    ("to=fffffffff-1", 404, "gone"),
    ("since=later", 400, "since: expected"),
    ("from=1-0&since=1h", 400, "not both"),
    ("format=xml&since=1h", 400, "format: expected text or ndjson"),
    ("filter=(", 400, "filter: invalid regular expression"),
    ("since=99999999999999999999d", 400, "since: '99999999999999999999d' reaches back before the year 1"),
    (f"since={STAMP.format(2, 0)}&until={STAMP.format(1, 0)}", 400, "until: earlier than since"),
])
def test_bad_range_parameters_are_json_errors(server, rotated, query, status, reason):
    got, body = server.json(f"/api/download/app.log?{query}")
    assert got == status and reason in body["error"], body


def test_to_before_from_is_a_400_not_an_empty_download(server, rotated):
    _, page = server.json("/api/lines/app.log?limit=15")
    ids = [line["id"] for line in page["lines"]]
    for first, last in ((ids[9], ids[3]), (ids[9], ids[8])):
        status, body = server.json(f"/api/download/app.log?from={first}&to={last}")
        assert status == 400 and "to: names a line before from's" in body["error"], body
    status, _, data = server.get(f"/api/download/app.log?from={ids[9]}&to={ids[9]}")
    assert (status, data.decode().splitlines()) == (200, rotated[9:10])


def test_the_range_header_carries_the_ids_as_the_server_writes_them_not_the_clients_bytes(server, rotated):
    _, page = server.json("/api/lines/app.log?limit=15")
    ids = [line["id"] for line in page["lines"]]
    status, headers, data = server.get(f"/api/download/app.log?from=%0A{ids[12]}%20&to=%20{ids[13]}%0D%0A")
    assert status == 200, data
    assert headers["logstream-range"] == f"from={ids[12]}; to={ids[13]}"
    assert data.decode().splitlines() == rotated[12:14]


def test_an_archive_found_corrupt_mid_download_ends_the_transfer_unfinished_never_with_a_silent_gap(server, logdir):
    old = "".join(f"{STAMP.format(1, n % 60)} old {n}\n" for n in range(20_000)).encode()
    archive = gzip.compress(old)
    (logdir / "app.log.2.gz").write_bytes(archive[:len(archive) // 2])  # its first lines read, then it breaks off
    append(logdir / "app.log.1", f"{STAMP.format(2, 0)} mid")
    append(logdir / "app.log", f"{STAMP.format(3, 0)} new")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/api/download/app.log?format=ndjson")
        response = conn.getresponse()
        assert response.status == 200 and "logstream-skipped" not in {k.lower() for k in response.headers}
        with pytest.raises(http.client.IncompleteRead) as broken:
            response.read()
    finally:
        conn.close()
    got = [json.loads(line)["text"] for line in broken.value.partial.decode().splitlines()]
    assert got and got == [f"{STAMP.format(1, n % 60)} old {n}" for n in range(len(got))]


def test_a_file_of_the_range_that_cannot_be_read_is_named_in_a_header(server, rotated):
    (server.root / "app.log.3.zst").write_bytes(b"(\xb5/\xfd not really zstd")
    os.utime(server.root / "app.log.3.zst", (0, 0))
    status, headers, body = server.get("/api/download/app.log?filter=old")
    assert status == 200 and headers["logstream-skipped"] == "app.log.3.zst"
    assert body.decode().splitlines() == rotated[:5]
    _, page = server.json("/api/lines/app.log?limit=1")
    status, headers, _ = server.get(f"/api/download/app.log?from={page['lines'][0]['id']}")
    assert status == 200 and "logstream-skipped" not in headers  # not in the range asked for


def peak_rss_mib(server) -> float:
    """The server process's peak resident memory (VmHWM), in MiB."""
    with open(f"/proc/{server.proc.pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


@pytest.mark.parametrize("first_matches", [True, False])
def test_a_range_download_holds_a_chunk_at_a_time_not_the_range(server, logdir, first_matches):
    filler = b"x" * 70
    with open(logdir / "big.log", "wb") as f:
        f.write(f"{STAMP.format(0, 0)} {'needle' if first_matches else 'hay'} first\n".encode())
        for n in range(0, 1_200_000, 10_000):  # 120 MB in 1.2 million lines
            f.write(b"".join(b"%s line %07d %s\n" % (STAMP.format(1, 0).encode(), n + i, filler)
                             for i in range(10_000)))
        f.write(f"{STAMP.format(2, 0)} needle last\n".encode())
    status, _, body = server.get("/api/download/big.log?filter=needle", timeout=60)
    assert status == 200 and body.decode().splitlines()[-1] == f"{STAMP.format(2, 0)} needle last"
    assert peak_rss_mib(server) < 150  # every line of the range, as Python strings, before
